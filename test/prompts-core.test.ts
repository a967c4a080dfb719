/**
 * The prompt template language, references, diffs, YAML files and request
 * variables, as pure functions: what renders, and which precise problem a bad
 * template or a bad variable gets.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../src/core/config/parse.js";
import { diffLines, unifiedDiff } from "../src/core/prompts/diff.js";
import { contentHash, contentText, parsePromptFile, promptFileText } from "../src/core/prompts/file.js";
import { parsePromptRef } from "../src/core/prompts/ref.js";
import { requestVariables } from "../src/core/prompts/request-variables.js";
import { checkPromptContent, compilePrompt, parseTemplateText } from "../src/core/prompts/template.js";

const ok = (raw: unknown) => {
  const c = checkPromptContent(raw);
  if (!c.ok) throw new Error(JSON.stringify(c.problems));
  return c.prompt;
};

describe("the template language", () => {
  it("substitutes declared variables, uses defaults, and keeps everything else as written", () => {
    const p = ok({
      variables: { product: {}, tone: { default: "brief" } },
      template: {
        system: "You help with {{product}}. Be {{ tone }}. Literal: \\{{product}} and } and {x}.",
        messages: [{ role: "user", content: "About {{product}}:" }],
      },
    });
    expect(p.required).toEqual(["product"]);
    expect(p.render({ product: "Switchyard" })).toEqual([
      { role: "system", content: "You help with Switchyard. Be brief. Literal: {{product}} and } and {x}." },
      { role: "user", content: "About Switchyard:" },
    ]);
    expect(p.render({ product: "X", tone: "formal" })[0]?.content).toContain("Be formal.");
  });

  it("never evaluates a value: a value that looks like a placeholder or code is inserted as text", () => {
    const p = ok({ variables: { a: {}, b: {} }, template: { system: "{{a}}|{{b}}" } });
    expect(p.render({ a: "{{b}}", b: "${process.exit(1)}" })[0]?.content).toBe("{{b}}|${process.exit(1)}");
  });

  it("names the field, line and column of an unclosed or non-name placeholder", () => {
    expect(parseTemplateText("line one\nhello {{name", "template.system")).toEqual({
      path: "template.system",
      message: "'{{' at line 2, column 7 is never closed with '}}' (write \\{{ for a literal {{)",
    });
    const c = checkPromptContent({
      variables: {},
      template: { messages: [{ role: "user", content: "x {{ a + b }}" }] },
    });
    expect(c.ok).toBe(false);
    if (!c.ok) {
      expect(c.problems[0]?.path).toBe("template.messages[0].content");
      expect(c.problems[0]?.message).toMatch(/'\{\{ a \+ b \}\}' at line 1, column 3 is not a variable name/);
    }
  });

  it("refuses an undeclared placeholder and a declared variable never used, naming each", () => {
    const c = checkPromptContent({ variables: { used: {}, spare: {} }, template: { system: "{{used}} {{typo}}" } });
    expect(c.ok).toBe(false);
    if (!c.ok)
      expect(c.problems).toEqual([
        {
          path: "template.system",
          message: "uses {{typo}}, which is not declared under variables (declared: used, spare)",
        },
        { path: "variables.spare", message: "variable 'spare' is declared but never used in the template" },
      ]);
  });

  it("refuses a template with nothing in it and a bad variable name", () => {
    const a = checkPromptContent({ template: {} });
    expect(a.ok || a.problems[0]?.message).toBe("give template.system, template.messages or both");
    const b = checkPromptContent({ variables: { "bad-name": {} }, template: { system: "x" } });
    expect(b.ok || b.problems[0]?.path).toBe("variables.bad-name");
  });

  it("says which variable a request lacks or should not send", () => {
    const p = ok({ variables: { a: {}, b: { default: "B" } }, template: { system: "{{a}}{{b}}" } });
    expect(p.problemWith({})).toEqual({ kind: "missing", variable: "a" });
    expect(p.problemWith({ a: "1", c: "2" })).toEqual({ kind: "unknown", variable: "c", declared: ["a", "b"] });
    expect(p.problemWith({ a: "1" })).toBeUndefined();
  });

  it("renders any text without placeholders to itself (property)", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        // Until none is left: "{{{" becomes "{ {{", which still holds one.
        let text = s;
        while (text.includes("{{")) text = text.replaceAll("{{", "{ {");
        const c = compilePrompt({ variables: {}, template: { system: text } });
        return c.ok && c.prompt.render({})[0]?.content === text;
      }),
    );
  });
});

describe("prompt references", () => {
  it("parses NAME@VERSION and NAME@LABEL, and explains a bad one", () => {
    expect(parsePromptRef("support@3")).toEqual({ name: "support", version: 3 });
    expect(parsePromptRef("support@production")).toEqual({ name: "support", label: "production" });
    expect(parsePromptRef("support")).toMatch(/write NAME@LABEL/);
    expect(parsePromptRef("support@0")).toMatch(/versions count from 1/);
    expect(parsePromptRef("support@-x")).toMatch(/neither a version number nor a label/);
  });
});

describe("a variant's prompt in the config", () => {
  it("is checked at start, the error naming the key path", () => {
    const cfg = (prompt: string) => ({
      backends: { b: { type: "openai", baseUrl: "http://127.0.0.1:9/v1" } },
      routes: { chat: { variants: [{ name: "a", backend: "b", model: "m", prompt }] } },
    });
    expect(validateConfig(cfg("support@production"), "t").routes.chat?.variants[0]?.prompt).toBe("support@production");
    expect(() => validateConfig(cfg("support"), "t")).toThrow(
      "routes.chat.variants.0.prompt: 'support' is not a prompt reference: write NAME@LABEL (support@production) or NAME@VERSION (support@3)",
    );
  });
});

describe("diffs", () => {
  it("is a unified diff whose hunks rebuild the new text", () => {
    const a = "one\ntwo\nthree\nfour\n";
    const b = "one\n2\nthree\nfour\nfive\n";
    expect(unifiedDiff(a, b, { from: "p@1", to: "p@2" })).toBe(
      "--- p@1\n+++ p@2\n@@ -1,5 +1,6 @@\n one\n-two\n+2\n three\n four\n+five\n \n",
    );
    expect(unifiedDiff(a, a, { from: "x", to: "y" })).toBe("");
  });

  it("keeps every line of both sides in order (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom("a", "b", "c", "d")),
        fc.array(fc.constantFrom("a", "b", "c", "d")),
        (x, y) => {
          const d = diffLines(x.join("\n"), y.join("\n"));
          const old = d.filter((l) => l.op !== "+").map((l) => l.text);
          const neu = d.filter((l) => l.op !== "-").map((l) => l.text);
          return old.join("\n") === x.join("\n") && neu.join("\n") === y.join("\n");
        },
      ),
    );
  });
});

describe("prompt files", () => {
  it("round-trips a version through its YAML file, and equal content has an equal hash", () => {
    const content = ok({
      description: "Support",
      variables: { product: { default: "Switchyard" } },
      template: { system: "Line one\nabout {{product}}" },
    }).content;
    const text = promptFileText({ name: "support", version: 2, labels: ["production"], content });
    const back = parsePromptFile(text);
    expect(back.ok).toBe(true);
    if (!back.ok) return;
    const { name, labels, version, message: _m, ...rest } = back.file;
    expect([name, labels, version]).toEqual(["support", ["production"], 2]);
    expect(contentHash(ok(rest).content)).toBe(contentHash(content));
    expect(contentText(content)).toContain("about {{product}}");
  });

  it("names the key of a bad file", () => {
    const r = parsePromptFile("name: support\nlabels: [latest]\ntemplate: {system: hi}\n");
    expect(r).toEqual({
      ok: false,
      problems: ["labels.0: 'latest' always points at the newest version and cannot be set"],
    });
  });
});

describe("request variables", () => {
  it("reads the body field and the header, the body winning key by key", () => {
    expect(requestVariables({ switchyard_variables: { a: "1", n: 2 } }, '{"a":"h","b":"h"}')).toEqual({
      ok: true,
      values: { a: "1", b: "h", n: "2" },
    });
  });

  it("says where and what is wrong", () => {
    expect(requestVariables({}, "{not json")).toMatchObject({ ok: false, where: "x-switchyard-variables" });
    expect(requestVariables({ switchyard_variables: [1] }, undefined)).toMatchObject({
      ok: false,
      where: "switchyard_variables",
    });
    expect(requestVariables({ switchyard_variables: { a: { x: 1 } } }, undefined)).toEqual({
      ok: false,
      where: "switchyard_variables.a",
      problem: "variable 'a' must be a string, got object",
    });
  });
});

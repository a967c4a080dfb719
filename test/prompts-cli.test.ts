/**
 * `switchyard prompts` as a user runs it: create, label, diff, show; export to
 * YAML files, edit one as a team would in git, import it back (a new version,
 * the label moved as the file says; unchanged files create nothing); a bad
 * file is refused naming the file and the key, and changes nothing.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./cli-process.js";

let dir: string;
const cli = (...args: string[]) =>
  runCli(["-c", join(dir, "switchyard.yaml"), ...args], dir, { SWITCHYARD_AUTHOR: "ana" });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-prompts-cli-"));
  writeFileSync(join(dir, "switchyard.yaml"), `database: { url: ${join(dir, "s.db")} }\n`);
});

describe("switchyard prompts", () => {
  it("is listed in switchyard --help", () => {
    expect(runCli(["--help"], dir).stdout).toMatch(/prompts\s+the prompt registry/);
  });

  it("creates versions, labels them, diffs and shows them", () => {
    const a = cli(
      "prompts",
      "create",
      "support",
      "--system",
      "You help with {{product}}.",
      "--var",
      "product",
      "-m",
      "first",
    );
    expect(a.stderr).toBe("");
    expect(a.stdout).toBe("created support@1\n");
    expect(
      cli("prompts", "create", "support", "--system", "You help with {{product}}.", "--var", "product").stdout,
    ).toBe("unchanged: support@1 already has this content (no new version)\n");
    expect(cli("prompts", "label", "support", "production", "1", "-m", "go").stdout).toMatch(
      /^support@production: \(new\) -> 1/,
    );
    const bad = cli("prompts", "create", "support", "--system", "Hi {{prodcut}}", "--var", "product");
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(
      "template.system: uses {{prodcut}}, which is not declared under variables (declared: product)",
    );
    expect(cli("prompts", "list").stdout).toBe("support  v1  production=1\n");
  });

  it("exports YAML, imports an edited file as a new version and moves its labels", () => {
    const out = join(dir, "prompts");
    expect(cli("prompts", "export", "--out", out).stdout).toContain("support@1");
    const file = join(out, "support.yaml");
    const text = readFileSync(file, "utf8");
    expect(text).toContain("labels:\n  - production");
    // Unchanged: nothing new.
    expect(cli("prompts", "import", out).stdout).toBe(`${file}: support@1 unchanged\n`);
    writeFileSync(file, text.replace("You help with {{product}}.", "You help with {{product}}, briefly."));
    expect(cli("prompts", "import", out).stdout).toBe(`${file}: created support@2; moved production\n`);
    const diff = cli("prompts", "diff", "support", "1", "production").stdout;
    expect(diff).toContain("-  system: You help with {{product}}.\n+  system: You help with {{product}}, briefly.");
    const show = cli("prompts", "show", "support", "--history").stdout;
    expect(show).toMatch(/v1 .* ana {2}first/);
    expect(show).toMatch(/v2 .* ana {2}imported from/);
    expect(show).toMatch(/production: 1 -> 2 {2}ana/);
    // create -f takes a file without a name (the command names it).
    writeFileSync(
      join(dir, "nameless.yaml"),
      "variables: { q: {} }\ntemplate:\n  messages: [{ role: user, content: 'Q: {{q}}' }]\n",
    );
    expect(cli("prompts", "create", "quiz", "-f", join(dir, "nameless.yaml")).stdout).toBe("created quiz@1\n");
    // Rollback is a move back.
    cli("prompts", "label", "support", "production", "1", "-m", "rollback");
    expect(cli("prompts", "show", "support@production").stdout).toContain("version: 1");
  });

  it("refuses a bad file naming it and the key, storing nothing from the batch", () => {
    const out = join(dir, "bad");
    runCli(["-c", join(dir, "switchyard.yaml"), "prompts", "export", "--out", out], dir);
    writeFileSync(join(out, "a-new.yaml"), "name: fresh\ntemplate:\n  system: ok\n");
    writeFileSync(join(out, "z-broken.yaml"), "name: broken\nvariables: { x: {} }\ntemplate: { system: no x here }\n");
    const r = cli("prompts", "import", out);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${join(out, "z-broken.yaml")}: prompt 'broken' is not valid:`);
    expect(r.stderr).toContain("variables.x: variable 'x' is declared but never used in the template");
    expect(cli("prompts", "list").stdout).not.toContain("fresh");
  });
});

/**
 * The prompts admin API over real HTTP: versions are immutable and numbered,
 * equal content makes no new version, labels move and keep their history, a
 * diff shows what changed, bad templates get a 400 naming the prompt and the
 * place, app keys are refused, and a version exports as a YAML file that the
 * core parses back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePromptFile } from "../src/core/prompts/file.js";
import { createKey } from "../src/store/keys.js";
import { startGateway, type TestGateway } from "./helpers.js";

let gw: TestGateway;
let admin: string;
let app: string;

const call = async (method: string, path: string, key: string, body?: unknown) => {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
};

const V1 = {
  description: "Support",
  variables: { product: {} },
  template: { system: "You help with {{product}}.\nBe kind." },
  message: "first",
};
const V2 = {
  description: "Support",
  variables: { product: {}, tone: { default: "brief" } },
  template: { system: "You help with {{product}}.\nBe {{tone}}." },
  message: "tone",
};

beforeAll(async () => {
  gw = await startGateway({
    auth: { required: true },
    tenants: { acme: { routes: "*" } },
    backends: { fake: { type: "openai", baseUrl: "http://127.0.0.1:9/v1" } },
    routes: { chat: { variants: [{ name: "a", backend: "fake", model: "m" }] } },
  });
  admin = (await createKey(gw.gateway.db, { tenant: "acme", role: "admin", name: "ops" })).key;
  app = (await createKey(gw.gateway.db, { tenant: "acme", role: "app", name: "web" })).key;
  await gw.gateway.keys.refresh();
});

afterAll(async () => {
  await gw.shutdown();
});

describe("prompt versions", () => {
  it("numbers versions, records author, time and message, and makes none for equal content", async () => {
    const a = await call("POST", "/v1/admin/prompts/support/versions", admin, V1);
    expect(a.status).toBe(201);
    expect(a.json).toMatchObject({ prompt: "support", version: 1, ref: "support@1", message: "first", created: true });
    expect(a.json.author).toMatch(/^key_/);
    expect(typeof a.json.created_at).toBe("number");
    const again = await call("POST", "/v1/admin/prompts/support/versions", admin, { ...V1, message: "again" });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ version: 1, created: false, message: "first" });
    const b = await call("POST", "/v1/admin/prompts/support/versions", admin, V2);
    expect(b.status).toBe(201);
    expect(b.json.version).toBe(2);
  });

  it("keeps an old version exactly as it was, and offers no way to edit one", async () => {
    const v1 = await call("GET", "/v1/admin/prompts/support/versions/1", admin);
    expect(v1.json.content.template.system).toBe("You help with {{product}}.\nBe kind.");
    for (const method of ["PUT", "PATCH", "DELETE"]) {
      const r = await call(method, "/v1/admin/prompts/support/versions/1", admin, method === "DELETE" ? undefined : V2);
      expect(r.status).toBe(404);
    }
    expect((await call("GET", "/v1/admin/prompts/support/versions/1", admin)).json.content).toEqual(v1.json.content);
    const detail = await call("GET", "/v1/admin/prompts/support", admin);
    expect(detail.json.versions.map((v: any) => [v.version, v.message, v.labels])).toEqual([
      [1, "first", []],
      [2, "tone", ["latest"]],
    ]);
  });

  it("moves a label, rolls it back, and keeps every move", async () => {
    const up = await call("PUT", "/v1/admin/prompts/support/labels/production", admin, { version: 2, message: "ship" });
    expect(up.json).toMatchObject({ label: "production", version: 2, previous_version: null, moved: true });
    const back = await call("PUT", "/v1/admin/prompts/support/labels/production", admin, {
      version: 1,
      message: "rollback",
    });
    expect(back.json).toMatchObject({ version: 1, previous_version: 2, moved: true });
    const same = await call("PUT", "/v1/admin/prompts/support/labels/production", admin, { version: 1 });
    expect(same.json.moved).toBe(false);
    const history = await call("GET", "/v1/admin/prompts/support/labels?label=production", admin);
    expect(history.json.data.map((e: any) => [e.previous_version, e.version, e.message])).toEqual([
      [2, 1, "rollback"],
      [null, 2, "ship"],
    ]);
    expect((await call("GET", "/v1/admin/prompts/support/versions/production", admin)).json.version).toBe(1);
    const list = await call("GET", "/v1/admin/prompts", admin);
    expect(list.json.data[0]).toMatchObject({
      name: "support",
      latest_version: 2,
      labels: { latest: 2, production: 1 },
    });
  });

  it("refuses a label on a version that does not exist, the label latest, and a numeric label", async () => {
    const none = await call("PUT", "/v1/admin/prompts/support/labels/staging", admin, { version: 9 });
    expect(none.status).toBe(404);
    expect(none.json.error.message).toBe("Prompt 'support' has no version 9 (its versions: 1 to 2)");
    expect((await call("PUT", "/v1/admin/prompts/support/labels/latest", admin, { version: 1 })).status).toBe(400);
    expect((await call("PUT", "/v1/admin/prompts/support/labels/3x", admin, { version: 1 })).status).toBe(400);
  });

  it("diffs two versions by number or label", async () => {
    const d = await call("GET", "/v1/admin/prompts/support/diff?from=production&to=2", admin);
    expect(d.json.from).toBe("support@1");
    expect(d.json.to).toBe("support@2");
    expect(d.json.diff).toBe(
      [
        "--- support@1",
        "+++ support@2",
        "@@ -1,8 +1,10 @@",
        " description: Support",
        " variables:",
        "   product: {}",
        "+  tone:",
        "+    default: brief",
        " template:",
        "   system: |-",
        "     You help with {{product}}.",
        "-    Be kind.",
        "+    Be {{tone}}.",
        " ",
        "",
      ].join("\n"),
    );
  });

  it("answers a bad template with a 400 naming the prompt, the place and the problem", async () => {
    const r = await call("POST", "/v1/admin/prompts/support/versions", admin, {
      variables: { product: {} },
      template: { system: "About {{product}}", messages: [{ role: "user", content: "Hi {{ naem }}" }] },
    });
    expect(r.status).toBe(400);
    expect(r.json.error).toEqual({
      code: "SY_ERR_PROMPT_TEMPLATE_INVALID",
      type: "invalid_request_error",
      param: "template.messages[0].content",
      message:
        "Prompt 'support' is not a valid template at 'template.messages[0].content': uses {{naem}}, which is not declared under variables (declared: product)",
    });
    const unclosed = await call("POST", "/v1/admin/prompts/other/versions", admin, { template: { system: "x {{y" } });
    expect(unclosed.json.error.message).toMatch(
      /'other' .* at 'template.system': '\{\{' at line 1, column 3 is never closed/,
    );
    // Nothing was stored for either.
    expect((await call("GET", "/v1/admin/prompts/support", admin)).json.latest_version).toBe(2);
    expect((await call("GET", "/v1/admin/prompts/other", admin)).status).toBe(404);
  });

  it("renders a dry run, and names a missing or unknown variable", async () => {
    const r = await call("POST", "/v1/admin/prompts/support/render", admin, { ref: "2", variables: { product: "X" } });
    expect(r.json.messages).toEqual([{ role: "system", content: "You help with X.\nBe brief." }]);
    const missing = await call("POST", "/v1/admin/prompts/support/render", admin, { ref: "2", variables: {} });
    expect(missing.json.error.message).toMatch(/^Prompt support@2 needs variable 'product'/);
    const unknown = await call("POST", "/v1/admin/prompts/support/render", admin, {
      ref: "1",
      variables: { product: "X", tone: "y" },
    });
    expect(unknown.json.error.message).toBe("Prompt support@1 declares no variable 'tone' (its variables: product)");
  });

  it("exports a version as a YAML file that parses back to the same content", async () => {
    const r = await call("GET", "/v1/admin/prompts/support/export?ref=production", admin);
    expect(r.status).toBe(200);
    const parsed = parsePromptFile(r.text);
    expect(parsed.ok && [parsed.file.version, parsed.file.labels, parsed.file.template.system]).toEqual([
      1,
      ["production"],
      "You help with {{product}}.\nBe kind.",
    ]);
  });

  it("imports YAML files: new versions for changed content, labels moved, a bad file storing nothing", async () => {
    const file = "name: greeter\nlabels: [staging]\nvariables: { who: {} }\ntemplate:\n  system: Greet {{who}}.\n";
    const a = await call("POST", "/v1/admin/prompts/import", admin, {
      files: [{ source: "greeter.yaml", text: file }],
    });
    expect(a.json.data).toEqual([
      { source: "greeter.yaml", prompt: "greeter", version: 1, created: true, moved: ["staging"] },
    ]);
    const again = await call("POST", "/v1/admin/prompts/import", admin, { files: [{ text: file }] });
    expect(again.json.data[0]).toMatchObject({ version: 1, created: false, moved: [] });
    const bad = await call("POST", "/v1/admin/prompts/import", admin, {
      files: [
        { text: file.replace("Greet", "Hi") },
        { source: "b.yaml", text: "name: b\ntemplate: { system: '{{x}}' }\n" },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toBe(
      "Invalid request body at 'files[1]': b.yaml: template.system: uses {{x}}, which is not declared under variables (declared: none)",
    );
    expect((await call("GET", "/v1/admin/prompts/greeter", admin)).json.latest_version).toBe(1);
  });

  it("is for admin keys only", async () => {
    expect((await call("GET", "/v1/admin/prompts", app)).status).toBe(403);
    expect((await call("POST", "/v1/admin/prompts/x/versions", app, V1)).status).toBe(403);
  });
});

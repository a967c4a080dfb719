/**
 * Prompts on the request path, over real HTTP with the official openai SDK: a
 * variant's prompt (NAME@LABEL) is rendered with the request's variables and
 * sent before the client's messages; the log records NAME@VERSION; a label
 * move and its rollback show in the very next request with no restart, and on
 * a second replica within the polling bound; bad or missing variables are a
 * 400 naming the variable and the prompt version; an A/B test between two
 * prompt versions on the same model splits its log and its report by version.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reportMarkdown } from "../src/core/report-render.js";
import { PROMPT_REFRESH_MS } from "../src/server/prompt-registry.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { eventually, startGateway, type TestGateway } from "./helpers.js";

let upstream: FakeOpenAI;
let gw: TestGateway;
let replica: TestGateway;

const config = () => ({
  auth: { required: false },
  backends: { fake: { type: "openai", baseUrl: upstream.url } },
  routes: {
    support: { variants: [{ name: "main", backend: "fake", model: "m", prompt: "support@production" }] },
    pinned: { variants: [{ name: "v1", backend: "fake", model: "m", prompt: "support@1" }] },
    plain: { variants: [{ name: "p", backend: "fake", model: "m" }] },
    missing: { variants: [{ name: "x", backend: "fake", model: "m", prompt: "nosuch@production" }] },
    sh: {
      variants: [
        { name: "live", backend: "fake", model: "m", prompt: "support@1" },
        { name: "next", backend: "fake", model: "m", prompt: "support@2" },
      ],
    },
    ab: {
      variants: [
        { name: "old", backend: "fake", model: "m", prompt: "support@1" },
        { name: "new", backend: "fake", model: "m", prompt: "support@2" },
      ],
    },
  },
  experiments: {
    "prompt-shadow": {
      route: "sh",
      variants: [{ variant: "live", weight: 100 }],
      shadow: { variants: ["next"], share: 1 },
    },
    "prompt-ab": {
      route: "ab",
      variants: [
        { variant: "old", weight: 50 },
        { variant: "new", weight: 50 },
      ],
    },
  },
});

const admin = async (g: TestGateway, method: string, path: string, body?: unknown) => {
  const res = await fetch(`${g.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as any };
};

async function chat(
  g: TestGateway,
  route: string,
  opts: { variables?: Record<string, unknown>; header?: string; user?: string } = {},
) {
  const res = await fetch(`${g.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(opts.header ? { "x-switchyard-variables": opts.header } : {}) },
    body: JSON.stringify({
      model: route,
      messages: [{ role: "user", content: "hello" }],
      ...(opts.user ? { user: opts.user } : {}),
      ...(opts.variables ? { switchyard_variables: opts.variables } : {}),
    }),
  });
  return {
    status: res.status,
    json: (await res.json()) as any,
    promptVersion: res.headers.get("x-switchyard-prompt-version"),
    variant: res.headers.get("x-switchyard-variant"),
  };
}

const lastUpstreamBody = () => upstream.requests[upstream.requests.length - 1]?.body as Record<string, any>;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  gw = await startGateway(config());
  // v1 and v2 of "support", production on v1.
  await admin(gw, "POST", "/v1/admin/prompts/support/versions", {
    variables: { product: {} },
    template: { system: "v1: you help with {{product}}." },
  });
  await admin(gw, "POST", "/v1/admin/prompts/support/versions", {
    variables: { product: {}, tone: { default: "brief" } },
    template: { system: "v2: you help with {{product}}, {{tone}}." },
  });
  await admin(gw, "PUT", "/v1/admin/prompts/support/labels/production", { version: 1 });
  replica = await startGateway(config(), gw.dbPath);
});

afterAll(async () => {
  await replica?.shutdown();
  await gw?.shutdown();
  await upstream?.close();
});

describe("a variant's prompt", () => {
  it("is rendered before the client's messages; the variables never go upstream; the log says NAME@VERSION", async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused" });
    const res = await client.chat.completions
      .create({
        model: "support",
        messages: [{ role: "user", content: "hello" }],
        switchyard_variables: { product: "Switchyard" },
      } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .withResponse();
    expect(res.response.headers.get("x-switchyard-prompt-version")).toBe("support@1");
    const sent = lastUpstreamBody();
    expect(sent.messages).toEqual([
      { role: "system", content: "v1: you help with Switchyard." },
      { role: "user", content: "hello" },
    ]);
    expect(sent).not.toHaveProperty("switchyard_variables");
    const row = (await gw.rows()).find((r) => r.id === res.response.headers.get("x-switchyard-request-id"));
    expect(row?.prompt_version).toBe("support@1");
  });

  it("streams with the prompt too, and a variant without a prompt never forwards the variables field", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "support",
        stream: true,
        messages: [{ role: "user", content: "hello" }],
        switchyard_variables: { product: "S" },
      }),
    });
    expect(res.headers.get("x-switchyard-prompt-version")).toBe("support@1");
    expect(await res.text()).toContain("data: [DONE]");
    expect(lastUpstreamBody().messages[0]).toEqual({ role: "system", content: "v1: you help with S." });
    const id = res.headers.get("x-switchyard-request-id");
    expect((await gw.rows()).find((r) => r.id === id)?.prompt_version).toBe("support@1");

    const plain = await chat(gw, "plain", { variables: { anything: "x" } });
    expect(plain.status).toBe(200);
    expect(plain.promptVersion).toBeNull();
    expect(lastUpstreamBody()).not.toHaveProperty("switchyard_variables");
    expect(lastUpstreamBody().messages).toEqual([{ role: "user", content: "hello" }]);
  });

  it("takes variables from the x-switchyard-variables header too", async () => {
    const r = await chat(gw, "support", { header: JSON.stringify({ product: "via header" }) });
    expect(r.status).toBe(200);
    expect(lastUpstreamBody().messages[0].content).toBe("v1: you help with via header.");
  });

  it("works through the Messages API too, with the variables in the header", async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-switchyard-variables": '{"product": "Claude Code"}' },
      body: JSON.stringify({ model: "support", max_tokens: 50, messages: [{ role: "user", content: "hello" }] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-prompt-version")).toBe("support@1");
    expect(lastUpstreamBody().messages[0]).toEqual({ role: "system", content: "v1: you help with Claude Code." });
  });

  it("follows a label move and its rollback on the very next request, with no restart", async () => {
    await admin(gw, "PUT", "/v1/admin/prompts/support/labels/production", { version: 2, message: "ship v2" });
    const after = await chat(gw, "support", { variables: { product: "P" } });
    expect(after.promptVersion).toBe("support@2");
    expect(lastUpstreamBody().messages[0].content).toBe("v2: you help with P, brief.");
    await admin(gw, "PUT", "/v1/admin/prompts/support/labels/production", { version: 1, message: "rollback" });
    const back = await chat(gw, "support", { variables: { product: "P" } });
    expect(back.promptVersion).toBe("support@1");
    expect(lastUpstreamBody().messages[0].content).toBe("v1: you help with P.");
    const logged = (await gw.rows()).slice(-2).map((r) => r.prompt_version);
    expect(logged).toEqual(["support@2", "support@1"]);
  });

  it("is seen moved by another replica within the polling bound, which never reads the store per request", async () => {
    expect((await chat(replica, "support", { variables: { product: "R" } })).promptVersion).toBe("support@1");
    await admin(gw, "PUT", "/v1/admin/prompts/support/labels/production", { version: 2 });
    // The bound: one poll interval plus a poll's own time (eventually() only bounds the wait; nothing is timed).
    await eventually(async () => {
      expect((await chat(replica, "support", { variables: { product: "R" } })).promptVersion).toBe("support@2");
    }, PROMPT_REFRESH_MS * 5);
    await admin(gw, "PUT", "/v1/admin/prompts/support/labels/production", { version: 1 });
  });

  it("answers a missing variable with a 400 naming it and the prompt version", async () => {
    const r = await chat(gw, "support");
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({
      code: "SY_ERR_PROMPT_VARIABLE_MISSING",
      param: "product",
      message:
        "Prompt support@1 needs variable 'product', which the request does not give (send it in the body's 'switchyard_variables' object or the 'x-switchyard-variables' header (a JSON object))",
    });
  });

  it("answers an unknown variable, a wrong-typed one and a bad header precisely", async () => {
    const unknown = await chat(gw, "pinned", { variables: { product: "x", tone: "y" } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.message).toBe("Prompt support@1 declares no variable 'tone' (its variables: product)");
    expect(unknown.json.error.param).toBe("tone");
    const typed = await chat(gw, "support", { variables: { product: ["a"] } });
    expect(typed.json.error.message).toBe(
      "Invalid prompt variables in switchyard_variables.product: variable 'product' must be a string, got an array",
    );
    const header = await chat(gw, "support", { header: "{oops" });
    expect(header.status).toBe(400);
    expect(header.json.error.code).toBe("SY_ERR_PROMPT_VARIABLES_INVALID");
    expect(header.json.error.message).toMatch(/^Invalid prompt variables in x-switchyard-variables: not JSON/);
  });

  it("answers a prompt the store does not have with a 503 naming the route, variant and reference", async () => {
    const r = await chat(gw, "missing", { variables: {} });
    expect(r.status).toBe(503);
    expect(r.json.error.message).toBe(
      "Route 'missing' variant 'x' uses prompt nosuch@production, which cannot be served: there is no prompt 'nosuch'",
    );
  });
});

describe("a shadow test of a prompt version", () => {
  it("sends the candidate its own prompt version in the background, and stores the comparison", async () => {
    upstream.requests.length = 0;
    const r = await chat(gw, "sh", { variables: { product: "S" } });
    expect(r.promptVersion).toBe("support@1");
    await eventually(() => expect(upstream.requests).toHaveLength(2));
    const systems = upstream.requests.map((q) => (q.body.messages as { content: string }[])[0]?.content).sort();
    expect(systems).toEqual(["v1: you help with S.", "v2: you help with S, brief."]);
    const shadow = await eventually(async () => {
      await gw.rows();
      const rows = await gw.gateway.db.selectFrom("shadow_results").selectAll().execute();
      expect(rows).toHaveLength(1);
      return rows[0];
    });
    expect([shadow?.primary_variant, shadow?.candidate_variant, shadow?.candidate_status]).toEqual([
      "live",
      "next",
      200,
    ]);
  });
});

describe("an A/B test between two prompt versions on one model", () => {
  it("splits users between the versions, and its log and report by prompt version", async () => {
    const ids: Record<string, string> = {};
    for (let i = 0; i < 40; i++) {
      const r = await chat(gw, "ab", { user: `u${i}`, variables: { product: "AB" } });
      expect(r.status).toBe(200);
      expect(r.promptVersion).toBe(r.variant === "old" ? "support@1" : "support@2");
      ids[r.variant as string] ??= `u${i}`;
    }
    const rows = (await gw.rows()).filter((r) => r.route === "ab");
    const byVersion = new Map<string, number>();
    for (const r of rows)
      byVersion.set(r.prompt_version as string, (byVersion.get(r.prompt_version as string) ?? 0) + 1);
    expect([...byVersion.keys()].sort()).toEqual(["support@1", "support@2"]);
    const thumbsFor = rows.find((r) => r.prompt_version === "support@2") as (typeof rows)[number];
    await fetch(`${gw.url}/v1/feedback`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ request_id: thumbsFor.id, kind: "thumbs", value: "up" }),
    });
    const report = await admin(gw, "GET", "/v1/experiments/prompt-ab/report");
    expect(report.status).toBe(200);
    expect(report.json.promptVersions).toEqual([
      {
        variant: "new",
        prompt_version: "support@2",
        requests: byVersion.get("support@2"),
        successes: byVersion.get("support@2"),
        thumbs: 1,
        thumbs_up: 1,
      },
      {
        variant: "old",
        prompt_version: "support@1",
        requests: byVersion.get("support@1"),
        successes: byVersion.get("support@1"),
        thumbs: 0,
        thumbs_up: 0,
      },
    ]);
    // The CLI's Markdown (switchyard report) renders the same split.
    const md = reportMarkdown(report.json);
    expect(md).toContain(`| new | support@2 | ${byVersion.get("support@2")} | 100.0 % | 100.0 % (1) |`);
  });
});

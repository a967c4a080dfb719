/** A team's own backend, loaded from a module named in the config, served like any other. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { startGateway, type TestGateway } from "./helpers.js";

// A plugin as a team would write it: plain JavaScript, no Switchyard imports.
const PLUGIN = `
export function createBackend({ name, options }) {
  let calls = 0;
  const answer = (body) => String(body.messages.at(-1).content).split("").reverse().join("");
  return {
    name,
    kind: "seq2seq",
    async chat(body, ctx) {
      calls++;
      (globalThis.seq2seqSignals ??= []).push(ctx.signal);
      if (options.failFirst && calls === 1) {
        throw Object.assign(new Error("model server restarting"), { status: 503 });
      }
      const text = options.prefix + answer(body);
      const base = { id: "s2s-1", created: 1, model: body.model };
      if (!body.stream) {
        return { kind: "json", body: { ...base, object: "chat.completion",
          choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
          usage: { prompt_tokens: 3, completion_tokens: text.length, total_tokens: 3 + text.length } } };
      }
      async function* events() {
        for (const ch of text) {
          const chunk = { ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta: { content: ch }, finish_reason: null }] };
          yield { chunk, text: JSON.stringify(chunk) };
        }
        const last = { ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] };
        yield { chunk: last, text: JSON.stringify(last) };
      }
      return { kind: "stream", events: events() };
    },
    async embeddings(body) {
      if (options.badEmbeddings) return { body: { data: "nope" } };
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      return { body: { object: "list", model: body.model,
        data: inputs.map((t, index) => ({ object: "embedding", index, embedding: [String(t).length] })),
        usage: { prompt_tokens: inputs.length, total_tokens: inputs.length } } };
    },
    async listModels() { return ["s2s"]; },
    async close() {},
  };
}
`;

let dir: string;
let gw: TestGateway;
let backup: FakeOpenAI;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "switchyard-plugin-"));
  writeFileSync(join(dir, "seq2seq.mjs"), PLUGIN);
  writeFileSync(join(dir, "not-a-plugin.mjs"), "export const x = 1;\n");
  backup = await startFakeOpenAI();
  gw = await startGateway({
    auth: { required: false },
    backends: {
      s2s: { type: "plugin", module: join(dir, "seq2seq.mjs"), options: { prefix: ">" } },
      flaky: {
        type: "plugin",
        module: join(dir, "seq2seq.mjs"),
        options: { prefix: "", failFirst: true },
        retry: { maxRetries: 0 },
      },
      backup: { type: "openai", baseUrl: backup.url },
      broken: { type: "plugin", module: join(dir, "seq2seq.mjs"), options: { prefix: "", badEmbeddings: true } },
    },
    routes: {
      home: { variants: [{ name: "s2s", backend: "s2s", model: "my-seq2seq" }] },
      flaky: {
        variants: [{ name: "f", backend: "flaky", model: "m" }],
        fallbacks: [{ backend: "backup", model: "fake-model" }],
      },
      broken: { variants: [{ name: "b", backend: "broken", model: "m" }] },
    },
  });
});

afterAll(async () => {
  await gw.shutdown();
  await backup.close();
});

describe("plugin backends", () => {
  const client = () => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "x", maxRetries: 0 });

  it("serves a plugin's answers, plain and streamed, and logs them", async () => {
    const res = await client().chat.completions.create({ model: "home", messages: [{ role: "user", content: "abc" }] });
    expect(res.choices[0]?.message.content).toBe(">cba");
    const stream = await client().chat.completions.create({
      model: "home",
      messages: [{ role: "user", content: "xyz" }],
      stream: true,
    });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
    expect(text).toBe(">zyx");
    const rows = (await gw.rows()).filter((r) => r.route === "home");
    expect(rows.map((r) => [r.backend, r.upstream_model, r.status])).toEqual([
      ["s2s", "my-seq2seq", 200],
      ["s2s", "my-seq2seq", 200],
    ]);
    expect(rows[0]?.output_tokens).toBe(4);
    // The stream sent no usage: its tokens were counted here, and said so.
    expect(rows[1]).toMatchObject({ tokens_estimated: 1 });
  });

  it("aborts a plugin's signal once its stream is over, so whatever the plugin opened gets closed", async () => {
    const stream = await client().chat.completions.create({
      model: "home",
      messages: [{ role: "user", content: "abc" }],
      stream: true,
    });
    for await (const _ of stream);
    const signals = (globalThis as { seq2seqSignals?: AbortSignal[] }).seq2seqSignals ?? [];
    const last = signals.at(-1) as AbortSignal;
    const deadline = Date.now() + 5_000;
    while (!last.aborted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(last.aborted).toBe(true);
  });

  it("wraps a plugin in the same fallback chain as built-in backends", async () => {
    const res = await client()
      .chat.completions.create({ model: "flaky", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(res.response.headers.get("x-switchyard-backend")).toBe("backup");
  });

  it("stops the start with a clear message when the module is missing or is not a plugin", async () => {
    const start = (module: string) =>
      startGateway({
        backends: { x: { type: "plugin", module } },
        routes: { r: { variants: [{ name: "a", backend: "x", model: "m" }] } },
      });
    await expect(start(join(dir, "missing.mjs"))).rejects.toThrow(/^backends\.x\.module: cannot load '.*missing\.mjs'/);
    await expect(start(join(dir, "not-a-plugin.mjs"))).rejects.toThrow(/exports no createBackend function/);
  });
});

describe("a plugin's embeddings", () => {
  it("serves POST /v1/embeddings from a plugin that has them", async () => {
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const res = await client.embeddings.create({ model: "home", input: ["abc", "hello"], encoding_format: "float" });
    expect(res.data.map((d) => d.embedding)).toEqual([[3], [5]]);
  });

  it("answers a plugin's malformed embeddings result as a 502 protocol error", async () => {
    const res = await fetch(`${gw.url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "broken", input: "x" }),
    });
    expect(res.status).toBe(502);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("SY_ERR_UPSTREAM_PROTOCOL");
    expect(error.message).toContain("embeddings result");
  });
});

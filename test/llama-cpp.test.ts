/**
 * The embedded llama-cpp backend on a tiny GGUF model the fixture writes (random
 * weights, a small vocabulary, a ChatML template in its metadata), through the
 * official openai SDK: streaming and not, usage by the model's own tokenizer,
 * seeds, LoRA adapters per variant and per tenant.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, LlamaChat, type LlamaModel, resolveChatWrapper } from "node-llama-cpp";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKey } from "../src/store/keys.js";
import { writeTinyAdapter, writeTinyModel } from "./fixtures/tiny-gguf.js";
import { startGateway, type TestGateway } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-llama-"));
const modelPath = join(dir, "tiny.gguf");
const adapterA = join(dir, "adapter-a.gguf");
const adapterB = join(dir, "adapter-b.gguf");
writeTinyModel(modelPath);
writeTinyAdapter(adapterA, 7);
writeTinyAdapter(adapterB, 8);

const messages = [
  { role: "system" as const, content: "you are the cat" },
  { role: "user" as const, content: "hello the dog sat on the mat" },
];

let gw: TestGateway;
let client: OpenAI;
let acme: OpenAI;
let acmeKey: string;
let globex: OpenAI;
let direct: LlamaModel;

beforeAll(async () => {
  gw = await startGateway({
    backends: {
      local: {
        type: "llama-cpp",
        modelPath,
        contextSize: 256,
        parallel: 2,
        maxQueue: 4,
        threads: 1,
        adapters: { a: { path: adapterA }, b: { path: adapterB }, "a-off": { path: adapterA, scale: 0 } },
      },
    },
    routes: {
      chat: {
        variants: [
          { name: "base", backend: "local", model: "tiny" },
          { name: "tuned", backend: "local", model: "tiny", adapter: "a" },
          { name: "tuned-off", backend: "local", model: "tiny", adapter: "a-off" },
        ],
      },
    },
    tenants: {
      default: { routes: "*" },
      acme: { routes: "*", adapters: { local: "a" } },
      globex: { routes: "*", adapters: { local: "b" } },
    },
  });
  const key = async (tenant: string) => (await createKey(gw.gateway.db, { tenant, role: "admin" })).key;
  const [k0, k1, k2] = [await key("default"), await key("acme"), await key("globex")];
  acmeKey = k1;
  await gw.gateway.keys.refresh();
  const sdk = (apiKey: string) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey, maxRetries: 0 });
  client = sdk(k0);
  acme = sdk(k1);
  globex = sdk(k2);
  const llama = await getLlama({ gpu: false, build: "never", maxThreads: 1 });
  direct = await llama.loadModel({ modelPath });
});

afterAll(async () => {
  await gw?.shutdown();
  await direct?.dispose();
});

const ask = (c: OpenAI, extra: Record<string, unknown> = {}, variant?: string) =>
  c.chat.completions.create(
    { model: "chat", messages, max_tokens: 24, seed: 42, temperature: 0.8, ...extra },
    variant ? { headers: { "x-switchyard-variant": variant } } : {},
  );

/** The prompt as the model's own template renders it, counted by the model's own tokenizer. */
function promptTokens(): number {
  const wrapper = resolveChatWrapper(direct);
  const state = wrapper.generateContextState({
    chatHistory: [
      { type: "system", text: messages[0]?.content ?? "" },
      { type: "user", text: messages[1]?.content ?? "" },
      { type: "model", response: [] },
    ],
  });
  return state.contextText.tokenize(direct.tokenizer).length;
}

/** The same generation run on node-llama-cpp directly, in this process. */
async function directAnswer(seed: number, maxTokens: number): Promise<{ text: string; tokens: number }> {
  const context = await direct.createContext({ contextSize: 256, threads: 1 });
  const sequence = context.getSequence();
  try {
    const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: resolveChatWrapper(direct) });
    const res = await chat.generateResponse(
      [
        { type: "system", text: messages[0]?.content ?? "" },
        { type: "user", text: messages[1]?.content ?? "" },
        { type: "model", response: [] },
      ],
      { maxTokens, seed, temperature: 0.8, repeatPenalty: false },
    );
    return { text: res.response, tokens: sequence.tokenMeter.usedOutputTokens };
  } finally {
    await context.dispose();
  }
}

describe("llama-cpp backend through the openai SDK", () => {
  it("answers a chat completion with usage counted by the model's tokenizer", async () => {
    const res = await ask(client);
    const text = res.choices[0]?.message.content ?? "";
    expect(text.length).toBeGreaterThan(0);
    expect(res.choices[0]?.finish_reason).toBe("length");
    expect(res.usage?.prompt_tokens).toBe(promptTokens());
    expect(res.usage?.completion_tokens).toBe(24);
    expect(res.usage?.total_tokens).toBe(promptTokens() + 24);
    // The same seed on node-llama-cpp directly writes the same text with the same number of tokens.
    const d = await directAnswer(42, 24);
    expect(text).toBe(d.text);
    expect(res.usage?.completion_tokens).toBe(d.tokens);
  });

  it("gives the same text twice for a fixed seed, and another text for another seed", async () => {
    const [one, two, other] = [await ask(client), await ask(client), await ask(client, { seed: 43 })];
    expect(two.choices[0]?.message.content).toBe(one.choices[0]?.message.content);
    expect(other.choices[0]?.message.content).not.toBe(one.choices[0]?.message.content);
  });

  it("streams token by token, the same text as unstreamed, with a final usage chunk", async () => {
    const whole = await ask(client);
    const stream = await client.chat.completions.create({
      model: "chat",
      messages,
      max_tokens: 24,
      seed: 42,
      temperature: 0.8,
      stream: true,
      stream_options: { include_usage: true },
    });
    const parts: string[] = [];
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      const c = chunk.choices[0];
      if (c?.delta.content) parts.push(c.delta.content);
      if (c?.finish_reason) finish = c.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(parts.length).toBeGreaterThan(5);
    expect(parts.join("")).toBe(whole.choices[0]?.message.content);
    expect(finish).toBe("length");
    expect(usage).toEqual(whole.usage);
    const rows = await gw.rows();
    const last = rows[rows.length - 1];
    expect(last?.output_tokens).toBe(24);
    expect(last?.stream).toBe(1);
  });

  it("stops at a stop string and says so", async () => {
    const free = (await ask(client, { max_tokens: 40 })).choices[0]?.message.content ?? "";
    // A stop string taken from inside the free answer cuts it right before.
    const stop = free.slice(10, 13);
    const cut = await ask(client, { max_tokens: 40, stop: [stop] });
    expect(cut.choices[0]?.finish_reason).toBe("stop");
    expect(cut.choices[0]?.message.content).toBe(free.slice(0, free.indexOf(stop)));
  });

  it("honours top_p: a tiny nucleus is greedy, so any seed gives the same text", async () => {
    const [a, b] = [await ask(client, { top_p: 0.0001, seed: 1 }), await ask(client, { top_p: 0.0001, seed: 2 })];
    expect(a.choices[0]?.message.content).toBe(b.choices[0]?.message.content);
  });

  it("honours temperature 0 (greedy: the seed no longer matters) and the repetition penalties", async () => {
    const text = async (extra: Record<string, unknown>) => (await ask(client, extra)).choices[0]?.message.content;
    expect(await text({ temperature: 0, seed: 1 })).toBe(await text({ temperature: 0, seed: 2 }));
    const plain = await text({ max_tokens: 60 });
    expect(await text({ max_tokens: 60, frequency_penalty: 2 })).not.toBe(plain);
    expect(await text({ max_tokens: 60, presence_penalty: 2 })).not.toBe(plain);
  });

  it("refuses what the local engine cannot do, naming it", async () => {
    await expect(
      ask(client, { tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }] }),
    ).rejects.toMatchObject({ status: 400, code: "SY_ERR_REQUEST_UNTRANSLATABLE" });
    await expect(
      ask(client, { max_tokens: 10, messages: [{ role: "user", content: "the ".repeat(300) }] }),
    ).rejects.toMatchObject({
      status: 400,
      code: "SY_ERR_LOCAL_PROMPT_TOO_LONG",
    });
  });
});

describe("LoRA adapters", () => {
  it("with the same seed, base and base + adapter answer differently; scale 0 is the base", async () => {
    const base = (await ask(client, {}, "base")).choices[0]?.message.content;
    const tuned = (await ask(client, {}, "tuned")).choices[0]?.message.content;
    const off = (await ask(client, {}, "tuned-off")).choices[0]?.message.content;
    expect(tuned).not.toBe(base);
    expect(off).toBe(base);
    const rows = await gw.rows();
    expect(rows.slice(-3).map((r) => [r.variant, r.adapter])).toEqual([
      ["base", null],
      ["tuned", "a"],
      ["tuned-off", "a-off"],
    ]);
  });

  it("gives each tenant its own adapter on the shared base, when they call at the same time", async () => {
    const alone = {
      acme: (await ask(acme)).choices[0]?.message.content,
      globex: (await ask(globex)).choices[0]?.message.content,
      base: (await ask(client)).choices[0]?.message.content,
    };
    expect(new Set(Object.values(alone)).size).toBe(3);
    const together = await Promise.all([ask(acme), ask(globex), ask(acme), ask(globex)]);
    expect(together.map((r) => r.choices[0]?.message.content)).toEqual([
      alone.acme,
      alone.globex,
      alone.acme,
      alone.globex,
    ]);
    const rows = (await gw.rows()).slice(-4);
    expect(rows.map((r) => [r.tenant, r.adapter]).sort()).toEqual([
      ["acme", "a"],
      ["acme", "a"],
      ["globex", "b"],
      ["globex", "b"],
    ]);
  });

  it("lets a dataset export pick the answers of one adapter", async () => {
    const summary = async (query: string) =>
      (await (
        await fetch(`${gw.url}/v1/admin/datasets/sft/summary?${query}`, {
          headers: { authorization: `Bearer ${acmeKey}` },
        })
      ).json()) as { rows: number; duplicates_dropped: number };
    // acme's three answers above all ran with its adapter a (the same text: one row, two duplicates).
    expect(await summary("adapter=a")).toMatchObject({ rows: 1, duplicates_dropped: 2 });
    expect(await summary("adapter=b")).toMatchObject({ rows: 0, duplicates_dropped: 0 });
    expect(await summary("adapter=none")).toMatchObject({ rows: 0, duplicates_dropped: 0 });
  });
});

/**
 * The response cache over real HTTP: an exact repeat is answered from memory
 * (same body, no upstream call), replayed as a stream when asked, isolated per
 * tenant, never used for sampled requests unless the route says so, skipped
 * or refreshed by header, and counted in the log and the metrics.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chunksOf } from "../src/core/cached-answer.js";
import { type CachedAnswer, MemoryResponseCache } from "../src/server/response-cache.js";
import { createKey } from "../src/store/keys.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { toolCallCompletion } from "./fixtures/openai-answers.js";
import { startGateway, type TestGateway } from "./helpers.js";

let upstream: FakeOpenAI;
let gw: TestGateway;
let acme: string;
let globex: string;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  gw = await startGateway({
    backends: { fake: { type: "openai", baseUrl: upstream.url, prices: { "fake-model": { input: 1, output: 2 } } } },
    routes: {
      cached: { cache: true, variants: [{ name: "a", backend: "fake", model: "fake-model" }] },
      sampled: {
        cache: { sampling: true, ttlMs: 60_000 },
        variants: [{ name: "a", backend: "fake", model: "fake-model" }],
      },
      plain: { variants: [{ name: "a", backend: "fake", model: "fake-model" }] },
    },
    tenants: { acme: { routes: "*" }, globex: { routes: "*" } },
  });
  acme = (await createKey(gw.gateway.db, { tenant: "acme", role: "app" })).key;
  globex = (await createKey(gw.gateway.db, { tenant: "globex", role: "app" })).key;
  await gw.gateway.keys.refresh();
});

afterAll(async () => {
  await gw.shutdown();
  await upstream.close();
});

async function chat(body: Record<string, unknown>, key = acme, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}`, ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    cache: res.headers.get("x-switchyard-cache"),
    backend: res.headers.get("x-switchyard-backend"),
    id: res.headers.get("x-switchyard-request-id"),
    text: await res.text(),
  };
}

const question = (content: string, extra: Record<string, unknown> = {}) => ({
  model: "cached",
  temperature: 0,
  messages: [{ role: "user", content }],
  ...extra,
});

describe("the response cache", () => {
  it("answers an exact repeat from memory with the same body, logged as a hit that cost nothing", async () => {
    upstream.script.push({ kind: "ok", content: "forty two" });
    const first = await chat(question("The answer?"));
    const calls = upstream.requests.length;
    // Another key order and another user: the same request as far as the answer goes.
    const again = await chat({
      messages: [{ content: "The answer?", role: "user" }],
      temperature: 0,
      model: "cached",
      user: "bob",
    });
    expect(first.cache).toBe("miss");
    expect(again.cache).toBe("hit");
    expect(again.text).toBe(first.text);
    expect([first.backend, again.backend]).toEqual(["fake", null]);
    expect(upstream.requests.length).toBe(calls);
    const rows = await gw.rows();
    const hit = rows.find((r) => r.id === again.id);
    expect(hit).toMatchObject({
      cache_hit: 1,
      cost_usd: 0,
      backend: null,
      status: 200,
      input_tokens: 11,
      output_tokens: 2,
    });
    expect(rows.find((r) => r.id === first.id)).toMatchObject({ cache_hit: 0, backend: "fake" });
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/switchyard_cache_lookups_total\{route="cached",result="hit"\} 1/);
    expect(metrics).toMatch(/switchyard_cache_entries [1-9]/);
  });

  it("replays a cached answer as a stream when the client streams, tool calls included", async () => {
    upstream.script.push({ kind: "raw", body: toolCallCompletion("call_7", "get_weather", '{"city":"Oslo"}') });
    const body = question("Weather in Oslo?", {
      tools: [{ type: "function", function: { name: "get_weather", parameters: {} } }],
    });
    await chat(body);
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: acme, maxRetries: 0 });
    const params = { ...body, stream: true } as unknown as OpenAI.Chat.ChatCompletionCreateParamsStreaming;
    const final = await client.chat.completions.stream(params).finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === "function" && [call.id, call.function.name, call.function.arguments]).toEqual([
      "call_7",
      "get_weather",
      '{"city":"Oslo"}',
    ]);
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    expect((await gw.rows()).at(-1)).toMatchObject({ cache_hit: 1, stream: 1 });
  });

  it("caches a streamed answer, and answers it whole to a client that does not stream", async () => {
    upstream.script.push({ kind: "ok", content: "streamed once" });
    const streamed = await chat(question("Stream it", { stream: true }));
    expect(streamed.cache).toBe("miss");
    expect(streamed.text).toContain("[DONE]");
    const whole = await chat(question("Stream it"));
    expect(whole.cache).toBe("hit");
    expect(JSON.parse(whole.text).choices[0].message.content).toBe("streamed once");
  });

  it("serves a cached chat answer through the Responses API, which asks the same chat request", async () => {
    upstream.script.push({ kind: "ok", content: "one answer, two APIs" });
    await chat(question("Across APIs?"));
    const calls = upstream.requests.length;
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${acme}` },
      body: JSON.stringify({ model: "cached", temperature: 0, input: "Across APIs?", store: false }),
    });
    expect(res.headers.get("x-switchyard-cache")).toBe("hit");
    expect(
      ((await res.json()) as { output_text?: string; output: { content: { text: string }[] }[] }).output[0]?.content[0]
        ?.text,
    ).toBe("one answer, two APIs");
    expect(upstream.requests.length).toBe(calls);
  });

  it("keeps tenants apart", async () => {
    await chat(question("Tenant secret?"));
    expect((await chat(question("Tenant secret?"), globex)).cache).toBe("miss");
  });

  it("does not cache sampled requests unless the route says so", async () => {
    expect((await chat({ model: "cached", messages: [{ role: "user", content: "Poem" }] })).cache).toBe("sampled");
    expect((await chat({ model: "cached", messages: [{ role: "user", content: "Poem" }] })).cache).toBe("sampled");
    const sampledRoute = { model: "sampled", temperature: 0.9, messages: [{ role: "user", content: "Poem" }] };
    expect((await chat(sampledRoute)).cache).toBe("miss");
    expect((await chat(sampledRoute)).cache).toBe("hit");
    expect((await chat({ ...sampledRoute, model: "plain" })).cache).toBeNull();
  });

  it("is skipped with x-switchyard-cache: bypass and renewed with refresh", async () => {
    upstream.script.push({ kind: "ok", content: "old" });
    await chat(question("Renew me"));
    const bypass = await chat(question("Renew me"), acme, { "x-switchyard-cache": "bypass" });
    expect(bypass.cache).toBe("bypass");
    upstream.script.push({ kind: "ok", content: "new" });
    const refresh = await chat(question("Renew me"), acme, { "x-switchyard-cache": "refresh" });
    expect(refresh.cache).toBe("refresh");
    const after = await chat(question("Renew me"));
    expect(after.cache).toBe("hit");
    expect(JSON.parse(after.text).choices[0].message.content).toBe("new");
    const bad = await chat(question("Renew me"), acme, { "x-switchyard-cache": "please" });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error).toMatchObject({
      code: "SY_ERR_REQUEST_INVALID_HEADER",
      param: "x-switchyard-cache",
    });
  });

  it("does not keep failed answers", async () => {
    upstream.script.push({ kind: "status", status: 400 });
    expect((await chat(question("Fails"))).status).toBe(400);
    expect((await chat(question("Fails"))).cache).toBe("miss");
  });
});

describe("chunksOf", () => {
  it("replays a completion as role, text, finish and usage chunks", () => {
    const chunks = chunksOf({
      id: "c",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [{ index: 0, message: { role: "assistant", content: "Hi" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    });
    expect(chunks.map((c) => [c.choices[0]?.delta ?? null, c.choices[0]?.finish_reason ?? null])).toEqual([
      [{ role: "assistant", content: "" }, null],
      [{ content: "Hi" }, null],
      [{}, "stop"],
      [null, null],
    ]);
    expect(chunks[3]?.usage).toEqual({ prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 });
  });
});

describe("MemoryResponseCache", () => {
  const answer = (content: string) => ({
    kind: "chat" as const,
    completion: {
      id: content,
      object: "chat.completion" as const,
      created: 1,
      model: "m",
      choices: [{ index: 0, message: { role: "assistant" as const, content }, finish_reason: "stop" as const }],
    },
  });
  const idOf = (a: CachedAnswer | undefined) => (a?.kind === "chat" ? a.completion.id : undefined);

  it("lets the least recently used go past its entry and byte bounds, and forgets expired answers", () => {
    const cache = new MemoryResponseCache({ maxEntries: 2, maxBytes: 100 });
    cache.set("a", answer("a"), 10, 1000, 0);
    cache.set("b", answer("b"), 10, 1000, 0);
    expect(idOf(cache.get("a", 1))).toBe("a"); // a is now the most recent
    cache.set("c", answer("c"), 10, 1000, 1);
    expect([idOf(cache.get("a", 2)), idOf(cache.get("b", 2)), idOf(cache.get("c", 2))]).toEqual(["a", undefined, "c"]);
    cache.set("big", answer("big"), 95, 1000, 3);
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBe(95);
    cache.set("huge", answer("huge"), 101, 1000, 3);
    expect(cache.get("huge", 4)).toBeUndefined();
    expect(cache.get("big", 1004)).toBeUndefined();
    expect(cache.bytes).toBe(0);
  });
});

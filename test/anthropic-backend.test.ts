import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AnthropicBackend, type AnthropicBackendOptions } from "../src/backends/anthropic/index.js";
import type { BackendCallContext, ChatResult, StreamChunk } from "../src/backends/types.js";
import type { ChatRequest } from "../src/core/openai-types.js";
import { SwitchyardError } from "../src/errors.js";
import { type FakeAnthropic, startFakeAnthropic } from "./fixtures/fake-anthropic.js";

// Not shaped like a typical key, so only the configured-secret redaction can hide it.
const API_KEY = "anthropic-test-secret-Zq81xT";

let fake: FakeAnthropic;
const backends: AnthropicBackend[] = [];

function backend(extra: Partial<AnthropicBackendOptions> = {}): AnthropicBackend {
  const b = new AnthropicBackend({
    backend: "claude",
    baseUrl: fake.url,
    apiKey: API_KEY,
    defaultMaxTokens: 512,
    connectTimeoutMs: 2000,
    maxConnections: 4,
    secrets: [],
    ...extra,
  });
  backends.push(b);
  return b;
}

const ctx = (signal: AbortSignal = AbortSignal.timeout(5000)): BackendCallContext => ({ signal, requestId: "req-1" });

const chatBody = (extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "claude-sonnet-4-5-20250929",
  messages: [
    { role: "system", content: "You are a greeter." },
    { role: "user", content: "Say hello." },
  ],
  ...extra,
});

function streamOf(result: ChatResult): AsyncIterable<StreamChunk> {
  if (result.kind !== "stream") throw new Error(`expected a stream, got ${result.kind}`);
  return result.events;
}

async function rejection(p: Promise<unknown>): Promise<SwitchyardError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SwitchyardError);
    return e as SwitchyardError;
  }
  throw new Error("expected a rejection");
}

beforeAll(async () => {
  fake = await startFakeAnthropic();
});
afterEach(async () => {
  fake.reset();
  await Promise.all(backends.splice(0).map((b) => b.close()));
});
afterAll(async () => {
  await fake.close();
});

describe("AnthropicBackend against a fake Anthropic over loopback", () => {
  it("answers a non-streaming chat as a chat.completion with usage", async () => {
    fake.behaviour.usage = { input_tokens: 30, output_tokens: 4, cache_read_input_tokens: 10 };
    const result = await backend().chat(chatBody({ temperature: 0.5 }), ctx());
    expect(result.kind).toBe("json");
    if (result.kind !== "json") return;
    expect(result.body.choices[0]?.message.content).toBe("Hello, world!");
    expect(result.body.choices[0]?.finish_reason).toBe("stop");
    expect(result.body.model).toBe("claude-sonnet-4-5-20250929");
    expect(result.body.usage).toMatchObject({ prompt_tokens: 40, completion_tokens: 4, total_tokens: 44 });

    expect(fake.last?.method).toBe("POST");
    expect(fake.last?.path).toBe("/v1/messages");
    expect(fake.last?.headers["x-api-key"]).toBe(API_KEY);
    expect(fake.last?.headers["anthropic-version"]).toBe("2023-06-01");
    expect(fake.last?.headers.authorization).toBeUndefined();
    expect(fake.last?.body).toEqual({
      model: "claude-sonnet-4-5-20250929",
      system: "You are a greeter.",
      messages: [{ role: "user", content: "Say hello." }],
      max_tokens: 512,
      temperature: 0.5,
    });
  });

  it("sends a configured anthropic-version, extra headers and a base path prefix", async () => {
    const b = backend({
      baseUrl: `${fake.url}/proxy/`,
      anthropicVersion: "2024-01-01",
      headers: { "anthropic-beta": "x" },
    });
    await b.chat(chatBody(), ctx());
    expect(fake.last?.path).toBe("/proxy/v1/messages");
    expect(fake.last?.headers["anthropic-version"]).toBe("2024-01-01");
    expect(fake.last?.headers["anthropic-beta"]).toBe("x");
  });

  it("streams text as chat.completion.chunks ending with finish_reason and a usage chunk", async () => {
    fake.behaviour.stopReason = "max_tokens";
    const chunks: StreamChunk[] = [];
    for await (const c of streamOf(await backend().chat(chatBody({ stream: true }), ctx()))) chunks.push(c);

    expect(fake.last?.body).toMatchObject({ stream: true });
    expect(chunks[0]?.chunk.choices[0]?.delta.role).toBe("assistant");
    expect(chunks.map((c) => c.chunk.choices[0]?.delta.content ?? "").join("")).toBe("Hello, world!");
    expect(chunks.at(-2)?.chunk.choices[0]?.finish_reason).toBe("length");
    const last = chunks.at(-1)?.chunk;
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual({ prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 });
    expect(new Set(chunks.map((c) => c.chunk.id)).size).toBe(1);
    for (const c of chunks) expect(JSON.parse(c.text)).toEqual(c.chunk);
  });

  it("maps 529 overloaded to a retryable upstream status error", async () => {
    fake.behaviour.failWith = { status: 529, type: "overloaded_error", message: "Overloaded" };
    const err = await rejection(backend().chat(chatBody(), ctx()));
    expect(err.code).toBe("SY_ERR_UPSTREAM_STATUS");
    expect(err.status).toBe(502);
    expect(err.retryable).toBe(true);
    expect(err.message).toContain("HTTP 529");
    expect(err.message).toContain("Overloaded");
  });

  it("maps 400 to a rejected request carrying Anthropic's message", async () => {
    fake.behaviour.failWith = {
      status: 400,
      type: "invalid_request_error",
      message: "max_tokens: 999999 > 64000, which is the maximum allowed",
    };
    const err = await rejection(backend().chat(chatBody({ max_tokens: 999_999 }), ctx()));
    expect(err.code).toBe("SY_ERR_UPSTREAM_REJECTED");
    expect(err.status).toBe(400);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain("max_tokens: 999999 > 64000");
  });

  it("maps 429 to rate limiting with the retry-after delay", async () => {
    fake.behaviour.failWith = { status: 429, type: "rate_limit_error", message: "Slow down", retryAfter: "7" };
    const err = await rejection(backend().chat(chatBody(), ctx()));
    expect(err.code).toBe("SY_ERR_UPSTREAM_RATE_LIMITED");
    expect(err.retryAfterMs).toBe(7000);
  });

  it("refuses an untranslatable request with a 400 before calling Anthropic", async () => {
    const err = await rejection(backend().chat(chatBody({ seed: 7 }), ctx()));
    expect(err.status).toBe(400);
    expect(err.code).toBe("SY_ERR_REQUEST_UNTRANSLATABLE");
    expect(err.message).toContain("'seed'");
    expect(fake.count).toBe(0);
  });

  it("throws upstreamStreamBroken on a mid-stream error event, after yielding the earlier chunks", async () => {
    fake.behaviour.errorEventAfter = { deltas: 2, type: "overloaded_error", message: "Overloaded" };
    const contents: string[] = [];
    const err = await rejection(
      (async () => {
        for await (const c of streamOf(await backend().chat(chatBody({ stream: true }), ctx()))) {
          contents.push(c.chunk.choices[0]?.delta.content ?? "");
        }
      })(),
    );
    expect(contents).toEqual(["", "Hello", ", world"]);
    expect(err.code).toBe("SY_ERR_UPSTREAM_STREAM_BROKEN");
    expect(err.message).toContain("Overloaded");
  });

  it("throws upstreamStreamBroken when the stream stops before message_stop", async () => {
    fake.behaviour.endAfterDeltas = 1;
    const err = await rejection(
      (async () => {
        for await (const _ of streamOf(await backend().chat(chatBody({ stream: true }), ctx()))) {
          // drain
        }
      })(),
    );
    expect(err.code).toBe("SY_ERR_UPSTREAM_STREAM_BROKEN");
  });

  it("releases the connection when the consumer stops reading a stalled stream early", async () => {
    const b = backend({ maxConnections: 1 });
    fake.behaviour.stallAfterDeltas = 1;
    for await (const c of streamOf(await b.chat(chatBody({ stream: true }), ctx()))) {
      if (c.chunk.choices[0]?.delta.content === "Hello") break;
    }
    fake.behaviour.stallAfterDeltas = undefined;
    // With one connection, this call only gets through if the stalled one was let go.
    const result = await b.chat(chatBody(), ctx(AbortSignal.timeout(2000)));
    expect(result.kind).toBe("json");
  });

  it("rethrows the abort reason when the call's signal aborts mid-stream", async () => {
    fake.behaviour.stallAfterDeltas = 1;
    const controller = new AbortController();
    const reason = new SwitchyardError(
      { code: "SY_ERR_TEST_ABORT", status: 499, type: "api_error" },
      "client went away",
    );
    const events = streamOf(await backend().chat(chatBody({ stream: true }), ctx(controller.signal)));
    const err = await rejection(
      (async () => {
        for await (const c of events) if (c.chunk.choices[0]?.delta.content === "Hello") controller.abort(reason);
      })(),
    );
    expect(err).toBe(reason);
  });

  it("never puts the API key in an error message", async () => {
    const leaky = `invalid x-api-key: ${API_KEY}`;
    const messages: string[] = [];
    for (const status of [400, 401, 529]) {
      fake.behaviour.failWith = { status, type: "invalid_request_error", message: leaky };
      const err = await rejection(backend().chat(chatBody(), ctx()));
      messages.push(err.message, JSON.stringify(err.toJSON()));
    }
    fake.behaviour.failWith = undefined;
    fake.behaviour.errorEventAfter = { deltas: 1, type: "api_error", message: leaky };
    const err = await rejection(
      (async () => {
        for await (const _ of streamOf(await backend().chat(chatBody({ stream: true }), ctx()))) {
          // drain
        }
      })(),
    );
    messages.push(err.message);
    expect(messages.join("\n")).not.toContain(API_KEY);
    expect(messages.join("\n")).toContain("[redacted]");
  });

  it("lists models across pages of GET /v1/models", async () => {
    fake.behaviour.modelsPageSize = 2;
    const ids = await backend().listModels(AbortSignal.timeout(5000));
    expect(ids).toEqual(["claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-3-5-haiku-20241022"]);
    expect(fake.last?.path).toBe("/v1/models");
    expect(fake.last?.headers["x-api-key"]).toBe(API_KEY);
  });
});

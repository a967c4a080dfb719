import { describe, expect, it } from "vitest";
import { toAnthropicRequest } from "../src/backends/anthropic/request.js";
import { fromAnthropicMessage, toFinishReason } from "../src/backends/anthropic/response.js";
import { toOpenAIChunks } from "../src/backends/anthropic/stream.js";
import type { AnthropicMessage, AnthropicStreamEvent } from "../src/backends/anthropic/types.js";
import type { SseEvent } from "../src/backends/sse.js";
import type { StreamChunk } from "../src/backends/types.js";
import type { ChatRequest } from "../src/core/openai-types.js";
import { SwitchyardError } from "../src/errors.js";

const opts = { defaultMaxTokens: 1024 };
const req = (extra: Partial<ChatRequest> & Record<string, unknown> = {}): ChatRequest => ({
  model: "claude-sonnet-4-5",
  messages: [{ role: "user", content: "Hello" }],
  ...extra,
});

function refusal(body: ChatRequest): SwitchyardError {
  try {
    toAnthropicRequest(body, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(SwitchyardError);
    return e as SwitchyardError;
  }
  throw new Error("expected the request to be refused");
}

describe("toAnthropicRequest", () => {
  it("moves system and developer messages to the top-level system prompt", () => {
    const out = toAnthropicRequest(
      req({
        messages: [
          { role: "system", content: "You are terse." },
          { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
          { role: "user", content: "What is the capital of Italy?" },
        ],
      }),
      opts,
    );
    expect(out.system).toBe("You are terse.\n\nAnswer in French.");
    expect(out.messages).toEqual([{ role: "user", content: "What is the capital of Italy?" }]);
  });

  it("merges consecutive same-role messages so turns alternate", () => {
    const out = toAnthropicRequest(
      req({
        messages: [
          { role: "user", content: "First question." },
          { role: "user", content: [{ type: "text", text: "Second part." }] },
          { role: "assistant", content: "An answer." },
          { role: "assistant", content: null },
          { role: "system", content: "Be kind." },
          { role: "assistant", content: "More answer." },
          { role: "user", content: "Thanks" },
        ],
      }),
      opts,
    );
    expect(out.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "First question." },
          { type: "text", text: "Second part." },
        ],
      },
      {
        role: "assistant",
        content: [
          { type: "text", text: "An answer." },
          { type: "text", text: "More answer." },
        ],
      },
      { role: "user", content: "Thanks" },
    ]);
    expect(out.system).toBe("Be kind.");
  });

  it("translates sampling parameters, stop sequences, stream and user", () => {
    const out = toAnthropicRequest(
      req({ max_tokens: 300, temperature: 0.2, top_p: 0.9, stop: "\n\nHuman:", stream: true, user: "user-42" }),
      opts,
    );
    expect(out).toEqual({
      model: "claude-sonnet-4-5",
      messages: [{ role: "user", content: "Hello" }],
      max_tokens: 300,
      temperature: 0.2,
      top_p: 0.9,
      stop_sequences: ["\n\nHuman:"],
      stream: true,
      metadata: { user_id: "user-42" },
    });
    expect(toAnthropicRequest(req({ stop: ["END", "STOP"] }), opts).stop_sequences).toEqual(["END", "STOP"]);
  });

  it("prefers max_completion_tokens and falls back to the configured default", () => {
    expect(toAnthropicRequest(req({ max_tokens: 100, max_completion_tokens: 200 }), opts).max_tokens).toBe(200);
    expect(toAnthropicRequest(req(), opts).max_tokens).toBe(1024);
    expect(toAnthropicRequest(req({ max_tokens: null }), opts).max_tokens).toBe(1024);
  });

  it("accepts the default values SDKs send for fields Anthropic lacks", () => {
    const out = toAnthropicRequest(
      req({
        n: 1,
        logprobs: false,
        tools: [],
        tool_choice: null,
        response_format: { type: "text" },
        frequency_penalty: 0,
        presence_penalty: 0,
        seed: null,
        stream_options: { include_usage: true },
      }),
      opts,
    );
    expect(out).toEqual({
      model: "claude-sonnet-4-5",
      messages: [{ role: "user", content: "Hello" }],
      max_tokens: 1024,
    });
  });

  it.each([
    ["n > 1", req({ n: 3 }), "'n' above 1"],
    ["logprobs", req({ logprobs: true, top_logprobs: 3 }), "'logprobs'"],
    ["seed", req({ seed: 7 }), "'seed'"],
    ["an unknown field", req({ frobnicate: true }), "'frobnicate'"],
    ["temperature above 1", req({ temperature: 1.5 }), "'temperature' above 1"],
    [
      "an audio part",
      req({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "What is this?" },
              { type: "input_audio", input_audio: { data: "AAAA", format: "wav" } },
            ],
          },
        ],
      }),
      "'input_audio' content parts here (messages[0].content[1]",
    ],
    ["a message name", req({ messages: [{ role: "user", content: "Hi", name: "alice" }] }), "messages[0].name"],
  ])("refuses %s with a 400 naming the field", (_label, body, named) => {
    const err = refusal(body);
    expect(err.status).toBe(400);
    expect(err.code).toBe("SY_ERR_REQUEST_UNTRANSLATABLE");
    expect(err.message).toContain("anthropic");
    expect(err.message).toContain(named);
  });

  it("refuses a conversation with only system messages", () => {
    const err = refusal(req({ messages: [{ role: "system", content: "You are terse." }] }));
    expect(err.status).toBe(400);
    expect(err.message).toContain("without a user message");
  });
});

const message: AnthropicMessage = {
  id: "msg_013Zva2CMHLNnXjNJJKqJ2EF",
  type: "message",
  role: "assistant",
  model: "claude-sonnet-4-5-20250929",
  content: [
    { type: "thinking", thinking: "The user wants a greeting.", signature: "EqQB..." },
    { type: "text", text: "Bonjour" },
    { type: "text", text: " le monde." },
  ],
  stop_reason: "end_turn",
  stop_sequence: null,
  usage: { input_tokens: 12, output_tokens: 6, cache_creation_input_tokens: 100, cache_read_input_tokens: 2000 },
};

describe("fromAnthropicMessage", () => {
  it("answers a chat.completion with the joined text and usage including cached prompt tokens", () => {
    expect(fromAnthropicMessage(message, 1_700_000_000)).toEqual({
      id: "msg_013Zva2CMHLNnXjNJJKqJ2EF",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "claude-sonnet-4-5-20250929",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Bonjour le monde." },
          finish_reason: "stop",
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: 2112,
        completion_tokens: 6,
        total_tokens: 2118,
        prompt_tokens_details: { cached_tokens: 2000 },
      },
    });
  });

  it.each([
    ["end_turn", "stop"],
    ["stop_sequence", "stop"],
    ["max_tokens", "length"],
    ["tool_use", "tool_calls"],
    ["refusal", "content_filter"],
  ])("maps stop_reason %s to finish_reason %s", (stop, finish) => {
    expect(toFinishReason(stop)).toBe(finish);
    expect(fromAnthropicMessage({ ...message, stop_reason: stop }).choices[0]?.finish_reason).toBe(finish);
  });
});

const sse = (...events: AnthropicStreamEvent[]): SseEvent[] =>
  events.map((e) => ({ event: e.type, data: JSON.stringify(e) }));

async function* iterate(events: SseEvent[]): AsyncGenerator<SseEvent> {
  yield* events;
}

async function collect(events: SseEvent[]): Promise<{ chunks: StreamChunk[]; error?: SwitchyardError }> {
  const chunks: StreamChunk[] = [];
  try {
    for await (const c of toOpenAIChunks(iterate(events), { backend: "claude", secrets: [], created: 1_700_000_000 })) {
      chunks.push(c);
    }
    return { chunks };
  } catch (e) {
    return { chunks, error: e as SwitchyardError };
  }
}

const start: AnthropicStreamEvent = {
  type: "message_start",
  message: { ...message, content: [], stop_reason: null, usage: { input_tokens: 25, output_tokens: 1 } },
};
const delta = (text: string): AnthropicStreamEvent => ({
  type: "content_block_delta",
  index: 0,
  delta: { type: "text_delta", text },
});

describe("toOpenAIChunks", () => {
  it("streams role, text deltas, finish reason and a final usage chunk with the same id", async () => {
    const { chunks, error } = await collect(
      sse(
        start,
        { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
        { type: "ping" },
        delta("Hello"),
        delta("!"),
        { type: "content_block_stop", index: 0 },
        {
          type: "message_delta",
          delta: { stop_reason: "max_tokens", stop_sequence: null },
          usage: { output_tokens: 15 },
        },
        { type: "message_stop" },
      ),
    );
    expect(error).toBeUndefined();
    expect(chunks.map((c) => c.chunk.choices[0]?.delta ?? null)).toEqual([
      { role: "assistant", content: "" },
      { content: "Hello" },
      { content: "!" },
      {},
      null,
    ]);
    expect(chunks[3]?.chunk.choices[0]?.finish_reason).toBe("length");
    expect(chunks[4]?.chunk.choices).toEqual([]);
    expect(chunks[4]?.chunk.usage).toEqual({ prompt_tokens: 25, completion_tokens: 15, total_tokens: 40 });
    for (const c of chunks) {
      expect(c.text).toBe(JSON.stringify(c.chunk));
      expect(c.chunk).toMatchObject({
        id: "msg_013Zva2CMHLNnXjNJJKqJ2EF",
        object: "chat.completion.chunk",
        created: 1_700_000_000,
        model: "claude-sonnet-4-5-20250929",
      });
    }
  });

  it("throws upstreamStreamBroken with the upstream's message on an error event, after the earlier chunks", async () => {
    const { chunks, error } = await collect(
      sse(start, delta("Partial"), { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }),
    );
    expect(chunks.map((c) => c.chunk.choices[0]?.delta.content)).toEqual(["", "Partial"]);
    expect(error?.code).toBe("SY_ERR_UPSTREAM_STREAM_BROKEN");
    expect(error?.message).toContain("Overloaded");
  });

  it("throws upstreamStreamBroken when the stream ends without message_stop", async () => {
    const { chunks, error } = await collect(sse(start, delta("Cut")));
    expect(chunks).toHaveLength(2);
    expect(error?.code).toBe("SY_ERR_UPSTREAM_STREAM_BROKEN");
    expect(error?.message).toContain("message_stop");
  });

  it("throws upstreamProtocol on malformed JSON or content before message_start", async () => {
    const bad = await collect([
      ...sse(start),
      { event: "content_block_delta", data: '{"type": "content_block_delta", ' },
    ]);
    expect(bad.error?.code).toBe("SY_ERR_UPSTREAM_PROTOCOL");
    const early = await collect(sse(delta("orphan")));
    expect(early.error?.code).toBe("SY_ERR_UPSTREAM_PROTOCOL");
  });
});

/**
 * Everything a client sends to chat completions reaches an OpenAI-compatible
 * upstream unchanged (only `model` is replaced, and a stream asks for usage),
 * and what the upstream answers (tool calls, several choices, logprobs) comes
 * back unchanged, with the official openai SDK on both ends of the test.
 * Answer shapes follow OpenAI's chat completions API reference and its function
 * calling guide (platform.openai.com/docs/api-reference/chat/object,
 * /docs/api-reference/chat/streaming, /docs/guides/function-calling).
 */
import OpenAI from "openai";
import type { ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { chunk, usageChunk } from "./fixtures/openai-answers.js";
import { startGateway, type TestGateway } from "./helpers.js";

let upstream: FakeOpenAI;
let gw: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  gw = await startGateway({
    auth: { required: false },
    backends: { fake: { type: "openai", baseUrl: upstream.url, apiKey: "sk-upstream" } },
    routes: { chat: { variants: [{ name: "a", backend: "fake", model: "fake-model" }] } },
  });
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await gw.shutdown();
  await upstream.close();
});

const weather = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    strict: true,
  },
};

/** Every field of issue 10's list, and one OpenAI has not invented yet. */
const everything = {
  model: "chat",
  messages: [
    { role: "developer", content: "Answer briefly." },
    {
      role: "user",
      content: [
        { type: "text", text: "Weather where this photo was taken?" },
        { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" } },
      ],
    },
    {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }],
    },
    { role: "tool", tool_call_id: "call_1", content: "3°C, snow" },
  ],
  tools: [weather],
  tool_choice: { type: "function", function: { name: "get_weather" } },
  parallel_tool_calls: false,
  response_format: {
    type: "json_schema",
    json_schema: { name: "w", strict: true, schema: { type: "object", properties: { c: { type: "number" } } } },
  },
  n: 2,
  logprobs: true,
  top_logprobs: 2,
  seed: 42,
  stop: ["END"],
  temperature: 0.3,
  max_completion_tokens: 64,
  user: "u-1",
  metadata: { team: "search" },
  future_parameter: { nested: [1, "two", null] },
} as unknown as ChatCompletionCreateParamsNonStreaming;

const completionWithToolCalls = {
  id: "chatcmpl-abc",
  object: "chat.completion",
  created: 1_741_569_952,
  model: "fake-model",
  choices: [
    {
      index: 0,
      message: {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
          { id: "call_b", type: "function", function: { name: "get_weather", arguments: '{"city":"Bergen"}' } },
        ],
        refusal: null,
      },
      logprobs: { content: [{ token: "x", logprob: -0.1, bytes: [120], top_logprobs: [] }], refusal: null },
      finish_reason: "tool_calls",
    },
    { index: 1, message: { role: "assistant", content: "It snows." }, logprobs: null, finish_reason: "stop" },
  ],
  usage: { prompt_tokens: 40, completion_tokens: 20, total_tokens: 60 },
  system_fingerprint: "fp_123",
};

describe("chat completions pass through to an OpenAI-compatible upstream", () => {
  it("sends every field unchanged but the model, and returns the answer unchanged", async () => {
    upstream.script.push({ kind: "raw", body: JSON.stringify(completionWithToolCalls) });
    const res = await client.chat.completions.create(everything);
    const { model, ...rest } = everything as unknown as Record<string, unknown>;
    expect(model).toBe("chat");
    expect(upstream.requests.at(-1)?.body).toEqual({ ...rest, model: "fake-model" });
    expect(res).toEqual(completionWithToolCalls);
  });

  it("streams tool-call deltas through as they came, and the SDK assembles them", async () => {
    upstream.script.push({
      kind: "sse",
      events: [
        chunk({ role: "assistant", content: null }),
        chunk({
          tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "get_weather", arguments: "" } }],
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Oslo"}' } }] }),
        chunk({}, "tool_calls"),
        usageChunk(40, 9),
      ],
    });
    const stream = client.chat.completions.stream({
      model: "chat",
      messages: [{ role: "user", content: "Weather in Oslo?" }],
      tools: [weather],
      stream_options: { include_usage: true },
    });
    const final = await stream.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === "function" && [call.id, call.function.name, call.function.arguments]).toEqual([
      "call_a",
      "get_weather",
      '{"city":"Oslo"}',
    ]);
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    expect(final.usage?.total_tokens).toBe(49);
    const sent = upstream.requests.at(-1)?.body;
    expect(sent?.tools).toEqual([weather]);
    expect(sent?.stream_options).toEqual({ include_usage: true });
    const row = (await gw.rows()).at(-1);
    expect(row).toMatchObject({ finish_reason: "tool_calls", input_tokens: 40, output_tokens: 9 });
  });
});

/**
 * POST /v1/messages: the official @anthropic-ai/sdk pointed at Switchyard by
 * base URL only (its key in x-api-key), served by an OpenAI-compatible route and
 * by an Anthropic one, streaming and tools included, errors in Anthropic's shape.
 */
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKey } from "../src/store/keys.js";
import { type FakeAnthropic, startFakeAnthropic } from "./fixtures/fake-anthropic.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { chunk, toolCallCompletion, usageChunk } from "./fixtures/openai-answers.js";
import { startGateway, type TestGateway } from "./helpers.js";

let upstream: FakeOpenAI;
let claude: FakeAnthropic;
let gw: TestGateway;
let client: Anthropic;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  claude = await startFakeAnthropic();
  gw = await startGateway({
    backends: {
      fake: { type: "openai", baseUrl: upstream.url, prices: { "fake-model": { input: 1, output: 2 } } },
      claude: { type: "anthropic", baseUrl: claude.url, apiKey: "anthropic-upstream-key-0123" },
    },
    routes: {
      assistant: { variants: [{ name: "a", backend: "fake", model: "fake-model" }] },
      claude: { variants: [{ name: "sonnet", backend: "claude", model: "claude-sonnet-4-5" }] },
      other: { variants: [{ name: "a", backend: "fake", model: "fake-model" }] },
    },
    tenants: { acme: { routes: ["assistant", "claude"] } },
  });
  const key = (await createKey(gw.gateway.db, { tenant: "acme", role: "app" })).key;
  await gw.gateway.keys.refresh();
  client = new Anthropic({ baseURL: gw.url, apiKey: key, maxRetries: 0 });
});

afterAll(async () => {
  await gw.shutdown();
  await Promise.all([upstream.close(), claude.close()]);
});

describe("the Anthropic SDK through Switchyard to an OpenAI-compatible route", () => {
  it("creates a message, logged with endpoint messages", async () => {
    const { data, response } = await client.messages
      .create({
        model: "assistant",
        max_tokens: 256,
        system: "Be brief.",
        messages: [{ role: "user", content: "Say hello" }],
        metadata: { user_id: "u-9" },
      })
      .withResponse();
    expect(data.content).toEqual([{ type: "text", text: "Hello from the fake upstream" }]);
    expect(data.stop_reason).toBe("end_turn");
    expect(data.usage).toMatchObject({ input_tokens: 11, output_tokens: 5 });
    const requestId = response.headers.get("x-switchyard-request-id");
    expect(data.id).toBe(`msg_${requestId?.slice(4)}`);
    expect(upstream.requests.at(-1)?.body).toEqual({
      model: "fake-model",
      max_tokens: 256,
      user: "u-9",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Say hello" },
      ],
    });
    const row = (await gw.rows()).find((r) => r.id === requestId);
    expect(row).toMatchObject({
      endpoint: "messages",
      route: "assistant",
      tenant: "acme",
      user_id: "u-9",
      status: 200,
    });
    expect(row?.cost_usd).toBeCloseTo((11 * 1 + 5 * 2) / 1e6, 12);
  });

  it("streams text as Anthropic events the SDK assembles, with usage from the upstream's last chunk", async () => {
    const stream = client.messages.stream({
      model: "assistant",
      max_tokens: 256,
      messages: [{ role: "user", content: "Say hello" }],
    });
    const texts: string[] = [];
    stream.on("text", (t) => texts.push(t));
    const final = await stream.finalMessage();
    expect(texts.join("")).toBe("Hello from the fake upstream");
    expect(texts.length).toBeGreaterThan(1);
    expect(final.content).toEqual([{ type: "text", text: "Hello from the fake upstream" }]);
    expect(final.stop_reason).toBe("end_turn");
    expect(final.usage).toMatchObject({ input_tokens: 11, output_tokens: 5 });
    // The gateway asked the upstream to stream with usage, as for chat completions.
    expect(upstream.requests.at(-1)?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("answers tool calls as tool_use blocks, whole and streamed", async () => {
    const tools: Anthropic.Tool[] = [
      { name: "get_weather", input_schema: { type: "object", properties: { city: { type: "string" } } } },
    ];
    upstream.script.push({ kind: "raw", body: toolCallCompletion("call_1", "get_weather", '{"city":"Oslo"}') });
    const whole = await client.messages.create({
      model: "assistant",
      max_tokens: 100,
      tools,
      messages: [{ role: "user", content: "Weather in Oslo?" }],
    });
    expect(whole.content).toEqual([{ type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Oslo" } }]);
    expect(whole.stop_reason).toBe("tool_use");

    upstream.script.push({
      kind: "sse",
      events: [
        chunk({ role: "assistant", content: "" }),
        chunk({ content: "Let me look." }),
        chunk({
          tool_calls: [{ index: 0, id: "call_2", type: "function", function: { name: "get_weather", arguments: "" } }],
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '"Rome"}' } }] }),
        chunk({}, "tool_calls"),
        usageChunk(30, 12),
      ],
    });
    const final = await client.messages
      .stream({ model: "assistant", max_tokens: 100, tools, messages: [{ role: "user", content: "And Rome?" }] })
      .finalMessage();
    expect(final.content).toEqual([
      { type: "text", text: "Let me look." },
      { type: "tool_use", id: "call_2", name: "get_weather", input: { city: "Rome" } },
    ]);
    expect(final.stop_reason).toBe("tool_use");
    expect(final.usage).toMatchObject({ input_tokens: 30, output_tokens: 12 });
  });

  it("sends tool results back as tool messages", async () => {
    await client.messages.create({
      model: "assistant",
      max_tokens: 100,
      tools: [{ name: "get_weather", input_schema: { type: "object" } }],
      messages: [
        { role: "user", content: "Weather in Oslo?" },
        {
          role: "assistant",
          content: [{ type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Oslo" } }],
        },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "call_1", content: "3°C" }] },
      ],
    });
    expect(upstream.requests.at(-1)?.body.messages).toEqual([
      { role: "user", content: "Weather in Oslo?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "3°C" },
    ]);
  });
});

describe("the Anthropic SDK through Switchyard to an Anthropic route", () => {
  it("streams through both translations and back", async () => {
    const final = await client.messages
      .stream({ model: "claude", max_tokens: 64, messages: [{ role: "user", content: "Greet me" }] })
      .finalMessage();
    expect(final.content).toEqual([{ type: "text", text: "Hello, world!" }]);
    expect(final.usage).toMatchObject({ input_tokens: 21, output_tokens: 5 });
    expect(claude.last?.body).toMatchObject({
      model: "claude-sonnet-4-5",
      max_tokens: 64,
      messages: [{ role: "user", content: "Greet me" }],
      stream: true,
    });
  });
});

describe("errors in Anthropic's shape, which the SDK raises as its own", () => {
  it("answers a wrong key with AuthenticationError", async () => {
    const bad = new Anthropic({ baseURL: gw.url, apiKey: "sy-wrong", maxRetries: 0 });
    const err = await bad.messages
      .create({ model: "assistant", max_tokens: 5, messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
  });

  it("answers a route of another tenant with NotFoundError", async () => {
    const err = await client.messages
      .create({ model: "other", max_tokens: 5, messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
  });

  it("answers a bad body with a 400 naming the field", async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": client.apiKey ?? "" },
      body: JSON.stringify({ model: "assistant", messages: [{ role: "user", content: "x" }] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      type: "error",
      error: {
        type: "invalid_request_error",
        message: "Invalid request body at 'max_tokens': is required",
        code: "SY_ERR_REQUEST_INVALID_BODY",
      },
    });
  });

  it("answers extended thinking with BadRequestError saying it is not translated", async () => {
    const err = await client.messages
      .create({
        model: "assistant",
        max_tokens: 5000,
        thinking: { type: "enabled", budget_tokens: 2000 },
        messages: [{ role: "user", content: "x" }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as Error).message).toContain("does not translate 'thinking'");
  });

  it("ends a stream the upstream broke with an error event the SDK raises", async () => {
    upstream.script.push({ kind: "error-mid-stream", after: 2, message: "upstream fell over" });
    const stream = client.messages.stream({
      model: "assistant",
      max_tokens: 5,
      messages: [{ role: "user", content: "x" }],
    });
    const err = await stream.finalMessage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toContain("upstream fell over");
  });
});

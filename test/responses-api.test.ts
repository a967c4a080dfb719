/**
 * POST /v1/responses through Switchyard with the official openai SDK
 * (`client.responses`) and the Vercel AI SDK's default OpenAI provider, onto an
 * OpenAI-compatible chat upstream: text, streaming events, tools,
 * previous_response_id from Switchyard's own store, retrieval, tenants.
 */
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, jsonSchema, streamText, tool } from "ai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKey } from "../src/store/keys.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { chunk, toolCallCompletion, usageChunk } from "./fixtures/openai-answers.js";
import { startGateway, type TestGateway } from "./helpers.js";

let upstream: FakeOpenAI;
let gw: TestGateway;
let client: OpenAI;
let globex: OpenAI;
let acmeKey: string;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  gw = await startGateway({
    backends: { fake: { type: "openai", baseUrl: upstream.url, prices: { "fake-model": { input: 1, output: 2 } } } },
    routes: { chat: { variants: [{ name: "a", backend: "fake", model: "fake-model" }] } },
    tenants: { acme: { routes: "*" }, globex: { routes: "*" } },
  });
  acmeKey = (await createKey(gw.gateway.db, { tenant: "acme", role: "app" })).key;
  const globexKey = (await createKey(gw.gateway.db, { tenant: "globex", role: "app" })).key;
  await gw.gateway.keys.refresh();
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: acmeKey, maxRetries: 0 });
  globex = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: globexKey, maxRetries: 0 });
});

afterAll(async () => {
  await gw.shutdown();
  await upstream.close();
});

describe("the openai SDK's responses through Switchyard", () => {
  it("creates a response from a chat answer, logged with endpoint responses", async () => {
    const { data, response } = await client.responses
      .create({ model: "chat", instructions: "Be brief.", input: "Say hello", max_output_tokens: 50 })
      .withResponse();
    expect(data.output_text).toBe("Hello from the fake upstream");
    expect(data).toMatchObject({
      object: "response",
      status: "completed",
      instructions: "Be brief.",
      usage: { input_tokens: 11, output_tokens: 5, total_tokens: 16 },
    });
    const requestId = response.headers.get("x-switchyard-request-id") ?? "";
    expect(data.id).toBe(`resp_${requestId.slice(4)}`);
    expect(upstream.requests.at(-1)?.body).toEqual({
      model: "fake-model",
      max_completion_tokens: 50,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Say hello" },
      ],
    });
    const row = (await gw.rows()).find((r) => r.id === requestId);
    expect(row).toMatchObject({ endpoint: "responses", route: "chat", tenant: "acme", status: 200, input_tokens: 11 });
  });

  it("continues from previous_response_id, without the earlier instructions", async () => {
    const first = await client.responses.create({
      model: "chat",
      instructions: "Old rules.",
      input: "My name is Ada.",
    });
    upstream.script.push({ kind: "ok", content: "Your name is Ada" });
    const second = await client.responses.create({
      model: "chat",
      instructions: "New rules.",
      previous_response_id: first.id,
      input: [{ role: "user", content: [{ type: "input_text", text: "What is my name?" }] }],
    });
    expect(second.output_text).toBe("Your name is Ada");
    expect(second.previous_response_id).toBe(first.id);
    expect(upstream.requests.at(-1)?.body.messages).toEqual([
      { role: "system", content: "New rules." },
      { role: "user", content: "My name is Ada." },
      { role: "assistant", content: "Hello from the fake upstream" },
      { role: "user", content: [{ type: "text", text: "What is my name?" }] },
    ]);
  });

  it("streams the documented event sequence, and the SDK assembles the response", async () => {
    const stream = client.responses.stream({ model: "chat", input: "Say hello" });
    const types: string[] = [];
    let text = "";
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === "response.output_text.delta") text += ev.delta;
    }
    const final = await stream.finalResponse();
    expect(text).toBe("Hello from the fake upstream");
    expect(final.output_text).toBe(text);
    expect(final.usage?.input_tokens).toBe(11);
    const deltas = types.filter((t) => t === "response.output_text.delta").length;
    expect(deltas).toBeGreaterThan(1);
    expect(types.filter((t) => t !== "response.output_text.delta")).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
  });

  it("answers tool calls as function_call items and takes their outputs back", async () => {
    upstream.script.push({ kind: "raw", body: toolCallCompletion("call_1", "get_weather", '{"city":"Oslo"}') });
    const tools: OpenAI.Responses.Tool[] = [
      {
        type: "function",
        name: "get_weather",
        parameters: { type: "object", properties: { city: { type: "string" } } },
        strict: false,
      },
    ];
    const first = await client.responses.create({ model: "chat", input: "Weather in Oslo?", tools });
    const call = first.output.find((o) => o.type === "function_call");
    expect(call).toMatchObject({
      type: "function_call",
      call_id: "call_1",
      name: "get_weather",
      arguments: '{"city":"Oslo"}',
    });
    expect(upstream.requests.at(-1)?.body.tools).toEqual([
      {
        type: "function",
        function: {
          name: "get_weather",
          parameters: { type: "object", properties: { city: { type: "string" } } },
          strict: false,
        },
      },
    ]);
    await client.responses.create({
      model: "chat",
      previous_response_id: first.id,
      tools,
      input: [{ type: "function_call_output", call_id: "call_1", output: "3°C" }],
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

  it("streams tool calls as function_call items with argument deltas", async () => {
    upstream.script.push({
      kind: "sse",
      events: [
        chunk({ role: "assistant", content: null }),
        chunk({
          tool_calls: [{ index: 0, id: "call_9", type: "function", function: { name: "get_weather", arguments: "" } }],
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '"Rome"}' } }] }),
        chunk({}, "tool_calls"),
        usageChunk(20, 9),
      ],
    });
    const final = await client.responses
      .stream({
        model: "chat",
        input: "Weather in Rome?",
        tools: [{ type: "function", name: "get_weather", parameters: {}, strict: false }],
      })
      .finalResponse();
    expect(final.output).toEqual([
      expect.objectContaining({
        type: "function_call",
        call_id: "call_9",
        name: "get_weather",
        arguments: '{"city":"Rome"}',
        status: "completed",
      }),
    ]);
  });

  it("reads back and deletes a stored response, within its tenant only", async () => {
    const made = await client.responses.create({ model: "chat", input: "Keep me" });
    expect((await client.responses.retrieve(made.id)).output_text).toBe("Hello from the fake upstream");
    const other = await globex.responses.retrieve(made.id).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(OpenAI.NotFoundError);
    const cont = await globex.responses
      .create({ model: "chat", previous_response_id: made.id, input: "x" })
      .catch((e: unknown) => e);
    expect(cont).toBeInstanceOf(OpenAI.NotFoundError);
    expect((cont as { param?: string }).param).toBe("previous_response_id");
    await client.responses.delete(made.id);
    expect(await client.responses.retrieve(made.id).catch((e: unknown) => e)).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("does not keep a response sent with store: false", async () => {
    const made = await client.responses.create({ model: "chat", input: "Forget me", store: false });
    expect((made as unknown as { store: boolean }).store).toBe(false);
    expect(await client.responses.retrieve(made.id).catch((e: unknown) => e)).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it.each([
    [
      { model: "chat", input: "x", tools: [{ type: "web_search" }] },
      "SY_ERR_REQUEST_UNSUPPORTED",
      "'web_search' tools",
    ],
    [{ model: "chat", input: "x", background: true }, "SY_ERR_REQUEST_UNSUPPORTED", "'background'"],
    [
      { model: "chat", input: [{ type: "reasoning", id: "rs_1" }] },
      "SY_ERR_REQUEST_UNSUPPORTED",
      "'reasoning' input items",
    ],
    [{ model: "chat" }, "SY_ERR_REQUEST_INVALID_BODY", "'input': is required"],
    [{ model: "chat", input: [{ role: "robot", content: "x" }] }, "SY_ERR_REQUEST_INVALID_BODY", "input[0].role"],
  ])("refuses %j with a 400 naming the field", async (body, code, named) => {
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${acmeKey}` },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe(code);
    expect(error.message).toContain(named);
  });
});

describe("the Vercel AI SDK's default OpenAI provider through Switchyard", () => {
  const provider = () => createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: acmeKey });

  it("generates and streams text over /v1/responses", async () => {
    const before = (await gw.rows()).length;
    const { text, usage } = await generateText({ model: provider()("chat"), prompt: "Say hello" });
    expect(text).toBe("Hello from the fake upstream");
    expect(usage.inputTokens).toBe(11);
    const streamed = streamText({ model: provider()("chat"), prompt: "Say hello" });
    let got = "";
    for await (const part of streamed.textStream) got += part;
    expect(got).toBe("Hello from the fake upstream");
    const rows = (await gw.rows()).slice(before);
    expect(rows.map((r) => r.endpoint)).toEqual(["responses", "responses"]);
  });

  it("receives a tool call", async () => {
    upstream.script.push({ kind: "raw", body: toolCallCompletion("call_ai", "get_weather", '{"city":"Paris"}') });
    const result = await generateText({
      model: provider()("chat"),
      prompt: "Weather in Paris?",
      tools: {
        get_weather: tool({
          description: "Weather for a city",
          inputSchema: jsonSchema<{ city: string }>({
            type: "object",
            properties: { city: { type: "string" } },
            required: ["city"],
          }),
        }),
      },
    });
    expect(result.toolCalls).toEqual([
      expect.objectContaining({ toolCallId: "call_ai", toolName: "get_weather", input: { city: "Paris" } }),
    ]);
  });
});

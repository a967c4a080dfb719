/**
 * Tools, images and JSON output on a route served by Anthropic, called with the
 * official openai SDK through Switchyard: the fake Anthropic records the exact
 * body it received, and the SDK's own stream helper rebuilds the tool calls.
 */
import OpenAI from "openai";
import type { ChatCompletionMessageParam, ChatCompletionTool } from "openai/resources/chat/completions";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeAnthropic, startFakeAnthropic } from "./fixtures/fake-anthropic.js";
import { startGateway, type TestGateway } from "./helpers.js";

let fake: FakeAnthropic;
let gw: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeAnthropic();
  gw = await startGateway({
    auth: { required: false },
    backends: {
      claude: {
        type: "anthropic",
        baseUrl: fake.url,
        apiKey: "anthropic-test-key-0123456789",
        prices: { "claude-sonnet-4-5": { input: 3, output: 15 } },
      },
    },
    routes: { assistant: { variants: [{ name: "sonnet", backend: "claude", model: "claude-sonnet-4-5" }] } },
  });
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterEach(() => fake.reset());

/** The body of the last call the fake Anthropic received. */
function sentBody(): Record<string, unknown> {
  const body = fake.last?.body;
  if (typeof body !== "object" || body === null) throw new Error("the fake Anthropic received no JSON body");
  return body as Record<string, unknown>;
}

afterAll(async () => {
  await gw.shutdown();
  await fake.close();
});

const tools: ChatCompletionTool[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Current weather for a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
];
const question: ChatCompletionMessageParam = { role: "user", content: "Weather in Paris and Rome?" };

function answerWithTwoCalls(): void {
  fake.behaviour.stopReason = "tool_use";
  fake.behaviour.blocks = [
    { type: "text", text: "Checking both." },
    { type: "tool_use", id: "toolu_paris", name: "get_weather", input: { city: "Paris" } },
    { type: "tool_use", id: "toolu_rome", name: "get_weather", input: { city: "Rome" } },
  ];
}

describe("tool calls through an Anthropic route", () => {
  it("sends the exact translated body and answers parallel tool calls the SDK reads", async () => {
    answerWithTwoCalls();
    const res = await client.chat.completions.create({
      model: "assistant",
      messages: [question],
      tools,
      tool_choice: "required",
      parallel_tool_calls: true,
      max_tokens: 200,
    });
    expect(fake.last?.body).toEqual({
      model: "claude-sonnet-4-5",
      max_tokens: 200,
      messages: [{ role: "user", content: "Weather in Paris and Rome?" }],
      tools: [
        {
          name: "get_weather",
          description: "Current weather for a city",
          input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        },
      ],
      tool_choice: { type: "any" },
    });
    const choice = res.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(choice?.message.content).toBe("Checking both.");
    expect(choice?.message.tool_calls).toEqual([
      { id: "toolu_paris", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
      { id: "toolu_rome", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
    ]);
  });

  it("streams tool calls that the SDK's stream helper assembles, logged with finish_reason tool_calls", async () => {
    answerWithTwoCalls();
    const stream = client.chat.completions.stream({ model: "assistant", messages: [question], tools });
    const final = await stream.finalChatCompletion();
    const message = final.choices[0]?.message;
    expect(message?.content).toBe("Checking both.");
    expect(message?.tool_calls?.map((c) => c.type === "function" && [c.id, JSON.parse(c.function.arguments)])).toEqual([
      ["toolu_paris", { city: "Paris" }],
      ["toolu_rome", { city: "Rome" }],
    ]);
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    const row = (await gw.rows()).at(-1);
    expect(row).toMatchObject({ stream: 1, status: 200, finish_reason: "tool_calls", input_tokens: 21 });
  });

  it("sends the tool results of the next turn as tool_result blocks", async () => {
    fake.behaviour.pieces = ["Rome is warmer."];
    const res = await client.chat.completions.create({
      model: "assistant",
      tools,
      messages: [
        question,
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "toolu_paris", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
            { id: "toolu_rome", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: "tool", tool_call_id: "toolu_paris", content: "18°C" },
        { role: "tool", tool_call_id: "toolu_rome", content: "24°C" },
      ],
    });
    expect(res.choices[0]?.message.content).toBe("Rome is warmer.");
    expect(sentBody().messages).toEqual([
      { role: "user", content: "Weather in Paris and Rome?" },
      {
        role: "assistant",
        content: [
          { type: "tool_use", id: "toolu_paris", name: "get_weather", input: { city: "Paris" } },
          { type: "tool_use", id: "toolu_rome", name: "get_weather", input: { city: "Rome" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_paris", content: "18°C" },
          { type: "tool_result", tool_use_id: "toolu_rome", content: "24°C" },
        ],
      },
    ]);
  });
});

describe("JSON output and images through an Anthropic route", () => {
  const schema = {
    type: "object",
    properties: { city: { type: "string" } },
    required: ["city"],
    additionalProperties: false,
  };

  it("asks for a JSON schema with Anthropic's structured output", async () => {
    fake.behaviour.pieces = ['{"city":"Paris"}'];
    const res = await client.chat.completions.create({
      model: "assistant",
      messages: [{ role: "user", content: "Capital of France, as JSON" }],
      response_format: { type: "json_schema", json_schema: { name: "capital", strict: true, schema } },
    });
    expect(JSON.parse(res.choices[0]?.message.content ?? "")).toEqual({ city: "Paris" });
    expect(sentBody().output_config).toEqual({
      format: { type: "json_schema", schema },
    });
  });

  it("streams a JSON-mode answer as text, from a forced tool call", async () => {
    fake.behaviour.stopReason = "tool_use";
    fake.behaviour.blocks = [{ type: "tool_use", id: "toolu_j", name: "json_object", input: { city: "Paris" } }];
    const stream = await client.chat.completions.create({
      model: "assistant",
      messages: [{ role: "user", content: "Capital of France, as JSON" }],
      response_format: { type: "json_object" },
      stream: true,
    });
    let text = "";
    let finish: string | null = null;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? "";
      finish = c.choices[0]?.finish_reason ?? finish;
      expect(c.choices[0]?.delta.tool_calls).toBeUndefined();
    }
    expect(JSON.parse(text)).toEqual({ city: "Paris" });
    expect(finish).toBe("stop");
  });

  it("sends an image part as an Anthropic image block", async () => {
    await client.chat.completions.create({
      model: "assistant",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is in this picture?" },
            { type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/4AAQSkZJRg==" } },
          ],
        },
      ],
    });
    expect(sentBody().messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "What is in this picture?" },
          { type: "image", source: { type: "base64", media_type: "image/jpeg", data: "/9j/4AAQSkZJRg==" } },
        ],
      },
    ]);
  });

  it("answers an untranslatable image detail with a 400 naming the field and the backend", async () => {
    const before = fake.count;
    const err = await client.chat.completions
      .create({
        model: "assistant",
        messages: [
          { role: "user", content: [{ type: "image_url", image_url: { url: "https://x.test/a.png", detail: "low" } }] },
        ],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain("The anthropic backend cannot express image 'detail' \"low\"");
    expect((err as Error).message).toContain("messages[0].content[0].image_url.detail");
    expect(fake.count).toBe(before);
  });
});

/**
 * Tools, images and JSON output translated between OpenAI's chat completions and
 * Anthropic's Messages API. The shapes written here follow the providers'
 * documentation:
 * - OpenAI "Function calling" guide and the chat completions API reference
 *   (platform.openai.com/docs/guides/function-calling, /docs/api-reference/chat):
 *   `tools[].function`, `tool_choice`, `parallel_tool_calls`, assistant `tool_calls`
 *   with JSON-text `arguments`, `tool` messages with `tool_call_id`, streamed
 *   `delta.tool_calls[]` keyed by `index`, `image_url` parts, `response_format`.
 * - Anthropic "Tool use" and "Streaming messages" docs (docs.anthropic.com/en/docs/
 *   build-with-claude/tool-use, .../streaming): `tools[].input_schema`, `tool_choice`
 *   `auto | any | tool | none` with `disable_parallel_tool_use`, `tool_use` and
 *   `tool_result` blocks, `content_block_start` of a `tool_use` with `input: {}`
 *   followed by `input_json_delta` `partial_json` fragments, `stop_reason: "tool_use"`;
 *   "Vision": `image` blocks with a `base64` or `url` source; "Structured outputs":
 *   `output_config.format` of type `json_schema`, `strict` on a tool.
 */
import { describe, expect, it } from "vitest";
import { toAnthropicRequest } from "../src/backends/anthropic/request.js";
import { JSON_OBJECT_TOOL } from "../src/backends/anthropic/request-tools.js";
import { fromAnthropicMessage } from "../src/backends/anthropic/response.js";
import { toOpenAIChunks } from "../src/backends/anthropic/stream.js";
import type { AnthropicMessage, AnthropicStreamEvent } from "../src/backends/anthropic/types.js";
import type { SseEvent } from "../src/backends/sse.js";
import type { ChatRequest } from "../src/core/openai-types.js";
import { StreamAnswer } from "../src/core/stream-answer.js";
import { SwitchyardError } from "../src/errors.js";

const opts = { defaultMaxTokens: 1024 };
const weatherParams = {
  type: "object",
  properties: { location: { type: "string", description: "City and country, e.g. Paris, France" } },
  required: ["location"],
};
const weatherTool = {
  type: "function",
  function: { name: "get_weather", description: "Current weather for a location", parameters: weatherParams },
};
const req = (extra: Record<string, unknown> = {}): ChatRequest => ({
  model: "claude-sonnet-4-5",
  messages: [{ role: "user", content: "What's the weather in Paris and Rome?" }],
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

describe("tool definitions and tool_choice", () => {
  it("turns function tools into Anthropic tools, and parallel_tool_calls: false into disable_parallel_tool_use", () => {
    const out = toAnthropicRequest(
      req({
        tools: [weatherTool, { type: "function", function: { name: "now", strict: true } }],
        tool_choice: "auto",
        parallel_tool_calls: false,
      }),
      opts,
    );
    expect(out.tools).toEqual([
      { name: "get_weather", description: "Current weather for a location", input_schema: weatherParams },
      { name: "now", input_schema: { type: "object", properties: {} }, strict: true },
    ]);
    expect(out.tool_choice).toEqual({ type: "auto", disable_parallel_tool_use: true });
  });

  it.each([
    [undefined, { type: "auto" }],
    ["none", { type: "none" }],
    ["required", { type: "any" }],
    [
      { type: "function", function: { name: "get_weather" } },
      { type: "tool", name: "get_weather" },
    ],
  ])("maps tool_choice %j to %j", (choice, expected) => {
    expect(toAnthropicRequest(req({ tools: [weatherTool], tool_choice: choice }), opts).tool_choice).toEqual(expected);
  });

  it.each([
    [
      "a tool_choice naming no tool",
      req({ tools: [weatherTool], tool_choice: { type: "function", function: { name: "nope" } } }),
      "SY_ERR_REQUEST_INVALID_BODY",
      "tool_choice.function.name",
    ],
    [
      "a required tool with no tools",
      req({ tool_choice: "required" }),
      "SY_ERR_REQUEST_UNTRANSLATABLE",
      "'tool_choice'",
    ],
    [
      "a non-function tool",
      req({ tools: [{ type: "custom", custom: { name: "grammar" } }] }),
      "SY_ERR_REQUEST_UNTRANSLATABLE",
      "'custom' tools (tools[0].type",
    ],
    [
      "a tool without a name",
      req({ tools: [{ type: "function", function: { parameters: weatherParams } }] }),
      "SY_ERR_REQUEST_INVALID_BODY",
      "tools[0].function.name",
    ],
    [
      "the legacy functions field",
      req({ functions: [weatherTool.function] }),
      "SY_ERR_REQUEST_UNTRANSLATABLE",
      "'functions'",
    ],
  ])("refuses %s with a 400 naming the field", (_label, body, code, named) => {
    const err = refusal(body);
    expect(err.status).toBe(400);
    expect(err.code).toBe(code);
    expect(err.message).toContain(named);
  });
});

describe("a tool-calling conversation", () => {
  const conversation = req({
    tools: [weatherTool],
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "What's the weather in Paris and Rome?" },
      {
        role: "assistant",
        content: "Let me check both.",
        tool_calls: [
          { id: "toolu_01A", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } },
          { id: "toolu_01B", type: "function", function: { name: "get_weather", arguments: '{"location":"Rome"}' } },
        ],
      },
      { role: "tool", tool_call_id: "toolu_01A", content: "18°C, cloudy" },
      { role: "tool", tool_call_id: "toolu_01B", content: [{ type: "text", text: "24°C, sunny" }] },
      { role: "user", content: "Which is warmer?" },
    ],
  });

  it("sends tool calls as tool_use blocks and tool messages as tool_result blocks of one user turn", () => {
    const out = toAnthropicRequest(conversation, opts);
    expect(out.system).toBe("Be brief.");
    expect(out.messages).toEqual([
      { role: "user", content: "What's the weather in Paris and Rome?" },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Let me check both." },
          { type: "tool_use", id: "toolu_01A", name: "get_weather", input: { location: "Paris" } },
          { type: "tool_use", id: "toolu_01B", name: "get_weather", input: { location: "Rome" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_01A", content: "18°C, cloudy" },
          { type: "tool_result", tool_use_id: "toolu_01B", content: "24°C, sunny" },
          { type: "text", text: "Which is warmer?" },
        ],
      },
    ]);
  });

  it("sends an assistant turn of tool calls alone, with empty arguments as an empty input", () => {
    const out = toAnthropicRequest(
      req({
        messages: [
          { role: "user", content: "Time?" },
          {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "t1", type: "function", function: { name: "now", arguments: "" } }],
          },
          { role: "tool", tool_call_id: "t1", content: "" },
        ],
      }),
      opts,
    );
    expect(out.messages.slice(1)).toEqual([
      { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "now", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "t1" }] },
    ]);
  });

  it.each([
    [
      "arguments that are not JSON",
      '{"location": Par',
      "messages[1].tool_calls[0].function.arguments",
      "not valid JSON",
    ],
    ["arguments that are not an object", "[1, 2]", "messages[1].tool_calls[0].function.arguments", "JSON object"],
  ])("refuses %s naming the message and call", (_label, args, path, problem) => {
    const err = refusal(
      req({
        messages: [
          { role: "user", content: "Weather?" },
          {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "t1", type: "function", function: { name: "w", arguments: args } }],
          },
        ],
      }),
    );
    expect(err.code).toBe("SY_ERR_REQUEST_INVALID_BODY");
    expect(err.param).toBe(path);
    expect(err.message).toContain(problem);
  });

  it("refuses a tool message without tool_call_id", () => {
    const err = refusal(
      req({
        messages: [
          { role: "user", content: "Hi" },
          { role: "tool", content: "x" },
        ],
      }),
    );
    expect(err.param).toBe("messages[1].tool_call_id");
  });
});

describe("images", () => {
  const withImage = (image_url: Record<string, unknown>) =>
    req({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image_url", image_url },
          ],
        },
      ],
    });

  it("sends a data: URL as a base64 image and an https URL as a url image", () => {
    const data = toAnthropicRequest(withImage({ url: "data:image/png;base64,iVBORw0KGgo=", detail: "auto" }), opts);
    expect(data.messages[0]?.content).toEqual([
      { type: "text", text: "What is this?" },
      { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
    ]);
    const url = toAnthropicRequest(withImage({ url: "https://example.com/cat.jpg" }), opts);
    expect(url.messages[0]?.content).toEqual([
      { type: "text", text: "What is this?" },
      { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
    ]);
  });

  it.each([
    ["detail low", { url: "https://example.com/cat.jpg", detail: "low" }, "UNTRANSLATABLE", "'detail' \"low\""],
    ["an SVG", { url: "data:image/svg+xml;base64,PHN2Zz4=" }, "UNTRANSLATABLE", "'image/svg+xml'"],
    ["a data: URL that is not base64", { url: "data:image/png,rawbytes" }, "INVALID_BODY", "base64"],
    ["a file: URL", { url: "file:///etc/passwd" }, "INVALID_BODY", "http(s) or data: URL"],
  ])("refuses %s", (_label, image, code, named) => {
    const err = refusal(withImage(image));
    expect(err.code).toBe(`SY_ERR_REQUEST_${code}`);
    expect(err.message).toContain(named);
  });

  it("refuses an image in a system prompt or an assistant turn", () => {
    const image = { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } };
    const err = refusal(
      req({
        messages: [
          { role: "system", content: [image] },
          { role: "user", content: "Hi" },
        ],
      }),
    );
    expect(err.message).toContain("messages[0].content[0]");
  });
});

describe("JSON output", () => {
  const schema = {
    type: "object",
    properties: { city: { type: "string" }, celsius: { type: "number" } },
    required: ["city", "celsius"],
    additionalProperties: false,
  };

  it("maps a JSON schema to Anthropic's structured output", () => {
    const out = toAnthropicRequest(
      req({ response_format: { type: "json_schema", json_schema: { name: "weather", strict: true, schema } } }),
      opts,
    );
    expect(out.output_config).toEqual({ format: { type: "json_schema", schema } });
    expect(out.tools).toBeUndefined();
  });

  it("asks for JSON mode as one forced tool whose input is any object", () => {
    const out = toAnthropicRequest(req({ response_format: { type: "json_object" } }), opts);
    expect(out.tools).toEqual([
      {
        name: JSON_OBJECT_TOOL,
        description: "Respond with the answer as a JSON object.",
        input_schema: { type: "object" },
      },
    ]);
    expect(out.tool_choice).toEqual({ type: "tool", name: JSON_OBJECT_TOOL });
  });

  it("refuses JSON mode together with tools, and a schema that is not an object", () => {
    expect(refusal(req({ response_format: { type: "json_object" }, tools: [weatherTool] })).message).toContain(
      "together with 'tools'",
    );
    expect(refusal(req({ response_format: { type: "json_schema", json_schema: { name: "x" } } })).param).toBe(
      "response_format.json_schema.schema",
    );
  });
});

const toolMessage: AnthropicMessage = {
  id: "msg_01Aq9w938a90dw8q",
  type: "message",
  role: "assistant",
  model: "claude-sonnet-4-5-20250929",
  content: [
    { type: "text", text: "I'll check the weather in Paris." },
    {
      type: "tool_use",
      id: "toolu_01A09q90qw90lq917835lq9",
      name: "get_weather",
      input: { location: "Paris, France" },
    },
  ],
  stop_reason: "tool_use",
  stop_sequence: null,
  usage: { input_tokens: 384, output_tokens: 57 },
};

describe("answers with tool calls", () => {
  it("turns tool_use blocks into tool_calls with JSON-text arguments and finish_reason tool_calls", () => {
    const out = fromAnthropicMessage(toolMessage, 1_700_000_000);
    expect(out.choices).toEqual([
      {
        index: 0,
        message: {
          role: "assistant",
          content: "I'll check the weather in Paris.",
          tool_calls: [
            {
              id: "toolu_01A09q90qw90lq917835lq9",
              type: "function",
              function: { name: "get_weather", arguments: '{"location":"Paris, France"}' },
            },
          ],
        },
        finish_reason: "tool_calls",
        logprobs: null,
      },
    ]);
  });

  it("answers null content when the model only called tools", () => {
    const out = fromAnthropicMessage({ ...toolMessage, content: toolMessage.content.slice(1) });
    expect(out.choices[0]?.message.content).toBeNull();
    expect(out.choices[0]?.message.tool_calls).toHaveLength(1);
  });

  it("reads a JSON-mode answer's forced tool call back as the message text", () => {
    const json: AnthropicMessage = {
      ...toolMessage,
      content: [{ type: "tool_use", id: "toolu_x", name: JSON_OBJECT_TOOL, input: { city: "Paris", celsius: 18 } }],
    };
    const out = fromAnthropicMessage(json, 1_700_000_000, { jsonObject: true });
    expect(out.choices[0]?.message).toEqual({ role: "assistant", content: '{"city":"Paris","celsius":18}' });
    expect(out.choices[0]?.finish_reason).toBe("stop");
  });
});

const sse = (...events: AnthropicStreamEvent[]): SseEvent[] =>
  events.map((e) => ({ event: e.type, data: JSON.stringify(e) }));

async function collect(events: SseEvent[], jsonObject = false) {
  async function* iterate() {
    yield* events;
  }
  const chunks = [];
  for await (const c of toOpenAIChunks(iterate(), { backend: "claude", secrets: [], created: 1, jsonObject })) {
    chunks.push(c.chunk);
  }
  return chunks;
}

/** The streamed form of `toolMessage`, as the streaming docs show a tool_use block arriving. */
const toolStream = sse(
  {
    type: "message_start",
    message: { ...toolMessage, content: [], stop_reason: null, usage: { input_tokens: 384, output_tokens: 1 } },
  },
  { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
  { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "I'll check the weather in Paris." } },
  { type: "content_block_stop", index: 0 },
  {
    type: "content_block_start",
    index: 1,
    content_block: { type: "tool_use", id: "toolu_01A09q90qw90lq917835lq9", name: "get_weather", input: {} },
  },
  { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: "" } },
  { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: '{"location": "Par' } },
  { type: "content_block_delta", index: 1, delta: { type: "input_json_delta", partial_json: 'is, France"}' } },
  { type: "content_block_stop", index: 1 },
  { type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 57 } },
  { type: "message_stop" },
);

describe("streamed tool calls", () => {
  it("opens each call with its id and name at index 0.., then streams the argument fragments", async () => {
    const chunks = await collect(toolStream);
    expect(chunks.map((c) => c.choices[0]?.delta ?? null)).toEqual([
      { role: "assistant", content: "" },
      { content: "I'll check the weather in Paris." },
      {
        tool_calls: [
          {
            index: 0,
            id: "toolu_01A09q90qw90lq917835lq9",
            type: "function",
            function: { name: "get_weather", arguments: "" },
          },
        ],
      },
      { tool_calls: [{ index: 0, function: { arguments: '{"location": "Par' } }] },
      { tool_calls: [{ index: 0, function: { arguments: 'is, France"}' } }] },
      {},
      null,
    ]);
    expect(chunks[5]?.choices[0]?.finish_reason).toBe("tool_calls");
    expect(chunks[6]?.usage).toEqual({ prompt_tokens: 384, completion_tokens: 57, total_tokens: 441 });
  });

  it("rebuilds, from the chunks, the same tool call the unstreamed answer carries", async () => {
    const answer = new StreamAnswer();
    for (const c of await collect(toolStream)) answer.add(c.choices[0]?.delta);
    const rebuilt = answer.message();
    const unstreamed = fromAnthropicMessage(toolMessage).choices[0]?.message;
    expect(rebuilt.content).toBe(unstreamed?.content);
    const call = (rebuilt.tool_calls as Array<{ id: string; function: { name: string; arguments: string } }>)[0];
    expect(call?.id).toBe("toolu_01A09q90qw90lq917835lq9");
    expect(JSON.parse(call?.function.arguments ?? "")).toEqual({ location: "Paris, France" });
  });

  it("streams a JSON-mode answer as content deltas ending with finish_reason stop", async () => {
    const chunks = await collect(
      sse(
        { type: "message_start", message: { ...toolMessage, content: [], stop_reason: null } },
        {
          type: "content_block_start",
          index: 0,
          content_block: { type: "tool_use", id: "t", name: JSON_OBJECT_TOOL, input: {} },
        },
        { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: '{"city": ' } },
        { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: '"Paris"}' } },
        { type: "content_block_stop", index: 0 },
        { type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 9 } },
        { type: "message_stop" },
      ),
      true,
    );
    expect(chunks.map((c) => c.choices[0]?.delta ?? null)).toEqual([
      { role: "assistant", content: "" },
      { content: '{"city": ' },
      { content: '"Paris"}' },
      {},
      null,
    ]);
    expect(chunks[3]?.choices[0]?.finish_reason).toBe("stop");
  });
});

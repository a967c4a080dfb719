/**
 * Anthropic Messages requests as Switchyard translates them onto its OpenAI
 * routes. Request shapes follow docs.anthropic.com/en/api/messages (system as
 * text blocks, image blocks with base64 / url sources, tool_use and tool_result
 * blocks with is_error, custom tools with input_schema, tool_choice auto / any /
 * tool / none with disable_parallel_tool_use, metadata.user_id, thinking).
 */
import { describe, expect, it } from "vitest";
import { SwitchyardError } from "../src/errors.js";
import { fromMessagesRequest, TOOL_ERROR_PREFIX } from "../src/server/messages-api/request.js";
import { toAnthropicMessage, toAnthropicUsage } from "../src/server/messages-api/response.js";

const base = { model: "assistant", max_tokens: 512, messages: [{ role: "user", content: "Hi" }] };

function refusal(body: unknown): SwitchyardError {
  try {
    fromMessagesRequest(body);
  } catch (e) {
    expect(e).toBeInstanceOf(SwitchyardError);
    return e as SwitchyardError;
  }
  throw new Error("expected the request to be refused");
}

describe("fromMessagesRequest", () => {
  it("translates a whole tool-using conversation", () => {
    const out = fromMessagesRequest({
      model: "assistant",
      max_tokens: 1024,
      system: [{ type: "text", text: "You are a weather bot.", cache_control: { type: "ephemeral" } }],
      metadata: { user_id: "u-42" },
      temperature: 0.5,
      top_k: 40,
      stop_sequences: ["\n\nHuman:"],
      stream: true,
      tools: [
        {
          name: "get_weather",
          description: "Weather for a city",
          input_schema: { type: "object", properties: { city: { type: "string" } } },
        },
      ],
      tool_choice: { type: "any", disable_parallel_tool_use: true },
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Weather here?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
          ],
        },
        {
          role: "assistant",
          content: [
            { type: "text", text: "Checking." },
            { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Oslo" } },
          ],
        },
        {
          role: "user",
          content: [
            {
              type: "tool_result",
              tool_use_id: "toolu_1",
              content: [{ type: "text", text: "timeout" }],
              is_error: true,
            },
            { type: "text", text: "Try again?" },
          ],
        },
      ],
    });
    expect(out).toEqual({
      model: "assistant",
      max_tokens: 1024,
      temperature: 0.5,
      top_k: 40,
      stop: ["\n\nHuman:"],
      stream: true,
      user: "u-42",
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "Weather for a city",
            parameters: { type: "object", properties: { city: { type: "string" } } },
          },
        },
      ],
      tool_choice: "required",
      parallel_tool_calls: false,
      messages: [
        { role: "system", content: [{ type: "text", text: "You are a weather bot." }] },
        {
          role: "user",
          content: [
            { type: "text", text: "Weather here?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
          ],
        },
        {
          role: "assistant",
          content: "Checking.",
          tool_calls: [
            { id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
          ],
        },
        { role: "tool", tool_call_id: "toolu_1", content: `${TOOL_ERROR_PREFIX}timeout` },
        { role: "user", content: "Try again?" },
      ],
    });
  });

  it.each([
    [{ type: "auto" }, "auto"],
    [{ type: "none" }, "none"],
    [
      { type: "tool", name: "get_weather" },
      { type: "function", function: { name: "get_weather" } },
    ],
  ])("maps tool_choice %j", (choice, expected) => {
    const tools = [{ name: "get_weather", input_schema: { type: "object" } }];
    expect(fromMessagesRequest({ ...base, tools, tool_choice: choice }).tool_choice).toEqual(expected);
  });

  it.each([
    [{ ...base, max_tokens: undefined }, "SY_ERR_REQUEST_INVALID_BODY", "max_tokens"],
    [{ ...base, messages: [] }, "SY_ERR_REQUEST_INVALID_BODY", "messages"],
    [{ ...base, messages: [{ role: "system", content: "x" }] }, "SY_ERR_REQUEST_INVALID_BODY", "messages[0].role"],
    [{ ...base, thinking: { type: "enabled", budget_tokens: 2000 } }, "SY_ERR_REQUEST_UNSUPPORTED", "'thinking'"],
    [{ ...base, mcp_servers: [{ url: "https://x" }] }, "SY_ERR_REQUEST_UNSUPPORTED", "'mcp_servers'"],
    [
      { ...base, tools: [{ type: "web_search_20250305", name: "web_search" }] },
      "SY_ERR_REQUEST_UNSUPPORTED",
      "'web_search_20250305' tools (tools[0].type",
    ],
    [
      {
        ...base,
        messages: [{ role: "user", content: [{ type: "document", source: { type: "base64", data: "JVBER" } }] }],
      },
      "SY_ERR_REQUEST_UNSUPPORTED",
      "'document' blocks in user turns (messages[0].content[0]",
    ],
    [
      { ...base, messages: [{ role: "assistant", content: [{ type: "thinking", thinking: "hmm", signature: "x" }] }] },
      "SY_ERR_REQUEST_UNSUPPORTED",
      "'thinking' blocks in assistant turns",
    ],
  ])("refuses %j with a 400 naming the field", (body, code, named) => {
    const err = refusal(body);
    expect(err.status).toBe(400);
    expect(err.code).toBe(code);
    expect(err.message).toContain(named);
  });

  it("accepts thinking disabled and a url image", () => {
    const out = fromMessagesRequest({
      ...base,
      thinking: { type: "disabled" },
      messages: [{ role: "user", content: [{ type: "image", source: { type: "url", url: "https://x.test/a.jpg" } }] }],
    });
    expect(out.messages).toEqual([
      { role: "user", content: [{ type: "image_url", image_url: { url: "https://x.test/a.jpg" } }] },
    ]);
  });
});

describe("toAnthropicMessage", () => {
  it("answers text and tool calls as blocks, with Anthropic's stop reason and usage", () => {
    const out = toAnthropicMessage(
      {
        id: "chatcmpl-1",
        object: "chat.completion",
        created: 1,
        model: "gpt-4o-mini",
        choices: [
          {
            index: 0,
            message: {
              role: "assistant",
              content: "Checking.",
              tool_calls: [{ id: "call_1", type: "function", function: { name: "w", arguments: '{"city":"Oslo"}' } }],
            },
            finish_reason: "tool_calls",
          },
        ],
        usage: {
          prompt_tokens: 100,
          completion_tokens: 9,
          total_tokens: 109,
          prompt_tokens_details: { cached_tokens: 60 },
        },
      },
      "req_0123",
      "openai",
    );
    expect(out).toEqual({
      id: "msg_0123",
      type: "message",
      role: "assistant",
      model: "gpt-4o-mini",
      content: [
        { type: "text", text: "Checking." },
        { type: "tool_use", id: "call_1", name: "w", input: { city: "Oslo" } },
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: { input_tokens: 40, output_tokens: 9, cache_read_input_tokens: 60 },
    });
    expect(toAnthropicUsage(undefined)).toEqual({ input_tokens: 0, output_tokens: 0 });
  });
});

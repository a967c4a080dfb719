/**
 * Anthropic message → OpenAI `chat.completion`, as pure functions shared with
 * the stream translation (stop reasons and usage read the same in both).
 */
import type { ChatCompletion, FinishReason, Usage } from "../../core/openai-types.js";
import { JSON_OBJECT_TOOL } from "./request-tools.js";
import type { AnthropicContentBlock, AnthropicMessage, AnthropicToolUseBlock, AnthropicUsage } from "./types.js";

/**
 * @example
 * fromAnthropicMessage({ id: "msg_1", type: "message", role: "assistant", model: "claude-sonnet-4-5",
 *   content: [{ type: "text", text: "Hi" }], stop_reason: "end_turn", stop_sequence: null,
 *   usage: { input_tokens: 9, output_tokens: 2 } }, 1700000000)
 * // → { id: "msg_1", object: "chat.completion", created: 1700000000, model: "claude-sonnet-4-5",
 * //     choices: [{ index: 0, message: { role: "assistant", content: "Hi" }, finish_reason: "stop" }],
 * //     usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } }
 */
export function fromAnthropicMessage(
  msg: AnthropicMessage,
  created = nowSeconds(),
  opts: ResponseTranslationOptions = {},
): ChatCompletion {
  const text: string[] = [];
  const toolCalls: OpenAIToolCall[] = [];
  for (const block of msg.content) {
    if (block.type === "text" && typeof block.text === "string") text.push(block.text);
    else if (isToolUse(block)) {
      // In JSON mode the forced tool's input is the answer itself.
      if (opts.jsonObject && block.name === JSON_OBJECT_TOOL) text.push(JSON.stringify(block.input ?? {}));
      else toolCalls.push(toOpenAIToolCall(block));
    }
  }
  const message: ChatCompletion["choices"][number]["message"] = {
    role: "assistant",
    // OpenAI answers null content beside tool calls when the model wrote no text.
    content: text.length === 0 && toolCalls.length > 0 ? null : text.join(""),
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const stop = opts.jsonObject && msg.stop_reason === "tool_use" ? "end_turn" : msg.stop_reason;
  return {
    // Anthropic's own id, so a log line can be matched with Anthropic's console.
    id: msg.id,
    object: "chat.completion",
    created,
    model: msg.model,
    choices: [{ index: 0, message, finish_reason: toFinishReason(stop), logprobs: null }],
    usage: toUsage(msg.usage),
  };
}

export interface ResponseTranslationOptions {
  /** The request asked for JSON mode, so the forced JSON tool call is the answer's text (request-tools.ts). */
  jsonObject?: boolean;
}

export interface OpenAIToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export function toOpenAIToolCall(block: AnthropicToolUseBlock): OpenAIToolCall {
  return {
    id: block.id,
    type: "function",
    function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
  };
}

export function isToolUse(block: AnthropicContentBlock): block is AnthropicToolUseBlock {
  return block.type === "tool_use" && typeof block.id === "string" && typeof block.name === "string";
}

/** Anthropic's `stop_reason` as OpenAI's `finish_reason`; null while the answer is still running. */
export function toFinishReason(stop: string | null | undefined): FinishReason | null {
  switch (stop) {
    case null:
    case undefined:
      return null;
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    default:
      // end_turn, stop_sequence, pause_turn, and reasons added later: the answer ended normally.
      return "stop";
  }
}

/** Anthropic counts cached prompt tokens apart from input_tokens; OpenAI's prompt_tokens includes them. */
export function toUsage(u: Partial<AnthropicUsage>): Usage {
  const cacheRead = u.cache_read_input_tokens ?? 0;
  const prompt = (u.input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0) + cacheRead;
  const completion = u.output_tokens ?? 0;
  const usage: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (cacheRead > 0) usage.prompt_tokens_details = { cached_tokens: cacheRead };
  return usage;
}

/** Enough of a message's shape to translate it without crashing. */
export function isAnthropicMessage(v: unknown): v is AnthropicMessage {
  if (typeof v !== "object" || v === null) return false;
  const m = v as Record<string, unknown>;
  return (
    m.type === "message" &&
    typeof m.id === "string" &&
    typeof m.model === "string" &&
    Array.isArray(m.content) &&
    m.content.every((b) => typeof b === "object" && b !== null) &&
    typeof m.usage === "object" &&
    m.usage !== null
  );
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

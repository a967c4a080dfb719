/**
 * OpenAI chat request → Anthropic Messages request, as a pure function.
 *
 * Whatever Anthropic cannot express (or this slice does not translate yet) is
 * refused with a 400 naming the field, never dropped: a client that asked for
 * tools or JSON mode must not silently get an answer that ignored it.
 */

import { isObject } from "../../core/openai-shape.js";
import type { ChatContentPart, ChatMessage, ChatRequest } from "../../core/openai-types.js";
import { errors } from "../../errors.js";
import type { AnthropicMessageParam, AnthropicRequest, AnthropicTextBlock } from "./types.js";

export interface RequestTranslationOptions {
  /** Sent as `max_tokens` when the client gave no limit: Anthropic requires one. */
  defaultMaxTokens: number;
}

/** Fields read by `toAnthropicRequest` itself. */
const TRANSLATED = new Set([
  "model",
  "messages",
  "stream",
  "max_tokens",
  "max_completion_tokens",
  "temperature",
  "top_p",
  "stop",
  "user",
]);

/**
 * Fields that do not change the answer, so leaving them out loses nothing the
 * client can observe: `stream_options` is the server's business (it decides
 * whether the usage chunk is shown), the rest concern OpenAI's own storage,
 * billing tier, or tools that are refused anyway.
 */
const IGNORED = new Set(["stream_options", "store", "metadata", "service_tier", "parallel_tool_calls"]);

/**
 * Fields with no Anthropic equivalent, accepted only at a value that asks for
 * nothing (null or absent always qualifies), so SDKs that send defaults still work.
 */
const REFUSED_UNLESS_INERT: Record<string, { inert: (v: unknown) => boolean; what: string }> = {
  n: { inert: (v) => v === 1, what: "'n' above 1 (several choices per request)" },
  tools: { inert: isEmptyArray, what: "'tools' (tool calling is not translated yet)" },
  tool_choice: {
    inert: (v) => v === "none" || v === "auto",
    what: "'tool_choice' (tool calling is not translated yet)",
  },
  functions: { inert: isEmptyArray, what: "'functions' (function calling is not translated yet)" },
  function_call: {
    inert: (v) => v === "none" || v === "auto",
    what: "'function_call' (function calling is not translated yet)",
  },
  response_format: {
    inert: (v) => isObject(v) && v.type === "text",
    what: "'response_format' other than text (JSON mode and structured outputs)",
  },
  logprobs: { inert: (v) => v === false, what: "'logprobs'" },
  top_logprobs: { inert: (v) => v === 0, what: "'top_logprobs'" },
  frequency_penalty: { inert: (v) => v === 0, what: "'frequency_penalty'" },
  presence_penalty: { inert: (v) => v === 0, what: "'presence_penalty'" },
  logit_bias: { inert: (v) => isObject(v) && Object.keys(v).length === 0, what: "'logit_bias'" },
  seed: { inert: () => false, what: "'seed' (reproducible sampling)" },
  modalities: { inert: (v) => Array.isArray(v) && v.every((m) => m === "text"), what: "'modalities' other than text" },
  audio: { inert: () => false, what: "'audio' output" },
  prediction: { inert: () => false, what: "'prediction' (predicted outputs)" },
  reasoning_effort: { inert: () => false, what: "'reasoning_effort'" },
  web_search_options: { inert: () => false, what: "'web_search_options'" },
};

/**
 * Translates an OpenAI chat request for Anthropic's `POST /v1/messages`.
 * Throws `errors.untranslatable` (400) naming the first field it cannot express.
 *
 * @example
 * toAnthropicRequest({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "Hi" }] }, { defaultMaxTokens: 4096 })
 * // → { model: "claude-sonnet-4-5", max_tokens: 4096, messages: [{ role: "user", content: "Hi" }] }
 */
export function toAnthropicRequest(body: ChatRequest, opts: RequestTranslationOptions): AnthropicRequest {
  refuseUntranslatableFields(body);
  const { system, messages } = translateMessages(body.messages);
  const out: AnthropicRequest = {
    model: body.model,
    messages,
    max_tokens: body.max_completion_tokens ?? body.max_tokens ?? opts.defaultMaxTokens,
  };
  if (system) out.system = system;
  if (body.temperature != null) {
    // OpenAI's range is 0–2; clamping would quietly change what the client asked for.
    if (body.temperature > 1) throw untranslatable("'temperature' above 1 (Anthropic accepts 0 to 1)");
    out.temperature = body.temperature;
  }
  if (body.top_p != null) out.top_p = body.top_p;
  const stop = typeof body.stop === "string" ? [body.stop] : (body.stop ?? []);
  if (stop.length > 0) out.stop_sequences = stop;
  if (body.stream) out.stream = true;
  if (typeof body.user === "string" && body.user !== "") out.metadata = { user_id: body.user };
  return out;
}

function refuseUntranslatableFields(body: ChatRequest): void {
  for (const [field, value] of Object.entries(body)) {
    if (TRANSLATED.has(field) || IGNORED.has(field) || value == null) continue;
    const rule = REFUSED_UNLESS_INERT[field];
    if (!rule) throw untranslatable(`the request field '${field}'`);
    if (!rule.inert(value)) throw untranslatable(rule.what);
  }
}

function translateMessages(input: ChatMessage[]): { system: string; messages: AnthropicMessageParam[] } {
  const system: string[] = [];
  const turns: Array<{ role: "user" | "assistant"; blocks: AnthropicTextBlock[] }> = [];
  input.forEach((msg, i) => {
    const where = `messages[${i}]`;
    switch (msg.role) {
      case "system":
      case "developer": {
        for (const block of textBlocks(msg.content, where)) system.push(block.text);
        return;
      }
      case "user":
      case "assistant": {
        refuseMessageExtras(msg, where);
        const blocks = textBlocks(msg.content, where);
        // Anthropic rejects empty text blocks, and an empty turn says nothing.
        if (blocks.length === 0) return;
        const last = turns.at(-1);
        // Anthropic requires user and assistant turns to alternate.
        if (last?.role === msg.role) last.blocks.push(...blocks);
        else turns.push({ role: msg.role, blocks });
        return;
      }
      case "tool":
      case "function":
        throw untranslatable(`'${msg.role}' messages (${where}; tool calling is not translated yet)`);
      default:
        throw errors.invalidBody(`${where}.role`, `unknown role '${String(msg.role)}'`);
    }
  });
  if (!turns.some((t) => t.role === "user")) {
    throw untranslatable("a conversation without a user message (Anthropic needs at least one besides system prompts)");
  }
  const messages = turns.map(({ role, blocks }) => ({
    role,
    content: blocks.length === 1 ? (blocks[0] as AnthropicTextBlock).text : blocks,
  }));
  return { system: system.join("\n\n"), messages };
}

function refuseMessageExtras(msg: ChatMessage, where: string): void {
  if (Array.isArray(msg.tool_calls) && msg.tool_calls.length > 0) {
    throw untranslatable(`assistant 'tool_calls' (${where}; tool calling is not translated yet)`);
  }
  if (msg.function_call != null) throw untranslatable(`'function_call' (${where})`);
  // Anthropic has no participant names; dropping one would merge speakers the client kept apart.
  if (typeof msg.name === "string" && msg.name !== "") throw untranslatable(`message 'name' (${where}.name)`);
}

/** Text of a message's content as non-empty text blocks; any non-text part is refused. */
function textBlocks(content: ChatMessage["content"], where: string): AnthropicTextBlock[] {
  if (content == null) return [];
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  if (!Array.isArray(content))
    throw errors.invalidBody(`${where}.content`, "must be a string, an array of parts or null");
  return content.flatMap((part: ChatContentPart, j) => {
    if (part?.type !== "text") {
      throw untranslatable(`'${String(part?.type)}' content parts (${where}.content[${j}]; only text is translated)`);
    }
    if (typeof part.text !== "string") throw errors.invalidBody(`${where}.content[${j}].text`, "must be a string");
    return part.text === "" ? [] : [{ type: "text" as const, text: part.text }];
  });
}

function untranslatable(what: string) {
  return errors.untranslatable("anthropic", what);
}

function isEmptyArray(v: unknown): boolean {
  return Array.isArray(v) && v.length === 0;
}

/**
 * OpenAI chat request → Anthropic Messages request, as a pure function.
 *
 * Messages are translated in request-messages.ts, tools and JSON output in
 * request-tools.ts. Whatever Anthropic cannot express is refused with a 400
 * naming the field, never dropped: a client that asked for something must not
 * silently get an answer that ignored it.
 */

import { isObject } from "../../core/openai-shape.js";
import type { ChatRequest } from "../../core/openai-types.js";
import { errors } from "../../errors.js";
import { translateMessages } from "./request-messages.js";
import { toAnthropicTools } from "./request-tools.js";
import type { AnthropicRequest } from "./types.js";

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
  "top_k",
  "stop",
  "user",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "response_format",
]);

/**
 * Fields that do not change the answer, so leaving them out loses nothing the
 * client can observe: `stream_options` is the server's business (it decides
 * whether the usage chunk is shown), the rest concern OpenAI's own storage and
 * billing tier.
 */
const IGNORED = new Set(["stream_options", "store", "metadata", "service_tier"]);

/**
 * Fields with no Anthropic equivalent, accepted only at a value that asks for
 * nothing (null or absent always qualifies), so SDKs that send defaults still work.
 */
const REFUSED_UNLESS_INERT: Record<string, { inert: (v: unknown) => boolean; what: string }> = {
  n: { inert: (v) => v === 1, what: "'n' above 1 (several choices per request)" },
  functions: { inert: isEmptyArray, what: "'functions' (the legacy form of 'tools': send 'tools')" },
  function_call: {
    inert: (v) => v === "none" || v === "auto",
    what: "'function_call' (the legacy form of 'tool_choice': send 'tool_choice')",
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
  // Not OpenAI's, but what Anthropic clients and vLLM-style servers send: Anthropic has it too.
  if (typeof body.top_k === "number") out.top_k = body.top_k;
  const stop = typeof body.stop === "string" ? [body.stop] : (body.stop ?? []);
  if (stop.length > 0) out.stop_sequences = stop;
  if (body.stream) out.stream = true;
  if (typeof body.user === "string" && body.user !== "") out.metadata = { user_id: body.user };
  return { ...out, ...toAnthropicTools(body) };
}

function refuseUntranslatableFields(body: ChatRequest): void {
  for (const [field, value] of Object.entries(body)) {
    if (TRANSLATED.has(field) || IGNORED.has(field) || value == null) continue;
    const rule = REFUSED_UNLESS_INERT[field];
    if (!rule) throw untranslatable(`the request field '${field}'`);
    if (!rule.inert(value)) throw untranslatable(rule.what);
  }
}

function untranslatable(what: string) {
  return errors.untranslatable("anthropic", what);
}

function isEmptyArray(v: unknown): boolean {
  return Array.isArray(v) && v.length === 0;
}

/**
 * From an OpenAI chat request to what node-llama-cpp generates from: the chat
 * history (its template comes from the model's metadata) and the sampling options.
 * What the engine cannot do (tools, images, several choices, logprobs, structured
 * output) is refused with a 400 naming it, never silently dropped.
 */
import type { ChatHistoryItem } from "node-llama-cpp";
import type { ChatMessage, ChatRequest } from "../../core/openai-types.js";
import { errors } from "../../errors.js";

const KIND = "llama-cpp";

export interface Sampling {
  maxTokens: number | undefined;
  temperature: number;
  topP: number | undefined;
  seed: number | undefined;
  stop: string[];
  frequencyPenalty: number | undefined;
  presencePenalty: number | undefined;
}

function text(m: ChatMessage, i: number): string {
  if (typeof m.content === "string") return m.content;
  if (m.content === null || m.content === undefined) return "";
  return m.content
    .map((p, j) => {
      if (p.type === "text" && typeof p.text === "string") return p.text;
      throw errors.untranslatable(KIND, `content of type '${p.type}' (messages[${i}].content[${j}])`);
    })
    .join("");
}

/** The history to generate from, ending with the empty model turn to be written. */
export function toHistory(messages: ChatMessage[]): ChatHistoryItem[] {
  const out: ChatHistoryItem[] = [];
  messages.forEach((m, i) => {
    if (m.role === "system" || m.role === "developer") out.push({ type: "system", text: text(m, i) });
    else if (m.role === "user") out.push({ type: "user", text: text(m, i) });
    else if (m.role === "assistant") {
      if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0)
        throw errors.untranslatable(KIND, `tool calls (messages[${i}].tool_calls)`);
      out.push({ type: "model", response: [text(m, i)] });
    } else throw errors.untranslatable(KIND, `messages with role '${m.role}' (messages[${i}])`);
  });
  out.push({ type: "model", response: [] });
  return out;
}

function num(body: ChatRequest, key: string): number | undefined {
  const v = body[key];
  return typeof v === "number" ? v : undefined;
}

/** The sampling options, OpenAI's defaults where the client sent none (temperature 1). */
export function toSampling(body: ChatRequest): Sampling {
  if (Array.isArray(body.tools) && body.tools.length > 0) throw errors.untranslatable(KIND, "tools");
  if (typeof body.n === "number" && body.n > 1) throw errors.untranslatable(KIND, "several choices (n > 1)");
  if (body.logprobs === true) throw errors.untranslatable(KIND, "logprobs");
  const format = body.response_format as { type?: string } | undefined | null;
  if (format && format.type !== "text") throw errors.untranslatable(KIND, `response_format '${format.type}'`);
  const max = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const stop = body.stop == null ? [] : Array.isArray(body.stop) ? body.stop : [body.stop];
  return {
    maxTokens: max ?? undefined,
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? undefined,
    seed: num(body, "seed"),
    stop: stop.filter((s) => s.length > 0),
    frequencyPenalty: num(body, "frequency_penalty"),
    presencePenalty: num(body, "presence_penalty"),
  };
}

/**
 * A cached answer is kept as a whole chat.completion, however it first arrived,
 * and replayed as the client asks: whole, or as a stream of chunks (the role,
 * the text, the tool calls, the finish reason, then usage) that rebuilds the
 * same message.
 */
import type { ChatCompletion, ChatCompletionChunk, ChatMessage, FinishReason, Usage } from "./openai-types.js";

/** The completion a streamed answer amounts to. */
export function completionOf(
  head: { id: string; model: string; created: number },
  message: ChatMessage,
  finish: string | null,
  usage: Usage | undefined,
): ChatCompletion {
  return {
    id: head.id,
    object: "chat.completion",
    created: head.created,
    model: head.model,
    choices: [
      {
        index: 0,
        message: message as ChatCompletion["choices"][number]["message"],
        finish_reason: finish as FinishReason | null,
        logprobs: null,
      },
    ],
    usage: usage ?? null,
  };
}

/** The chunks that replay `c` as a stream; the last carries usage with no choices, as include_usage gives it. */
export function chunksOf(c: ChatCompletion): ChatCompletionChunk[] {
  const base = { id: c.id, object: "chat.completion.chunk" as const, created: c.created, model: c.model };
  const choice = c.choices[0];
  const message = choice?.message ?? { role: "assistant" as const, content: "" };
  const out: ChatCompletionChunk[] = [
    { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] },
  ];
  if (typeof message.content === "string" && message.content !== "") {
    out.push({ ...base, choices: [{ index: 0, delta: { content: message.content }, finish_reason: null }] });
  }
  if (typeof message.refusal === "string" && message.refusal !== "") {
    out.push({ ...base, choices: [{ index: 0, delta: { refusal: message.refusal }, finish_reason: null }] });
  }
  const calls = Array.isArray(message.tool_calls) ? (message.tool_calls as Array<Record<string, unknown>>) : [];
  if (calls.length > 0) {
    const tool_calls = calls.map((call, index) => ({ index, ...call }));
    out.push({ ...base, choices: [{ index: 0, delta: { tool_calls }, finish_reason: null }] });
  }
  out.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: choice?.finish_reason ?? "stop" }] });
  if (c.usage) out.push({ ...base, choices: [], usage: c.usage });
  return out;
}

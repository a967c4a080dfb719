/**
 * The OpenAI answer Switchyard got → what an Anthropic Messages client expects:
 * a `message` object, or its stream of events (message_start, content blocks,
 * message_delta, message_stop), and errors in Anthropic's shape. Shapes:
 * docs.anthropic.com/en/api/messages, .../messages-streaming, .../errors.
 */
import type { AnthropicContentBlock, AnthropicMessage, AnthropicUsage } from "../../backends/anthropic/types.js";
import type { StreamChunk } from "../../backends/types.js";
import type { ChatCompletion, Usage } from "../../core/openai-types.js";
import { errors, type SwitchyardError } from "../../errors.js";
import type { ClientDialect, StreamEncoder } from "../dialect.js";

interface ToolCall {
  id?: string;
  function?: { name?: string; arguments?: string };
}

/** OpenAI's finish_reason as Anthropic's stop_reason. */
export function toStopReason(finish: string | null | undefined): string {
  switch (finish) {
    case "length":
      return "max_tokens";
    case "tool_calls":
    case "function_call":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      return "end_turn";
  }
}

/** OpenAI counts cached prompt tokens inside prompt_tokens; Anthropic counts them apart. */
export function toAnthropicUsage(u: Usage | null | undefined): AnthropicUsage {
  if (!u) return { input_tokens: 0, output_tokens: 0 };
  const details = u.prompt_tokens_details as { cached_tokens?: unknown } | undefined;
  const cached = typeof details?.cached_tokens === "number" ? details.cached_tokens : 0;
  const usage: AnthropicUsage = { input_tokens: u.prompt_tokens - cached, output_tokens: u.completion_tokens };
  if (cached > 0) usage.cache_read_input_tokens = cached;
  return usage;
}

/** An Anthropic message id for a Switchyard request id (`req_…` → `msg_…`), so both name the same call. */
export function messageId(requestId: string): string {
  return `msg_${requestId.replace(/^req_/, "")}`;
}

export function toAnthropicMessage(completion: ChatCompletion, requestId: string, backend: string): AnthropicMessage {
  const choice = completion.choices[0];
  const content: AnthropicContentBlock[] = [];
  const text = choice?.message.content;
  if (typeof text === "string" && text !== "") content.push({ type: "text", text });
  const calls = (choice?.message.tool_calls ?? []) as ToolCall[];
  for (const call of calls) {
    let input: unknown;
    try {
      input = JSON.parse(call.function?.arguments || "{}");
    } catch {
      // Anthropic clients read `input` as an object: arguments that are not JSON cannot be handed on.
      throw errors.upstreamProtocol({}, backend, `tool call ${call.id ?? "?"} has arguments that are not JSON`);
    }
    content.push({ type: "tool_use", id: call.id ?? "", name: call.function?.name ?? "", input });
  }
  return {
    id: messageId(requestId),
    type: "message",
    role: "assistant",
    model: completion.model,
    content,
    stop_reason: toStopReason(choice?.finish_reason),
    stop_sequence: null,
    usage: toAnthropicUsage(completion.usage),
  };
}

const frame = (type: string, data: Record<string, unknown>) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/** Anthropic's error `type` for a status, as its API documents them. */
export function anthropicErrorType(status: number): string {
  if (status === 400 || status === 415) return "invalid_request_error";
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit_error";
  if (status === 503) return "overloaded_error";
  if (status === 504) return "timeout_error";
  return "api_error";
}

/** An error in Anthropic's shape; Switchyard's code rides along for logs and support. */
export function anthropicError(err: SwitchyardError): Record<string, unknown> {
  return { type: "error", error: { type: anthropicErrorType(err.status), message: err.message, code: err.code } };
}

/**
 * Re-encodes OpenAI chunks as Anthropic events. Text deltas open a text block;
 * a tool call's first delta (id and name) closes the open block and opens a
 * tool_use block, whose argument fragments become input_json_delta. The stop
 * reason and usage arrive last from the upstream, so message_delta and
 * message_stop are written at the end.
 */
export class MessagesStreamEncoder implements StreamEncoder {
  #started = false;
  #next = 0;
  /** The block written to now: its index and kind. */
  #open: { index: number; kind: "text" | "tool" } | undefined;
  /** OpenAI tool-call index → Anthropic block index. */
  readonly #tools = new Map<number, number>();
  #finish: string | null = null;
  #usage: Usage | undefined;

  constructor(
    private readonly requestId: string,
    private readonly route: string,
  ) {}

  chunk(item: StreamChunk): string {
    const { chunk } = item;
    let out = this.#start(chunk.model);
    if (chunk.usage) this.#usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) return out;
    const delta = choice.delta ?? {};
    if (typeof delta.content === "string" && delta.content !== "") {
      if (this.#open?.kind !== "text") out += this.#openBlock("text", { type: "text", text: "" });
      out += frame("content_block_delta", {
        index: this.#open?.index,
        delta: { type: "text_delta", text: delta.content },
      });
    }
    for (const call of (delta.tool_calls ?? []) as Array<ToolCall & { index?: number }>) {
      const key = call.index ?? 0;
      let index = this.#tools.get(key);
      if (index === undefined) {
        out += this.#openBlock("tool", {
          type: "tool_use",
          id: call.id ?? "",
          name: call.function?.name ?? "",
          input: {},
        });
        index = this.#open?.index as number;
        this.#tools.set(key, index);
      }
      const args = call.function?.arguments;
      if (args) out += frame("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: args } });
    }
    if (choice.finish_reason) this.#finish = choice.finish_reason;
    return out;
  }

  end(): string {
    let out = this.#start(this.route) + this.#closeBlock();
    const usage = toAnthropicUsage(this.#usage);
    out += frame("message_delta", {
      delta: { stop_reason: toStopReason(this.#finish), stop_sequence: null },
      usage,
    });
    return out + frame("message_stop", {});
  }

  fail(err: SwitchyardError): string {
    return this.#start(this.route) + frame("error", { error: anthropicError(err).error });
  }

  #start(model: string): string {
    if (this.#started) return "";
    this.#started = true;
    // Anthropic announces the prompt's size here; it is known only from the upstream's last chunk, sent in message_delta.
    const message = {
      id: messageId(this.requestId),
      type: "message",
      role: "assistant",
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    return frame("message_start", { message });
  }

  #openBlock(kind: "text" | "tool", block: Record<string, unknown>): string {
    const out = this.#closeBlock();
    const index = this.#next++;
    this.#open = { index, kind };
    return out + frame("content_block_start", { index, content_block: block });
  }

  #closeBlock(): string {
    if (!this.#open) return "";
    const { index } = this.#open;
    this.#open = undefined;
    return frame("content_block_stop", { index });
  }
}

/** The Anthropic Messages dialect for one request. */
export function messagesDialect(requestId: string, route: string): ClientDialect {
  return {
    endpoint: "messages",
    json: (completion, _raw, backend) => JSON.stringify(toAnthropicMessage(completion, requestId, backend)),
    stream: () => new MessagesStreamEncoder(requestId, route),
  };
}

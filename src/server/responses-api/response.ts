/**
 * The chat answer Switchyard got → the OpenAI Responses API's shapes: a
 * `response` object with its output items (a message, function calls), or the
 * stream of typed events that builds one (response.created, output items and
 * content parts, text and argument deltas, response.completed). Shapes:
 * platform.openai.com/docs/api-reference/responses and .../responses-streaming.
 */
import type { StreamChunk } from "../../backends/types.js";
import type { ChatCompletion, ChatMessage, Usage } from "../../core/openai-types.js";
import type { SwitchyardError } from "../../errors.js";
import type { StreamEncoder } from "../dialect.js";
import { callItemId, messageItemId, responseId } from "./ids.js";
import type { ResponsesRequest } from "./request.js";

export interface ResponseContext {
  requestId: string;
  /** ms since the epoch. */
  createdAt: number;
  request: ResponsesRequest;
}

type Item = Record<string, unknown>;

interface ToolCall {
  id?: string;
  function?: { name?: string; arguments?: string };
}

/** The response object's fields that echo the request, with `status` and the model. */
export function responseShell(ctx: ResponseContext, status: string, model: string): Record<string, unknown> {
  const echo = ctx.request.echo;
  return {
    id: responseId(ctx.requestId),
    object: "response",
    created_at: Math.floor(ctx.createdAt / 1000),
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: ctx.request.instructions,
    max_output_tokens: echo.max_output_tokens ?? null,
    model,
    output: [],
    parallel_tool_calls: echo.parallel_tool_calls ?? true,
    previous_response_id: ctx.request.previousResponseId,
    reasoning: { effort: (echo.reasoning as { effort?: unknown } | undefined)?.effort ?? null, summary: null },
    store: ctx.request.store,
    temperature: echo.temperature ?? null,
    text: echo.text ?? { format: { type: "text" } },
    tool_choice: echo.tool_choice ?? "auto",
    tools: echo.tools ?? [],
    top_p: echo.top_p ?? null,
    truncation: "disabled",
    usage: null,
    user: echo.user ?? null,
    metadata: echo.metadata ?? {},
  };
}

/** `completed`, or `incomplete` with its reason, from chat's finish_reason. */
function outcome(finish: string | null | undefined): { status: string; incomplete_details: { reason: string } | null } {
  if (finish === "length") return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  if (finish === "content_filter") return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
  return { status: "completed", incomplete_details: null };
}

export function toResponsesUsage(u: Usage | null | undefined): Record<string, unknown> | null {
  if (!u) return null;
  const cached = (u.prompt_tokens_details as { cached_tokens?: unknown } | undefined)?.cached_tokens;
  const reasoning = (u.completion_tokens_details as { reasoning_tokens?: unknown } | undefined)?.reasoning_tokens;
  return {
    input_tokens: u.prompt_tokens,
    input_tokens_details: { cached_tokens: typeof cached === "number" ? cached : 0 },
    output_tokens: u.completion_tokens,
    output_tokens_details: { reasoning_tokens: typeof reasoning === "number" ? reasoning : 0 },
    total_tokens: u.total_tokens,
  };
}

const textPart = (text: string) => ({ type: "output_text", text, annotations: [] });

function messageItem(requestId: string, content: Item[], status: string, n = 0): Item {
  return { type: "message", id: messageItemId(requestId, n), status, role: "assistant", content };
}

function callItem(requestId: string, i: number, call: ToolCall, status: string): Item {
  return {
    type: "function_call",
    id: callItemId(requestId, i),
    call_id: call.id ?? "",
    name: call.function?.name ?? "",
    arguments: call.function?.arguments ?? "",
    status,
  };
}

/** The output items of a whole answer: its text (or refusal) as a message, then one item per tool call. */
export function outputItems(requestId: string, message: ChatMessage | undefined): Item[] {
  if (!message) return [];
  const items: Item[] = [];
  const calls = (Array.isArray(message.tool_calls) ? message.tool_calls : []) as ToolCall[];
  const text = typeof message.content === "string" ? message.content : "";
  if (typeof message.refusal === "string" && message.refusal !== "") {
    items.push(messageItem(requestId, [{ type: "refusal", refusal: message.refusal }], "completed"));
  } else if (text !== "" || calls.length === 0) {
    items.push(messageItem(requestId, [textPart(text)], "completed"));
  }
  calls.forEach((c, i) => {
    items.push(callItem(requestId, i, c, "completed"));
  });
  return items;
}

export function toResponseObject(ctx: ResponseContext, completion: ChatCompletion): Record<string, unknown> {
  const choice = completion.choices[0];
  return {
    ...responseShell(ctx, "completed", completion.model),
    ...outcome(choice?.finish_reason),
    output: outputItems(ctx.requestId, choice?.message),
    usage: toResponsesUsage(completion.usage),
  };
}

/**
 * Re-encodes chat chunks as Responses events. Text opens the message item and
 * its output_text part; each tool call opens a function_call item (closing the
 * one before). Items close, and response.completed carries the whole response
 * with its usage, at the end, when the upstream has sent its last chunk.
 */
export class ResponsesStreamEncoder implements StreamEncoder {
  #seq = 0;
  #started = false;
  #model: string;
  readonly #items: Item[] = [];
  /** Index in #items of the item written to now. */
  #open: number | undefined;
  /** The text of the message item open now, and how many message items came before it. */
  #text = "";
  #messages = 0;
  /** Chat tool-call index → index in #items. */
  readonly #calls = new Map<number, number>();
  #finish: string | null = null;
  #usage: Usage | undefined;
  /** The whole response once the stream ended well. */
  final: Record<string, unknown> | undefined;

  constructor(
    private readonly ctx: ResponseContext,
    route: string,
  ) {
    this.#model = route;
  }

  chunk(item: StreamChunk): string {
    const { chunk } = item;
    let out = this.#start(chunk.model);
    if (chunk.usage) this.#usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) return out;
    const delta = choice.delta ?? {};
    if (typeof delta.content === "string" && delta.content !== "") {
      out += this.#openMessage();
      this.#text += delta.content;
      out += this.#event("response.output_text.delta", {
        item_id: (this.#items[this.#open as number] as Item).id,
        output_index: this.#open,
        content_index: 0,
        delta: delta.content,
        logprobs: [],
      });
    }
    for (const call of (delta.tool_calls ?? []) as Array<ToolCall & { index?: number }>) {
      const key = call.index ?? 0;
      let at = this.#calls.get(key);
      if (at === undefined) {
        out += this.#closeOpen();
        at = this.#items.length;
        const added = callItem(this.ctx.requestId, this.#calls.size, call, "in_progress");
        added.arguments = "";
        this.#items.push(added);
        this.#calls.set(key, at);
        this.#open = at;
        out += this.#event("response.output_item.added", { output_index: at, item: added });
      }
      const args = call.function?.arguments;
      const target = this.#items[at] as Item;
      if (args) {
        target.arguments = `${String(target.arguments)}${args}`;
        out += this.#event("response.function_call_arguments.delta", {
          item_id: target.id,
          output_index: at,
          delta: args,
        });
      }
    }
    if (choice.finish_reason) this.#finish = choice.finish_reason;
    return out;
  }

  end(): string {
    let out = this.#start(this.#model);
    // Every call item still open is closed, not only the last one written to.
    out += this.#closeOpen();
    for (const at of this.#calls.values()) {
      const item = this.#items[at] as Item;
      if (item.status !== "completed") out += this.#closeCall(at);
    }
    if (this.#items.length === 0) {
      // An empty answer is still a message, as a whole response would show it.
      out += this.#openMessage() + this.#closeOpen();
    }
    const result = outcome(this.#finish);
    this.final = {
      ...responseShell(this.ctx, result.status, this.#model),
      ...result,
      output: this.#items,
      usage: toResponsesUsage(this.#usage),
    };
    const type = result.status === "completed" ? "response.completed" : "response.incomplete";
    return out + this.#event(type, { response: this.final });
  }

  fail(err: SwitchyardError): string {
    const response = {
      ...responseShell(this.ctx, "failed", this.#model),
      output: this.#items,
      error: { code: err.code, message: err.message },
    };
    return this.#start(this.#model) + this.#event("response.failed", { response });
  }

  #start(model: string): string {
    if (this.#started) return "";
    this.#started = true;
    this.#model = model;
    const response = responseShell(this.ctx, "in_progress", model);
    return this.#event("response.created", { response }) + this.#event("response.in_progress", { response });
  }

  #openMessage(): string {
    const at = this.#open;
    if (at !== undefined && (this.#items[at] as Item).type === "message") return "";
    let out = this.#closeOpen();
    const index = this.#items.length;
    const item = messageItem(this.ctx.requestId, [], "in_progress", this.#messages++);
    this.#text = "";
    this.#items.push(item);
    this.#open = index;
    const itemId = item.id;
    out += this.#event("response.output_item.added", { output_index: index, item });
    out += this.#event("response.content_part.added", {
      item_id: itemId,
      output_index: index,
      content_index: 0,
      part: textPart(""),
    });
    return out;
  }

  #closeOpen(): string {
    const at = this.#open;
    if (at === undefined) return "";
    this.#open = undefined;
    const item = this.#items[at] as Item;
    if (item.type !== "message") return this.#closeCall(at);
    const part = textPart(this.#text);
    const where = { item_id: item.id, output_index: at, content_index: 0 };
    item.content = [part];
    item.status = "completed";
    return (
      this.#event("response.output_text.done", { ...where, text: this.#text, logprobs: [] }) +
      this.#event("response.content_part.done", { ...where, part }) +
      this.#event("response.output_item.done", { output_index: at, item })
    );
  }

  #closeCall(at: number): string {
    const item = this.#items[at] as Item;
    item.status = "completed";
    if (this.#open === at) this.#open = undefined;
    return (
      this.#event("response.function_call_arguments.done", {
        item_id: item.id,
        output_index: at,
        arguments: item.arguments,
      }) + this.#event("response.output_item.done", { output_index: at, item })
    );
  }

  #event(type: string, data: Record<string, unknown>): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.#seq++, ...data })}\n\n`;
  }
}

/**
 * Anthropic streaming events → OpenAI `chat.completion.chunk`s.
 *
 * Anthropic announces the message (id, model, prompt usage) once, then sends
 * content deltas, then the stop reason with the output usage, then
 * `message_stop`. Only `message_stop` proves the answer is complete.
 */

import { isObject } from "../../core/openai-shape.js";
import type { ChatCompletionChunk, FinishReason, Usage } from "../../core/openai-types.js";
import { errors } from "../../errors.js";
import { redact } from "../http.js";
import type { SseEvent } from "../sse.js";
import type { StreamChunk } from "../types.js";
import { JSON_OBJECT_TOOL } from "./request-tools.js";
import { nowSeconds, toFinishReason, toUsage } from "./response.js";
import type { AnthropicUsage } from "./types.js";

export interface StreamTranslationOptions {
  /** Backend name, for error messages. */
  backend: string;
  /** Values to remove from upstream text quoted in error messages. */
  secrets: string[];
  created?: number;
  /** JSON mode: the forced JSON tool's input streams as the answer's text (request-tools.ts). */
  jsonObject?: boolean;
}

type Chunk = ChatCompletionChunk["choices"][number];

/**
 * Yields one chunk per OpenAI-visible change: the role first, each text delta,
 * each tool call's opening (id and name) and argument fragments, the finish
 * reason, and a last usage chunk with `choices: []` (always; the server decides
 * whether the client asked for it). Throws `upstreamStreamBroken` on an `error`
 * event or an early end, `upstreamProtocol` on malformed events.
 */
export async function* toOpenAIChunks(
  events: AsyncIterable<SseEvent>,
  opts: StreamTranslationOptions,
): AsyncGenerator<StreamChunk> {
  const created = opts.created ?? nowSeconds();
  const fail = (detail: string) => errors.upstreamProtocol({}, opts.backend, redact(detail, opts.secrets));
  let head: { id: string; model: string } | undefined;
  let usage: Partial<AnthropicUsage> = {};
  // Anthropic numbers every content block; OpenAI numbers tool calls alone, from 0.
  const toolIndex = new Map<number, number>();
  const jsonBlocks = new Set<number>();

  const chunk = (choices: Chunk[], withUsage?: Usage): StreamChunk => {
    if (!head) throw fail("a content event arrived before message_start");
    const c: ChatCompletionChunk = {
      id: head.id,
      object: "chat.completion.chunk",
      created,
      model: head.model,
      choices,
    };
    if (withUsage) c.usage = withUsage;
    return { chunk: c, text: JSON.stringify(c) };
  };
  const choice = (delta: Chunk["delta"], finish: FinishReason | null = null): Chunk[] => [
    { index: 0, delta, finish_reason: finish },
  ];

  for await (const sse of events) {
    const ev = parseEvent(sse.data);
    if (!ev) throw fail(`a stream event is not an Anthropic event: ${sse.data.slice(0, 120)}`);
    switch (ev.type) {
      case "message_start": {
        const m = ev.message;
        if (!isObject(m) || typeof m.id !== "string" || typeof m.model !== "string") {
          throw fail("message_start carries no message id and model");
        }
        head = { id: m.id, model: m.model };
        usage = isObject(m.usage) ? { ...m.usage } : {};
        yield chunk(choice({ role: "assistant", content: "" }));
        break;
      }
      case "content_block_start": {
        const block = ev.content_block;
        if (!isObject(block) || block.type !== "tool_use" || typeof ev.index !== "number") break;
        if (typeof block.id !== "string" || typeof block.name !== "string") {
          throw fail("a tool_use block starts without an id and a name");
        }
        if (opts.jsonObject && block.name === JSON_OBJECT_TOOL) {
          jsonBlocks.add(ev.index);
          break;
        }
        const index = toolIndex.size;
        toolIndex.set(ev.index, index);
        yield chunk(
          choice({
            tool_calls: [{ index, id: block.id, type: "function", function: { name: block.name, arguments: "" } }],
          }),
        );
        break;
      }
      case "content_block_delta": {
        const d = ev.delta;
        if (!isObject(d)) break;
        if (d.type === "text_delta" && typeof d.text === "string" && d.text !== "") {
          yield chunk(choice({ content: d.text }));
        } else if (d.type === "input_json_delta" && typeof d.partial_json === "string" && d.partial_json !== "") {
          const index = typeof ev.index === "number" ? toolIndex.get(ev.index) : undefined;
          if (index !== undefined) {
            yield chunk(choice({ tool_calls: [{ index, function: { arguments: d.partial_json } }] }));
          } else if (typeof ev.index === "number" && jsonBlocks.has(ev.index)) {
            yield chunk(choice({ content: d.partial_json }));
          }
        }
        // Other delta kinds (thinking, signatures) belong to features this backend does not request.
        break;
      }
      case "message_delta": {
        // Its counts are cumulative totals, so they replace message_start's rather than add to them.
        if (isObject(ev.usage)) usage = { ...usage, ...ev.usage };
        const reason = isObject(ev.delta) ? ev.delta.stop_reason : null;
        // In JSON mode the forced tool call is how the answer ends, not a call for the client to make.
        const effective = reason === "tool_use" && jsonBlocks.size > 0 && toolIndex.size === 0 ? "end_turn" : reason;
        const stop = typeof effective === "string" ? toFinishReason(effective) : null;
        if (stop) yield chunk(choice({}, stop));
        break;
      }
      case "message_stop":
        yield chunk([], toUsage(usage));
        return;
      case "error": {
        const err = ev.error;
        const message =
          isObject(err) && typeof err.message === "string" ? err.message : "the upstream sent an error event";
        throw errors.upstreamStreamBroken({}, opts.backend, redact(message, opts.secrets));
      }
      default:
      // ping, content_block_stop, and event types Anthropic adds later carry nothing to forward.
    }
  }
  throw errors.upstreamStreamBroken({}, opts.backend, "the stream ended before message_stop");
}

function parseEvent(data: string): (Record<string, unknown> & { type: string }) | undefined {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    return undefined;
  }
  return isObject(v) && typeof v.type === "string" ? (v as Record<string, unknown> & { type: string }) : undefined;
}

/**
 * How a chat answer is written for the API the client called. Every inbound
 * chat API (OpenAI chat completions, Anthropic messages...) is served by the
 * same routing, experiments, fallback and log, which speak OpenAI internally; a
 * dialect turns the answer (a completion, or its chunks) into the client's shape.
 */
import type { StreamChunk } from "../backends/types.js";
import type { ChatCompletion, ChatMessage } from "../core/openai-types.js";
import type { SwitchyardError } from "../errors.js";

export type ChatEndpoint = "chat" | "messages" | "responses";

export interface ClientDialect {
  /** The inbound API, as the request log's `endpoint` records it. */
  endpoint: ChatEndpoint;
  /**
   * The body of a whole (non-streaming) answer; `raw` is the upstream's own text
   * of `completion`. May throw a SwitchyardError when the answer cannot be
   * expressed in the dialect (`backend` names who sent it).
   */
  json(completion: ChatCompletion, raw: string | undefined, backend: string): string;
  /** An encoder for one streamed answer. */
  stream(): StreamEncoder;
  /**
   * Called once the whole answer has gone out (not after a failure or a client
   * that left), with the answer's message; for work that must not delay it.
   */
  done?(answer: ChatMessage): void;
}

/** Turns one answer's chunks into SSE frames (each complete, blank line included). */
export interface StreamEncoder {
  /** Frames for one upstream chunk; "" when the client is sent nothing for it. */
  chunk(item: StreamChunk): string;
  /** Frames that end a complete answer. */
  end(): string;
  /** Frames that end an answer the upstream broke (or a timeout or shutdown cut). */
  fail(err: SwitchyardError): string;
}

/** OpenAI chat completions: chunks forwarded as the upstream wrote them, never re-serialised. */
export function openAIDialect(clientWantsUsage: boolean): ClientDialect {
  return {
    endpoint: "chat",
    json: (completion, raw) => raw ?? JSON.stringify(completion),
    stream: () => ({
      chunk: (item) =>
        // The usage-only chunk exists because we asked for it; pass it on only if the client did.
        item.chunk.choices.length === 0 && item.chunk.usage && !clientWantsUsage ? "" : `data: ${item.text}\n\n`,
      end: () => "data: [DONE]\n\n",
      fail: (err) => `data: ${JSON.stringify(err.toJSON())}\n\n`,
    }),
  };
}

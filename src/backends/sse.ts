/**
 * The one SSE reader every backend shares: turns an HTTP body into events as
 * they arrive (no buffering beyond one incomplete event), and ends its use of
 * the body so that the connection can serve the next call.
 */
import { Readable } from "node:stream";
import { createParser, type EventSourceMessage } from "eventsource-parser";

export interface SseEvent {
  event: string | undefined;
  data: string;
}

/**
 * Yields each SSE event of `body` as soon as its terminating blank line arrives.
 * Stopping early leaves a stream body as it is, neither read nor destroyed: the
 * caller ends it with `releaseSseBody`.
 */
export async function* readSse(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseEvent> {
  const ready: SseEvent[] = [];
  const parser = createParser({
    onEvent(msg: EventSourceMessage) {
      ready.push({ event: msg.event, data: msg.data });
    },
  });
  const decoder = new TextDecoder();
  // A stream's own iterator would destroy it on an early stop, before releaseSseBody can decide.
  const parts = body instanceof Readable ? body.iterator({ destroyOnReturn: false }) : body;
  for await (const part of parts) {
    parser.feed(typeof part === "string" ? part : decoder.decode(part, { stream: true }));
    while (ready.length > 0) yield ready.shift() as SseEvent;
  }
  parser.feed(decoder.decode());
  while (ready.length > 0) yield ready.shift() as SseEvent;
}

/**
 * What is read, at most, of a body after the answer said it was complete. Short:
 * a server ends the body in its next write, and a draining connection is still
 * one of the pool's (maxConcurrency), though its call no longer counts.
 */
export const DRAIN_MAX_BYTES = 64 * 1024;
export const DRAIN_MAX_MS = 250;

/**
 * Ends a backend's use of a streamed body. Once the answer said it was complete
 * (OpenAI's `[DONE]`, Anthropic's `message_stop`), the server usually ends the
 * body a moment later, in a separate write: what is left is read and dropped, up
 * to a bound, so the keep-alive connection goes back to the pool. Destroying an
 * unfinished body closes its connection, and the next call would pay a new TCP
 * (and TLS) handshake. A body still open after the bound is destroyed, and so is
 * one whose answer did not complete (a failure, the client gone).
 */
export function releaseSseBody(body: Readable, answerComplete: boolean): void {
  if (body.readableEnded || body.destroyed) return;
  // Nobody reads this body any more: the error a destroyed (or late-failing) body emits
  // concerns no one, and unheard it would be an uncaught exception.
  body.on("error", () => {});
  if (!answerComplete) {
    body.destroy();
    return;
  }
  let left = DRAIN_MAX_BYTES;
  const timer = setTimeout(() => body.destroy(), DRAIN_MAX_MS);
  timer.unref();
  body.once("close", () => clearTimeout(timer));
  body.on("data", (part: Buffer | string) => {
    left -= part.length;
    if (left < 0) body.destroy();
  });
  body.resume();
}

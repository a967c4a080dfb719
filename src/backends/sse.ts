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
 * Turns the parts of an SSE body into events, synchronously: `push` returns the
 * events a part completed, `end` those left when the body ends. A backend that
 * reads the body in its own generator saves an async step per event over
 * `readSse`, and a stream runs that step once per chunk.
 */
export class SseDecoder {
  readonly #ready: SseEvent[] = [];
  readonly #parser = createParser({
    onEvent: (msg: EventSourceMessage) => {
      this.#ready.push({ event: msg.event, data: msg.data });
    },
  });
  readonly #text = new TextDecoder();

  push(part: Uint8Array | string): readonly SseEvent[] {
    this.#parser.feed(typeof part === "string" ? part : this.#text.decode(part, { stream: true }));
    return this.#take();
  }

  end(): readonly SseEvent[] {
    this.#parser.feed(this.#text.decode());
    return this.#take();
  }

  #take(): readonly SseEvent[] {
    return this.#ready.length === 0 ? NONE : this.#ready.splice(0);
  }
}

const NONE: readonly SseEvent[] = [];

/**
 * The parts of a body as they arrive. Stopping early leaves a stream body as it
 * is, neither read nor destroyed (a stream's own iterator would destroy it): the
 * caller ends it with `releaseSseBody`.
 */
export function bodyParts(body: AsyncIterable<Uint8Array | string>): AsyncIterable<Uint8Array | string> {
  return body instanceof Readable ? body.iterator({ destroyOnReturn: false }) : body;
}

/** Yields each SSE event of `body` as soon as its terminating blank line arrives (see bodyParts). */
export async function* readSse(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseEvent> {
  const decoder = new SseDecoder();
  for await (const part of bodyParts(body)) for (const ev of decoder.push(part)) yield ev;
  for (const ev of decoder.end()) yield ev;
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

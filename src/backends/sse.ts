/**
 * The one SSE reader every backend shares: turns an HTTP body into events as
 * they arrive (no buffering beyond one incomplete event).
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";

export interface SseEvent {
  event: string | undefined;
  data: string;
}

/** Yields each SSE event of `body` as soon as its terminating blank line arrives. */
export async function* readSse(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseEvent> {
  const ready: SseEvent[] = [];
  const parser = createParser({
    onEvent(msg: EventSourceMessage) {
      ready.push({ event: msg.event, data: msg.data });
    },
  });
  const decoder = new TextDecoder();
  for await (const part of body) {
    parser.feed(typeof part === "string" ? part : decoder.decode(part, { stream: true }));
    while (ready.length > 0) yield ready.shift() as SseEvent;
  }
  parser.feed(decoder.decode());
  while (ready.length > 0) yield ready.shift() as SseEvent;
}

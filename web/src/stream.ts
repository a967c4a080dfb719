/**
 * A streamed chat completion read in the browser: fetch, then the SSE body
 * through eventsource-parser, calling back with the text so far. The gateway's
 * headers name the request (for feedback), its session and its variant.
 */
import { EventSourceParserStream } from "eventsource-parser/stream";
import { ApiError, authHeaders, type ChatMessage, errorOf } from "./api";

export interface StreamedAnswer {
  requestId: string | null;
  session: string | null;
  variant: string | null;
  backend: string | null;
}

export interface StreamOptions {
  key: string;
  route: string;
  messages: ChatMessage[];
  session: string | null;
  signal: AbortSignal;
  /** Called with the headers as soon as the response starts. */
  onStart(meta: StreamedAnswer): void;
  onText(textSoFar: string): void;
}

/** Resolves with the whole answer; rejects with ApiError (or AbortError when stopped). */
export async function streamChat(o: StreamOptions): Promise<string> {
  const headers = authHeaders(o.key, { "content-type": "application/json" });
  if (o.session) headers["x-switchyard-session"] = o.session;
  const res = await fetch("/v1/chat/completions", {
    method: "POST",
    headers,
    body: JSON.stringify({ model: o.route, messages: o.messages, stream: true }),
    signal: o.signal,
  });
  const h = (name: string) => res.headers.get(name);
  if (!res.ok) throw await errorOf(res);
  o.onStart({
    requestId: h("x-switchyard-request-id"),
    session: h("x-switchyard-session"),
    variant: h("x-switchyard-variant"),
    backend: h("x-switchyard-backend"),
  });
  if (!res.body) throw new ApiError(res.status, "", "the answer had no body");
  // A reader rather than `for await`: Safari's streams are not async-iterable.
  const reader = res.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
  let text = "";
  for (;;) {
    const { done, value: ev } = await reader.read();
    if (done || ev.data === "[DONE]") break;
    const chunk = JSON.parse(ev.data) as {
      error?: { message?: string; code?: string };
      choices?: { delta?: { content?: string | null } }[];
    };
    if (chunk.error) {
      throw new ApiError(
        502,
        chunk.error.code ?? "",
        `the answer broke off: ${chunk.error.message ?? "upstream error"}`,
      );
    }
    const piece = chunk.choices?.[0]?.delta?.content;
    if (piece) {
      text += piece;
      o.onText(text);
    }
  }
  return text;
}

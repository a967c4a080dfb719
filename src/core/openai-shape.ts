/**
 * Shape checks for what upstreams send back, so a malformed answer becomes a
 * protocol error at the backend instead of a crash after the reply went out.
 */
import type { ChatCompletion, ChatCompletionChunk, EmbeddingsResponse } from "./openai-types.js";

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A chat.completion whose every choice carries a message object. */
export function isChatCompletion(v: unknown): v is ChatCompletion {
  return isObject(v) && Array.isArray(v.choices) && v.choices.every((c) => isObject(c) && isObject(c.message));
}

/** A chat.completion.chunk whose every choice carries a delta object (the usage chunk has none). */
export function isChatCompletionChunk(v: unknown): v is ChatCompletionChunk {
  return isObject(v) && Array.isArray(v.choices) && v.choices.every((c) => isObject(c) && isObject(c.delta));
}

/** An embeddings list whose every item carries an embedding (floats, or base64 text). */
export function isEmbeddingsResponse(v: unknown): v is EmbeddingsResponse {
  return (
    isObject(v) &&
    Array.isArray(v.data) &&
    v.data.every((d) => isObject(d) && (Array.isArray(d.embedding) || typeof d.embedding === "string"))
  );
}

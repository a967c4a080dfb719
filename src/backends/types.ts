/**
 * The one interface every backend implements. A backend speaks to one upstream
 * and only translates: timeouts, retries, the circuit breaker and the concurrency
 * limit wrap it from outside (see `resilient.ts`), so a team's own plugin gets
 * them for free.
 *
 * Errors: throw `SwitchyardError`s from `errors.ts` (`upstream*`), marking what is
 * retryable; when `ctx.signal` aborts, rethrow `ctx.signal.reason`.
 */
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatRequest,
  EmbeddingsRequest,
  EmbeddingsResponse,
} from "../core/openai-types.js";

export interface BackendCallContext {
  /** Aborts the upstream call: client gone, a timeout fired, or shutdown. */
  signal: AbortSignal;
  requestId: string;
  /**
   * A llama-cpp call only: the adapter (by its name in the backend's config) to apply on
   * the base model, from the variant or the caller's tenant. Other backends ignore it.
   */
  adapter?: string;
}

export type ChatResult =
  | {
      kind: "json";
      body: ChatCompletion;
      /** The upstream's own JSON text when it is already OpenAI-shaped, sent as is. */
      raw?: string;
    }
  | {
      kind: "stream";
      /**
       * One item per `chat.completion.chunk`, as the upstream sends it (the
       * terminating `[DONE]` is not an item). Iteration throws a `SwitchyardError`
       * if the upstream breaks or sends something that is not a chunk. Returning
       * early (break) must release the upstream connection.
       */
      events: AsyncIterable<StreamChunk>;
    };

export interface Backend {
  readonly name: string;
  /** e.g. "openai", "anthropic". */
  readonly kind: string;
  /** `body.model` is already the upstream model name; `body.stream` says which result kind. */
  chat(body: ChatRequest, ctx: BackendCallContext): Promise<ChatResult>;
  /**
   * `POST /v1/embeddings`, for backends that have it (`body.model` is already the
   * upstream model name). A backend without it leaves it out: the call answers a
   * 400 naming the backend kind, and the route's fallbacks are not tried.
   */
  embeddings?(body: EmbeddingsRequest, ctx: BackendCallContext): Promise<EmbeddingsResult>;
  /** Model ids the upstream serves, for discovery and health probes. */
  listModels(signal: AbortSignal): Promise<string[]>;
  close(): Promise<void>;
}

export interface EmbeddingsResult {
  body: EmbeddingsResponse;
  /** The upstream's own JSON text when it is already OpenAI-shaped, sent as is. */
  raw?: string;
}

export interface StreamChunk {
  /** The chunk, parsed; read it, do not change it. */
  chunk: ChatCompletionChunk;
  /** Its JSON text, forwarded to the client as the SSE `data:` payload without re-serialising. */
  text: string;
}

/**
 * Anthropic Messages API backend: OpenAI chat requests go out translated to
 * `POST /v1/messages` and the answers (JSON or SSE) come back translated to
 * OpenAI's shapes: text, images, tool calls and JSON output. What Anthropic
 * cannot express is refused with a 400 before any call is made (see request.ts).
 */
import type { Dispatcher } from "undici";
import { isObject } from "../../core/openai-shape.js";
import type { ChatRequest } from "../../core/openai-types.js";
import { errors } from "../../errors.js";
import { type HttpTarget, UpstreamHttp } from "../http.js";
import { readSse, releaseSseBody } from "../sse.js";
import type { Backend, BackendCallContext, ChatResult, StreamChunk } from "../types.js";
import { toAnthropicRequest } from "./request.js";
import { asksForJsonObject } from "./request-tools.js";
import { fromAnthropicMessage, isAnthropicMessage } from "./response.js";
import { toOpenAIChunks } from "./stream.js";

export const ANTHROPIC_DEFAULTS = {
  baseUrl: "https://api.anthropic.com",
  anthropicVersion: "2023-06-01",
  /** Anthropic requires max_tokens; this is sent when the client gives none. */
  defaultMaxTokens: 4096,
} as const;

export interface AnthropicBackendOptions extends Omit<HttpTarget, "baseUrl"> {
  /** Origin (and optional path prefix) before `/v1/messages`; default https://api.anthropic.com. */
  baseUrl?: string;
  apiKey: string | undefined;
  /** The `anthropic-version` header; default 2023-06-01. */
  anthropicVersion?: string;
  defaultMaxTokens?: number;
  /** Extra headers sent on every call (e.g. `anthropic-beta`). */
  headers?: Record<string, string>;
}

/** The most pages of `GET /v1/models` read, so a misbehaving upstream cannot loop us forever. */
const MAX_MODEL_PAGES = 10;

export class AnthropicBackend implements Backend {
  readonly kind = "anthropic";
  readonly name: string;
  readonly #http: UpstreamHttp;
  readonly #headers: Record<string, string>;
  readonly #secrets: string[];
  readonly #defaultMaxTokens: number;

  constructor(opts: AnthropicBackendOptions) {
    this.name = opts.backend;
    // The key is a secret whether or not the caller listed it.
    this.#secrets = opts.apiKey ? [...opts.secrets, opts.apiKey] : [...opts.secrets];
    this.#http = new UpstreamHttp({
      ...opts,
      baseUrl: opts.baseUrl ?? ANTHROPIC_DEFAULTS.baseUrl,
      secrets: this.#secrets,
    });
    this.#headers = {
      ...opts.headers,
      "anthropic-version": opts.anthropicVersion ?? ANTHROPIC_DEFAULTS.anthropicVersion,
    };
    if (opts.apiKey) this.#headers["x-api-key"] = opts.apiKey;
    this.#defaultMaxTokens = opts.defaultMaxTokens ?? ANTHROPIC_DEFAULTS.defaultMaxTokens;
  }

  async chat(body: ChatRequest, ctx: BackendCallContext): Promise<ChatResult> {
    const request = toAnthropicRequest(body, { defaultMaxTokens: this.#defaultMaxTokens });
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#http.postJson("/v1/messages", JSON.stringify(request), this.#headers, ctx.signal);
    } catch (e) {
      throw this.#failure(e, ctx.signal);
    }
    const jsonObject = asksForJsonObject(body);
    if (body.stream) return { kind: "stream", events: this.#chunks(res, ctx.signal, jsonObject) };
    let parsed: unknown;
    try {
      parsed = await res.body.json();
    } catch (e) {
      // A body that is not JSON at all is a protocol fault, not a transport one.
      if (e instanceof SyntaxError) throw errors.upstreamProtocol({}, this.name, "the answer is not JSON");
      throw this.#failure(e, ctx.signal);
    }
    if (!isAnthropicMessage(parsed)) {
      throw errors.upstreamProtocol({}, this.name, "the answer is not an Anthropic message object");
    }
    return { kind: "json", body: fromAnthropicMessage(parsed, undefined, { jsonObject }) };
  }

  async *#chunks(res: Dispatcher.ResponseData, signal: AbortSignal, jsonObject: boolean): AsyncGenerator<StreamChunk> {
    // Set only when the translation ran to message_stop, not when the consumer stopped early.
    let complete = false;
    try {
      yield* toOpenAIChunks(readSse(res.body), { backend: this.name, secrets: this.#secrets, jsonObject });
      complete = true;
    } catch (e) {
      throw this.#failure(e, signal);
    } finally {
      releaseSseBody(res.body, complete);
    }
  }

  async listModels(signal: AbortSignal): Promise<string[]> {
    const ids: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < MAX_MODEL_PAGES; page++) {
      const query = `?limit=1000${after ? `&after_id=${encodeURIComponent(after)}` : ""}`;
      let body: unknown;
      try {
        body = await this.#http.getJson(`/v1/models${query}`, this.#headers, signal);
      } catch (e) {
        throw this.#failure(e, signal);
      }
      if (!isObject(body)) break;
      const data = Array.isArray(body.data) ? body.data : [];
      for (const m of data) if (isObject(m) && typeof m.id === "string") ids.push(m.id);
      if (body.has_more !== true || typeof body.last_id !== "string") break;
      after = body.last_id;
    }
    return ids;
  }

  close(): Promise<void> {
    return this.#http.close();
  }

  /** The Backend contract: an aborted call rethrows the signal's reason, whatever it is. */
  #failure(e: unknown, signal: AbortSignal): unknown {
    return signal.aborted ? signal.reason : this.#http.transportError(e, signal);
  }
}

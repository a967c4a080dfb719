/**
 * OpenAI-compatible backend (OpenAI, vLLM, Ollama, llama.cpp server, LM Studio,
 * TGI, Groq, Together, Mistral...), for chat completions and embeddings. The
 * request goes out as the client sent it (model replaced), and the answer comes
 * back without re-serialising.
 */
import type { Dispatcher } from "undici";
import { isChatCompletion, isChatCompletionChunk, isEmbeddingsResponse, isObject } from "../../core/openai-shape.js";
import type { ChatCompletionChunk, ChatRequest, EmbeddingsRequest } from "../../core/openai-types.js";
import { errors } from "../../errors.js";
import { type HttpTarget, redact, UpstreamHttp } from "../http.js";
import { bodyParts, releaseSseBody, SseDecoder, type SseEvent } from "../sse.js";
import type { Backend, BackendCallContext, ChatResult, EmbeddingsResult, StreamChunk } from "../types.js";

export interface OpenAIBackendOptions extends HttpTarget {
  apiKey: string | undefined;
  /** Extra headers sent on every call (e.g. OpenAI-Organization). */
  headers: Record<string, string>;
}

export class OpenAIBackend implements Backend {
  readonly kind = "openai";
  readonly name: string;
  readonly #http: UpstreamHttp;
  readonly #headers: Record<string, string>;
  readonly #secrets: string[];

  constructor(opts: OpenAIBackendOptions) {
    this.name = opts.backend;
    this.#secrets = opts.secrets;
    this.#http = new UpstreamHttp(opts);
    this.#headers = { ...opts.headers };
    if (opts.apiKey) this.#headers.authorization = `Bearer ${opts.apiKey}`;
  }

  async chat(body: ChatRequest, ctx: BackendCallContext): Promise<ChatResult> {
    const res = await this.#http.postJson("/chat/completions", JSON.stringify(body), this.#headers, ctx.signal);
    if (body.stream) return { kind: "stream", events: this.#chunks(res, ctx.signal) };
    const { body: completion, raw } = await this.#readJson(
      res,
      ctx.signal,
      isChatCompletion,
      "a chat.completion object",
    );
    return { kind: "json", body: completion, raw };
  }

  async embeddings(body: EmbeddingsRequest, ctx: BackendCallContext): Promise<EmbeddingsResult> {
    const res = await this.#http.postJson("/embeddings", JSON.stringify(body), this.#headers, ctx.signal);
    return this.#readJson(res, ctx.signal, isEmbeddingsResponse, "an embeddings list");
  }

  /** The whole answer, checked to be `what`, with its own text to forward as it came. */
  async #readJson<T>(
    res: Dispatcher.ResponseData,
    signal: AbortSignal,
    isWhat: (v: unknown) => v is T,
    what: string,
  ): Promise<{ body: T; raw: string }> {
    let raw: string;
    try {
      raw = await res.body.text();
    } catch (e) {
      throw this.#http.transportError(e, signal);
    }
    const parsed = parseJson(raw);
    if (!isWhat(parsed)) throw errors.upstreamProtocol({}, this.name, `the answer is not ${what}`);
    return { body: parsed, raw };
  }

  async *#chunks(res: Dispatcher.ResponseData, signal: AbortSignal): AsyncGenerator<StreamChunk> {
    let finished = false;
    let done = false;
    const decoder = new SseDecoder();
    /** The chunk an event carries; null for [DONE]. */
    const item = (ev: SseEvent): StreamChunk | null => {
      if (ev.data === "[DONE]") return null;
      const chunk = this.#chunk(ev.data);
      if (chunk.choices.some((c) => c.finish_reason)) finished = true;
      return { chunk, text: ev.data };
    };
    try {
      // The body is read here rather than through readSse: one async step less per chunk.
      for await (const part of bodyParts(res.body)) {
        for (const ev of decoder.push(part)) {
          const next = item(ev);
          if (!next) {
            done = true;
            return;
          }
          yield next;
        }
      }
      for (const ev of decoder.end()) {
        const next = item(ev);
        if (!next) {
          done = true;
          return;
        }
        yield next;
      }
    } catch (e) {
      throw this.#http.transportError(e, signal);
    } finally {
      releaseSseBody(res.body, done);
    }
    // Some servers omit [DONE]; a stream that said why it finished is complete all the same.
    if (!finished) throw errors.upstreamStreamBroken({}, this.name, "the stream ended before the answer finished");
  }

  /** One stream event's chat.completion.chunk; an error event or anything else ends the stream. */
  #chunk(data: string): ChatCompletionChunk {
    const parsed = parseJson(data);
    if (isObject(parsed) && "error" in parsed) {
      // Upstream text goes to the client and the log: redact it like an error body
      // (an upstream may quote the key it was sent, e.g. "invalid key sk-...").
      throw errors.upstreamStreamBroken({}, this.name, redact(describeStreamError(parsed.error), this.#secrets));
    }
    if (!isChatCompletionChunk(parsed)) {
      throw errors.upstreamProtocol(
        {},
        this.name,
        `a stream event is not a chat.completion.chunk: ${redact(data.slice(0, 120), this.#secrets)}`,
      );
    }
    return parsed;
  }

  async listModels(signal: AbortSignal): Promise<string[]> {
    const body = await this.#http.getJson("/models", this.#headers, signal);
    const data = isObject(body) && Array.isArray(body.data) ? body.data : [];
    return data.flatMap((m) => (isObject(m) && typeof m.id === "string" ? [m.id] : []));
  }

  close(): Promise<void> {
    return this.#http.close();
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describeStreamError(err: unknown): string {
  if (isObject(err) && typeof err.message === "string") return err.message;
  return typeof err === "string" ? err : "the upstream sent an error event";
}

/**
 * Where cached answers live. `MemoryResponseCache` is one process's own: least
 * recently used first out past `maxEntries` or `maxBytes`, each kept until its
 * TTL, a Map operation on the request path with no I/O. The Redis store
 * (redis-response-cache.ts) is shared by replicas.
 */
import type { ChatCompletion, EmbeddingsResponse } from "../core/openai-types.js";

/** A chat answer as a whole completion; embeddings with the upstream's own text, forwarded as it came. */
export type CachedAnswer =
  | { kind: "chat"; completion: ChatCompletion }
  | { kind: "embeddings"; body: EmbeddingsResponse; raw: string | undefined };

interface Entry {
  answer: CachedAnswer;
  bytes: number;
  expiresAt: number;
}

export interface CacheBounds {
  maxEntries: number;
  maxBytes: number;
}

export interface ResponseCacheStore {
  /** The answer kept under `key`, or undefined (never throws: a store that fails answers a miss). */
  get(key: string): CachedAnswer | undefined | Promise<CachedAnswer | undefined>;
  /** Keeps `answer` for `ttlMs`; `bytes` is its size as JSON text. Never throws, never waited for. */
  set(key: string, answer: CachedAnswer, bytes: number, ttlMs: number): void;
  /** Entries and bytes held, for the metrics; null when the store cannot tell cheaply. */
  readonly size: number | null;
  readonly bytes: number | null;
  /** Commands the store could not carry out (answered as misses). */
  readonly failures: number;
  close(): Promise<void>;
}

export class MemoryResponseCache implements ResponseCacheStore {
  /** A Map iterates in insertion order: re-inserting on a hit makes its first key the least recently used. */
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  readonly failures = 0;

  constructor(private readonly bounds: CacheBounds) {}

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get(key: string, now = Date.now()): CachedAnswer | undefined {
    const e = this.#entries.get(key);
    if (!e) return undefined;
    this.#entries.delete(key);
    if (e.expiresAt <= now) {
      this.#bytes -= e.bytes;
      return undefined;
    }
    this.#entries.set(key, e);
    return e.answer;
  }

  /** `bytes`: the answer's size as JSON text, what memory is bounded by. */
  set(key: string, answer: CachedAnswer, bytes: number, ttlMs: number, now = Date.now()): void {
    // One answer larger than the whole budget would only evict everything else.
    if (bytes > this.bounds.maxBytes) return;
    const old = this.#entries.get(key);
    if (old) {
      this.#entries.delete(key);
      this.#bytes -= old.bytes;
    }
    this.#entries.set(key, { answer, bytes, expiresAt: now + ttlMs });
    this.#bytes += bytes;
    for (const [k, e] of this.#entries) {
      if (this.#entries.size <= this.bounds.maxEntries && this.#bytes <= this.bounds.maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= e.bytes;
    }
  }

  async close(): Promise<void> {
    this.#entries.clear();
    this.#bytes = 0;
  }
}

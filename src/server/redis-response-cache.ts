/**
 * The response cache on a Redis that every replica shares: one key per answer
 * (`<keyPrefix>cache:<hash>`), its JSON as the value, expiring with the TTL.
 * Redis is an optimisation here, never a dependency of an answer: a command
 * that fails or takes longer than `commandTimeoutMs` is a miss (or a write not
 * made), counted and logged at most once a minute (see redis-client.ts for how
 * the connection fails fast).
 */
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { CachedAnswer, ResponseCacheStore } from "./response-cache.js";

export interface RedisCacheOptions {
  keyPrefix: string;
  /** Larger answers are not stored. */
  maxBytes: number;
}

const WARN_EVERY_MS = 60_000;

export class RedisResponseCache implements ResponseCacheStore {
  readonly #prefix: string;
  #lastWarn = 0;
  /** Commands that failed (Redis down, slow, or an unreadable value). */
  failures = 0;
  readonly size = null;
  readonly bytes = null;

  constructor(
    private readonly redis: Redis,
    private readonly opts: RedisCacheOptions,
    private readonly logger: Logger,
  ) {
    this.#prefix = `${opts.keyPrefix}cache:`;
  }

  async get(key: string): Promise<CachedAnswer | undefined> {
    try {
      const text = await this.redis.get(this.#prefix + key);
      return text === null ? undefined : (JSON.parse(text) as CachedAnswer);
    } catch (e) {
      this.#warn(e);
      return undefined;
    }
  }

  set(key: string, answer: CachedAnswer, bytes: number, ttlMs: number): void {
    if (bytes > this.opts.maxBytes) return;
    this.redis.set(this.#prefix + key, JSON.stringify(answer), "PX", ttlMs).catch((e) => this.#warn(e));
  }

  /** The connection is the gateway's to close. */
  async close(): Promise<void> {}

  #warn(e: unknown): void {
    this.failures++;
    const now = Date.now();
    if (now - this.#lastWarn < WARN_EVERY_MS) return;
    this.#lastWarn = now;
    // The URL may carry a password: only the error's own message is logged.
    this.logger.warn({ err: { message: (e as Error)?.message } }, "response cache: Redis failed; answering misses");
  }
}

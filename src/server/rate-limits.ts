/**
 * Per-key rate limits: the key's own (set with the key) or else its tenant's
 * `limits` (requests and tokens per minute), counted with rate-limiter-flexible in this process or on the shared
 * Redis (`limits.store: redis`: every replica counts together). A window is a
 * minute from a key's first request in it. Requests are counted on arrival;
 * tokens after the answer (a call is refused once the key's tokens for the
 * window are spent, since the next answer's size is not known in advance).
 * While Redis is unreachable each replica counts on its own, so a limit is
 * never lifted by a Redis outage, only spread over the replicas.
 */
import type { Redis } from "ioredis";
import type { RateLimiterAbstract, RateLimiterRes } from "rate-limiter-flexible";
import type { Config } from "../core/config/schema.js";
import { errors } from "../errors.js";
import type { Principal } from "./auth.js";

type Limiters = typeof import("rate-limiter-flexible");
type Kind = "requests" | "tokens";

const WINDOW_S = 60;

/** OpenAI's way of writing a reset delay in x-ratelimit-reset-*: "120ms", "1s", "6m0s". */
export function resetText(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.ceil(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`;
}

/** The limits that apply to a key: its own where set, else its tenant's. */
export function effectiveLimits(config: Config, p: Principal): { requests?: number; tokens?: number } {
  const tenant = Object.hasOwn(config.tenants, p.tenant) ? config.tenants[p.tenant]?.limits : undefined;
  const requests = p.key?.requests_per_minute ?? tenant?.requestsPerMinute;
  const tokens = p.key?.tokens_per_minute ?? tenant?.tokensPerMinute;
  return { ...(requests ? { requests } : {}), ...(tokens ? { tokens } : {}) };
}

export class KeyRateLimits {
  /** One limiter per kind and limit: every key with that limit counts in it, under its own id. */
  readonly #limiters = new Map<string, RateLimiterAbstract>();
  /** Whether any tenant has limits: without any, only a key's own can apply. */
  readonly #anyTenantLimits: boolean;

  /** rate-limiter-flexible, loaded when a limit first applies: most gateways never need it. */
  #mod: Limiters | undefined;
  #loading: Promise<Limiters> | undefined;

  private constructor(
    private readonly config: Config,
    private readonly redis: Redis | undefined,
  ) {
    this.#anyTenantLimits = Object.values(config.tenants).some((t) => t.limits);
  }

  static async open(config: Config, redis: Redis | undefined): Promise<KeyRateLimits> {
    const limits = new KeyRateLimits(config, redis);
    if (limits.#anyTenantLimits) await limits.#load();
    return limits;
  }

  #load(): Promise<Limiters> {
    this.#loading ??= import("rate-limiter-flexible").then((mod) => {
      this.#mod = mod;
      return mod;
    });
    return this.#loading;
  }

  #limiter(kind: Kind, points: number): RateLimiterAbstract {
    const name = `${kind}:${points}`;
    let limiter = this.#limiters.get(name);
    if (limiter) return limiter;
    // Keys are unique across tenants; a key whose limit changes starts a new count under the new limit.
    const opts = { points, duration: WINDOW_S, keyPrefix: `limits:${kind}:${points}` };
    const { redis, config } = this;
    const mod = this.#mod;
    if (!mod) throw new Error("rate limits used before rate-limiter-flexible was loaded");
    limiter =
      !redis || config.limits.store !== "redis"
        ? new mod.RateLimiterMemory(opts)
        : new mod.RateLimiterRedis({
            ...opts,
            keyPrefix: `${config.redis?.keyPrefix ?? ""}${opts.keyPrefix}`,
            storeClient: redis,
            insuranceLimiter: new mod.RateLimiterMemory(opts),
          });
    this.#limiters.set(name, limiter);
    return limiter;
  }

  /**
   * Counts one request of the key and answers the x-ratelimit-* headers to
   * send; throws a 429 (with the headers on it) when a limit is reached.
   */
  /** Whether any limit can apply to this key (false is the request path's usual case). */
  applies(p: Principal): boolean {
    return this.#anyTenantLimits || p.key?.requests_per_minute != null || p.key?.tokens_per_minute != null;
  }

  async admit(p: Principal): Promise<Record<string, string>> {
    const limits = effectiveLimits(this.config, p);
    if (limits.requests === undefined && limits.tokens === undefined) return {};
    if (!this.#mod) await this.#load();
    const id = p.keyId ?? "no-key";
    const headers: Record<string, string> = {};
    if (limits.tokens !== undefined) {
      const used = await this.#limiter("tokens", limits.tokens).get(id);
      const spent = used?.consumedPoints ?? 0;
      const reset = used?.msBeforeNext ?? WINDOW_S * 1000;
      Object.assign(headers, {
        "x-ratelimit-limit-tokens": String(limits.tokens),
        "x-ratelimit-remaining-tokens": String(Math.max(0, limits.tokens - spent)),
        "x-ratelimit-reset-tokens": resetText(reset),
      });
      if (spent >= limits.tokens)
        throw withHeaders(errors.tokenLimit({ retryAfterMs: reset }, limits.tokens, reset), headers);
    }
    if (limits.requests !== undefined) {
      let res: RateLimiterRes;
      let refused = false;
      try {
        res = await this.#limiter("requests", limits.requests).consume(id, 1);
      } catch (e) {
        // rate-limiter-flexible rejects with the counter's state when the limit is reached.
        if (!isLimiterRes(e)) throw e;
        res = e;
        refused = true;
      }
      Object.assign(headers, {
        "x-ratelimit-limit-requests": String(limits.requests),
        "x-ratelimit-remaining-requests": String(Math.max(0, res.remainingPoints)),
        "x-ratelimit-reset-requests": resetText(res.msBeforeNext),
      });
      if (refused) {
        throw withHeaders(
          errors.requestLimit({ retryAfterMs: res.msBeforeNext }, limits.requests, res.msBeforeNext),
          headers,
        );
      }
    }
    return headers;
  }

  /** Counts the tokens an answered call used against its key's tokens per minute. */
  spend(p: Principal, tokens: number): void {
    if (!this.applies(p)) return;
    const limit = effectiveLimits(this.config, p).tokens;
    if (limit === undefined || !(tokens > 0)) return;
    if (!this.#mod) {
      void this.#load()
        .then(() => this.spend(p, tokens))
        .catch(() => {});
      return;
    }
    void this.#limiter("tokens", limit)
      .penalty(p.keyId ?? "no-key", tokens)
      .catch(() => {});
  }
}

function isLimiterRes(e: unknown): e is RateLimiterRes {
  return typeof e === "object" && e !== null && "msBeforeNext" in e && "remainingPoints" in e;
}

/** A 429 that carries the x-ratelimit-* headers for the error handler to send. */
function withHeaders<E extends Error>(err: E, headers: Record<string, string>): E {
  return Object.assign(err, { headers });
}

/**
 * Per-key rate limits from the tenant's `limits` (requests and tokens per
 * minute), counted with rate-limiter-flexible in this process or on the shared
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

interface TenantLimiters {
  requests?: { limit: number; limiter: RateLimiterAbstract };
  tokens?: { limit: number; limiter: RateLimiterAbstract };
}

const WINDOW_S = 60;

/** OpenAI's way of writing a reset delay in x-ratelimit-reset-*: "120ms", "1s", "6m0s". */
export function resetText(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.ceil(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`;
}

export class KeyRateLimits {
  readonly #byTenant = new Map<string, TenantLimiters>();

  private constructor(mod: Limiters, config: Config, redis: Redis | undefined) {
    for (const [tenant, t] of Object.entries(config.tenants)) {
      if (!t.limits) continue;
      const make = (kind: string, points: number): RateLimiterAbstract => {
        const opts = { points, duration: WINDOW_S, keyPrefix: `limits:${tenant}:${kind}` };
        if (!redis || config.limits.store !== "redis") return new mod.RateLimiterMemory(opts);
        return new mod.RateLimiterRedis({
          ...opts,
          keyPrefix: `${config.redis?.keyPrefix ?? ""}${opts.keyPrefix}`,
          storeClient: redis,
          insuranceLimiter: new mod.RateLimiterMemory(opts),
        });
      };
      const entry: TenantLimiters = {};
      const { requestsPerMinute: rpm, tokensPerMinute: tpm } = t.limits;
      if (rpm) entry.requests = { limit: rpm, limiter: make("requests", rpm) };
      if (tpm) entry.tokens = { limit: tpm, limiter: make("tokens", tpm) };
      this.#byTenant.set(tenant, entry);
    }
  }

  /** The limits of a config, or undefined when no tenant has any (the request path then checks nothing). */
  static async open(config: Config, redis: Redis | undefined): Promise<KeyRateLimits | undefined> {
    if (!Object.values(config.tenants).some((t) => t.limits)) return undefined;
    return new KeyRateLimits(await import("rate-limiter-flexible"), config, redis);
  }

  /**
   * Counts one request of the key and answers the x-ratelimit-* headers to
   * send; throws a 429 (with the headers on it) when a limit is reached.
   */
  async admit(p: Principal): Promise<Record<string, string>> {
    const t = this.#byTenant.get(p.tenant);
    if (!t) return {};
    const id = p.keyId ?? "no-key";
    const headers: Record<string, string> = {};
    if (t.tokens) {
      const used = await t.tokens.limiter.get(id);
      const spent = used?.consumedPoints ?? 0;
      const reset = used?.msBeforeNext ?? WINDOW_S * 1000;
      Object.assign(headers, {
        "x-ratelimit-limit-tokens": String(t.tokens.limit),
        "x-ratelimit-remaining-tokens": String(Math.max(0, t.tokens.limit - spent)),
        "x-ratelimit-reset-tokens": resetText(reset),
      });
      if (spent >= t.tokens.limit)
        throw withHeaders(errors.tokenLimit({ retryAfterMs: reset }, t.tokens.limit, reset), headers);
    }
    if (t.requests) {
      let res: RateLimiterRes;
      let refused = false;
      try {
        res = await t.requests.limiter.consume(id, 1);
      } catch (e) {
        // rate-limiter-flexible rejects with the counter's state when the limit is reached.
        if (!isLimiterRes(e)) throw e;
        res = e;
        refused = true;
      }
      Object.assign(headers, {
        "x-ratelimit-limit-requests": String(t.requests.limit),
        "x-ratelimit-remaining-requests": String(Math.max(0, res.remainingPoints)),
        "x-ratelimit-reset-requests": resetText(res.msBeforeNext),
      });
      if (refused) {
        throw withHeaders(
          errors.requestLimit({ retryAfterMs: res.msBeforeNext }, t.requests.limit, res.msBeforeNext),
          headers,
        );
      }
    }
    return headers;
  }

  /** Counts the tokens an answered call used against its key's tokens per minute. */
  spend(p: Principal, tokens: number): void {
    const t = this.#byTenant.get(p.tenant)?.tokens;
    if (!t || !(tokens > 0)) return;
    void t.limiter.penalty(p.keyId ?? "no-key", tokens).catch(() => {});
  }
}

function isLimiterRes(e: unknown): e is RateLimiterRes {
  return typeof e === "object" && e !== null && "msBeforeNext" in e && "remainingPoints" in e;
}

/** A 429 that carries the x-ratelimit-* headers for the error handler to send. */
function withHeaders<E extends Error>(err: E, headers: Record<string, string>): E {
  return Object.assign(err, { headers });
}

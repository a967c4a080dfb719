/**
 * Whether and how one call uses the response cache: its route's switch, the
 * client's `x-switchyard-cache` header (`bypass`: neither read nor write;
 * `refresh`: ask the upstream and replace the entry), and the sampling rule.
 */
import type { FastifyRequest } from "fastify";
import { cacheKey, samples } from "../core/cache-key.js";
import type { ChatCompletion, ChatRequest } from "../core/openai-types.js";
import { errors } from "../errors.js";
import type { Gateway } from "./gateway.js";
import type { RoutedCall } from "./routed-call.js";

/** What the response's `x-switchyard-cache` header says; `off` sends none (the route has no cache). */
export type CacheState = "hit" | "miss" | "refresh" | "bypass" | "sampled" | "off";

export interface CacheUse {
  state: CacheState;
  /** Set when the answer may be written to the cache (a miss or a refresh). */
  key?: string;
  ttlMs: number;
  hit?: ChatCompletion;
}

export function cacheUse(gw: Gateway, req: FastifyRequest, call: RoutedCall<ChatRequest>): CacheUse {
  const cfg = call.resolved.route.cache;
  const ttlMs = cfg.ttlMs ?? gw.config.cache.ttlMs;
  if (!cfg.enabled) return { state: "off", ttlMs };
  const asked = req.headers["x-switchyard-cache"];
  if (asked !== undefined && asked !== "bypass" && asked !== "refresh") {
    throw errors.invalidHeader("x-switchyard-cache", 'expected "bypass" or "refresh"');
  }
  if (asked === "bypass") return { state: "bypass", ttlMs };
  if (samples(call.body) && !cfg.sampling) return { state: "sampled", ttlMs };
  const key = cacheKey({
    tenant: call.principal.tenant,
    route: call.resolved.name,
    variant: call.resolved.variant.name,
    body: call.body,
  });
  if (asked === "refresh") return { state: "refresh", key, ttlMs };
  const hit = gw.cache.get(key);
  return hit ? { state: "hit", ttlMs, hit } : { state: "miss", key, ttlMs };
}

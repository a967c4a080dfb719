/**
 * Whether and how one call uses the response cache: its route's switch, the
 * client's `x-switchyard-cache` header (`bypass`: neither read nor write;
 * `refresh`: ask the upstream and replace the entry), and the sampling rule
 * (chat only: embeddings do not sample). Counts the lookup and says how it
 * went in the response's `x-switchyard-cache` header.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { cacheKey, samples } from "../core/cache-key.js";
import type { ChatRequest } from "../core/openai-types.js";
import { errors } from "../errors.js";
import type { Gateway } from "./gateway.js";
import type { CachedAnswer } from "./response-cache.js";
import type { RoutedCall } from "./routed-call.js";

/** What the response's `x-switchyard-cache` header says; `off` sends none (the route has no cache). */
export type CacheState = "hit" | "miss" | "refresh" | "bypass" | "sampled" | "off";

export interface CacheUse<A> {
  state: CacheState;
  /** Set when the answer may be written to the cache (a miss or a refresh). */
  key?: string;
  ttlMs: number;
  hit?: A;
}

type Kinded<K extends CachedAnswer["kind"]> = Extract<CachedAnswer, { kind: K }>;

/**
 * Synchronous when nothing needs reading (the route has no cache, a bypass,
 * a sampled request), so a route without a cache pays no await; a lookup in an
 * asynchronous store (Redis) returns a promise.
 */
export function cacheUse<K extends CachedAnswer["kind"]>(
  gw: Gateway,
  reply: FastifyReply,
  call: RoutedCall<Record<string, unknown>>,
  kind: K,
): CacheUse<Kinded<K>> | Promise<CacheUse<Kinded<K>>> {
  const use = decide(gw, reply.request, call, kind);
  if (use.state !== "miss" || !use.key) return said(gw, reply, call, use);
  const found = gw.cache.get(use.key);
  return found instanceof Promise
    ? found.then((hit) => said(gw, reply, call, withHit(use, hit, kind)))
    : said(gw, reply, call, withHit(use, found, kind));
}

function withHit<K extends CachedAnswer["kind"]>(
  use: CacheUse<Kinded<K>>,
  hit: CachedAnswer | undefined,
  kind: K,
): CacheUse<Kinded<K>> {
  return hit?.kind === kind ? { state: "hit", ttlMs: use.ttlMs, hit: hit as Kinded<K> } : use;
}

/** Says how the cache was used, in the response header and the metrics. */
function said<A>(gw: Gateway, reply: FastifyReply, call: RoutedCall<unknown>, use: CacheUse<A>): CacheUse<A> {
  if (use.state !== "off") {
    reply.header("x-switchyard-cache", use.state);
    gw.metrics.cacheLookups.inc({ route: call.resolved.name, result: use.state });
  }
  return use;
}

function decide<K extends CachedAnswer["kind"]>(
  gw: Gateway,
  req: FastifyRequest,
  call: RoutedCall<Record<string, unknown>>,
  kind: K,
): CacheUse<Kinded<K>> {
  const cfg = call.resolved.route.cache;
  const ttlMs = cfg.ttlMs ?? gw.config.cache.ttlMs;
  if (!cfg.enabled) return { state: "off", ttlMs };
  const asked = req.headers["x-switchyard-cache"];
  if (asked !== undefined && asked !== "bypass" && asked !== "refresh") {
    throw errors.invalidHeader("x-switchyard-cache", 'expected "bypass" or "refresh"');
  }
  if (asked === "bypass") return { state: "bypass", ttlMs };
  if (kind === "chat" && samples(call.body as ChatRequest) && !cfg.sampling) return { state: "sampled", ttlMs };
  const key = cacheKey({
    kind,
    tenant: call.principal.tenant,
    route: call.resolved.name,
    variant: call.resolved.variant.name,
    body: call.body,
  });
  return asked === "refresh" ? { state: "refresh", key, ttlMs } : { state: "miss", key, ttlMs };
}

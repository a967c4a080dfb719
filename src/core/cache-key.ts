/**
 * What the response cache matches on: the tenant, the route and the variant
 * that would serve, and the request's fields that shape the answer (messages,
 * sampling and tool parameters...), normalised so key order does not matter.
 * Versioned: a change of what goes into the key is a new version, so old
 * entries are never read as new ones.
 */
import { createHash } from "node:crypto";
import type { ChatRequest } from "./openai-types.js";
import { stableJson } from "./stable-json.js";

export const CACHE_KEY_VERSION = "switchyard-cache-v1";

/** Fields that do not change the answer: how it is delivered, who asked, what the provider keeps. */
const NOT_IN_KEY = new Set(["stream", "stream_options", "user", "metadata", "store", "service_tier"]);

export interface CacheKeyParts {
  /** What the answer is: a chat answer or embeddings (their bodies could never collide, but say so). */
  kind: "chat" | "embeddings";
  tenant: string;
  route: string;
  variant: string;
  body: Record<string, unknown>;
}

export function cacheKey(p: CacheKeyParts): string {
  const shaping: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p.body)) if (!NOT_IN_KEY.has(k) && v !== undefined) shaping[k] = v;
  return createHash("sha256")
    .update(stableJson([CACHE_KEY_VERSION, p.kind, p.tenant, p.route, p.variant, shaping]))
    .digest("hex");
}

/** True when the request samples: a temperature above 0, as OpenAI's default of 1 is when none is sent. */
export function samples(body: ChatRequest): boolean {
  return (typeof body.temperature === "number" ? body.temperature : 1) > 0;
}

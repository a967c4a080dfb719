/**
 * Operations endpoints: liveness, readiness (store reachable, at least one
 * backend whose breaker is not open), Prometheus metrics, and the admin view of
 * backends with their health.
 */

import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { errors } from "../errors.js";
import type { Gateway } from "./gateway.js";

/** A llama-cpp backend's engine: model state, adapters, memory, sequences, speed. */
function localHealth(gw: Gateway, name: string): { local?: Record<string, unknown> } {
  const b = gw.localEngines.get(name);
  if (!b) return {};
  const s = b.stats();
  return {
    local: {
      model: s.state,
      error: s.error,
      adapters_loaded: s.adaptersLoaded,
      memory_bytes: s.memoryBytes,
      sequences_active: s.active,
      sequences_queued: s.queued,
      parallel: s.parallel,
      max_queue: s.maxQueue,
      threads: s.threads,
      tokens_per_second: Math.round(s.tokensPerSecond * 10) / 10,
      generated_tokens: s.generatedTokens,
    },
  };
}

export function registerOps(app: FastifyInstance, gw: Gateway): void {
  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (_req, reply) => {
    const checks: Record<string, string> = {};
    if (gw.draining) checks.server = "draining";
    try {
      await sql`select 1`.execute(gw.db);
      checks.store = "ok";
    } catch (e) {
      checks.store = `unreachable: ${(e as Error).message}`;
    }
    const healthy = [...gw.backends.values()].filter((b) => b.breakerState !== "open").length;
    checks.backends = `${healthy}/${gw.backends.size} available`;
    const ready = !gw.draining && checks.store === "ok" && healthy > 0;
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not ready", checks });
  });

  app.get("/metrics", async (_req, reply) => {
    const body = await gw.metrics.registry.metrics();
    return reply.type(gw.metrics.registry.contentType).send(body);
  });

  app.get("/v1/admin/backends", async (req) => {
    const p = await gw.auth.authenticate(req);
    if (p.role !== "admin") throw errors.forbidden("read backend health (admin keys only)");
    return {
      object: "list",
      data: [...gw.backends.entries()].map(([name, b]) => ({
        name,
        kind: b.kind,
        breaker: b.breakerState,
        in_flight: b.inFlight,
        max_concurrency: gw.config.backends[name]?.maxConcurrency,
        ...localHealth(gw, name),
      })),
    };
  });
}

/** Prometheus metrics, on a registry of their own so tests can run several servers. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { type LocalEngineSource, registerLocalEngineMetrics } from "./local-metrics.js";

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export interface GatewayMetrics {
  registry: Registry;
  requests: Counter<"route" | "variant" | "backend" | "status">;
  latency: Histogram<"route" | "variant" | "backend">;
  ttft: Histogram<"route" | "variant" | "backend">;
  upstreamErrors: Counter<"backend" | "code">;
  breakerState: Gauge<"backend">;
  inFlight: Gauge<"backend">;
  logQueueDepth: Gauge;
  logRowsDropped: Gauge;
  experimentAssignments: Counter<"experiment" | "variant" | "assigned_by">;
  shadowCalls: Counter<"experiment" | "variant" | "outcome">;
  shadowShed: Counter<"experiment" | "reason">;
  shadowActive: Gauge;
  shadowQueued: Gauge;
  shadowResultsDropped: Gauge;
  cacheLookups: Counter<"route" | "result">;
  rateLimited: Counter<"tenant" | "code">;
}

export const BREAKER_VALUE = { closed: 0, "half-open": 1, open: 2 } as const;

/** Values read at scrape time rather than updated on every request. */
export interface ScrapeSources {
  logQueueDepth(): number;
  logRowsDropped(): number;
  backendsInFlight(): Iterable<[string, number]>;
  shadowActive(): number;
  shadowQueued(): number;
  shadowResultsDropped(): number;
  cacheEntries(): number | null;
  cacheBytes(): number | null;
  cacheFailures(): number;
  /** The llama-cpp backends' engines. */
  localEngines: LocalEngineSource;
}

export function createMetrics(sources: ScrapeSources): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "switchyard_process_" });
  const m: GatewayMetrics = {
    registry,
    requests: new Counter({
      name: "switchyard_requests_total",
      help: "Chat requests answered, by route, variant, backend and HTTP status",
      labelNames: ["route", "variant", "backend", "status"],
      registers: [registry],
    }),
    latency: new Histogram({
      name: "switchyard_request_duration_seconds",
      help: "Time from request to last byte",
      labelNames: ["route", "variant", "backend"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    ttft: new Histogram({
      name: "switchyard_time_to_first_token_seconds",
      help: "Time from request to the first streamed chunk sent to the client",
      labelNames: ["route", "variant", "backend"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    upstreamErrors: new Counter({
      name: "switchyard_upstream_errors_total",
      help: "Failed upstream calls (after retries), by backend and error code",
      labelNames: ["backend", "code"],
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: "switchyard_breaker_state",
      help: "Circuit breaker state per backend: 0 closed, 1 half-open, 2 open",
      labelNames: ["backend"],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: "switchyard_backend_in_flight",
      help: "Calls in progress per backend",
      labelNames: ["backend"],
      registers: [registry],
      collect() {
        for (const [backend, n] of sources.backendsInFlight()) this.set({ backend }, n);
      },
    }),
    logQueueDepth: new Gauge({
      name: "switchyard_log_queue_depth",
      help: "Request log rows waiting to be written",
      registers: [registry],
      collect() {
        this.set(sources.logQueueDepth());
      },
    }),
    logRowsDropped: new Gauge({
      name: "switchyard_log_rows_dropped",
      help: "Request log rows dropped because the queue was full",
      registers: [registry],
      collect() {
        this.set(sources.logRowsDropped());
      },
    }),
    experimentAssignments: new Counter({
      name: "switchyard_experiment_assignments_total",
      help: "Requests on a route in an experiment, by variant and how it was chosen (hash, pin, override, paused, stopped, breaker, default)",
      labelNames: ["experiment", "variant", "assigned_by"],
      registers: [registry],
    }),
    shadowCalls: new Counter({
      name: "switchyard_shadow_calls_total",
      help: "Shadow calls made, by experiment, candidate variant and outcome (ok, error, timeout)",
      labelNames: ["experiment", "variant", "outcome"],
      registers: [registry],
    }),
    shadowShed: new Counter({
      name: "switchyard_shadow_shed_total",
      help: "Shadow calls not made, by reason (queue_full, breaker_open, backend_busy, shutdown)",
      labelNames: ["experiment", "reason"],
      registers: [registry],
    }),
    shadowActive: new Gauge({
      name: "switchyard_shadow_active",
      help: "Shadow and judge calls running",
      registers: [registry],
      collect() {
        this.set(sources.shadowActive());
      },
    }),
    shadowQueued: new Gauge({
      name: "switchyard_shadow_queued",
      help: "Shadow calls waiting for a slot",
      registers: [registry],
      collect() {
        this.set(sources.shadowQueued());
      },
    }),
    shadowResultsDropped: new Gauge({
      name: "switchyard_shadow_results_dropped",
      help: "Shadow comparisons dropped because too many waited for the store",
      registers: [registry],
      collect() {
        this.set(sources.shadowResultsDropped());
      },
    }),
    rateLimited: new Counter({
      name: "switchyard_rate_limited_total",
      help: "Calls refused with a 429 by a key's limits or a spent budget, by tenant and limit (SY_ERR_LIMIT_REQUESTS, _TOKENS or _BUDGET)",
      labelNames: ["tenant", "code"],
      registers: [registry],
    }),
    cacheLookups: new Counter({
      name: "switchyard_cache_lookups_total",
      help: "Response cache use on routes that have it: hit, miss, refresh, bypass (header) or sampled (not cacheable)",
      labelNames: ["route", "result"],
      registers: [registry],
    }),
  };
  // Only the in-memory store can count what it holds; with Redis, Redis's own INFO says.
  new Gauge({
    name: "switchyard_cache_entries",
    help: "Answers held by this process's in-memory response cache",
    registers: [registry],
    collect() {
      const n = sources.cacheEntries();
      if (n !== null) this.set(n);
    },
  });
  new Gauge({
    name: "switchyard_cache_bytes",
    help: "Size of those answers as JSON text",
    registers: [registry],
    collect() {
      const n = sources.cacheBytes();
      if (n !== null) this.set(n);
    },
  });
  new Gauge({
    name: "switchyard_cache_store_failures",
    help: "Response cache commands that failed or timed out (Redis store), answered as misses",
    registers: [registry],
    collect() {
      this.set(sources.cacheFailures());
    },
  });
  registerLocalEngineMetrics(registry, sources.localEngines);
  return m;
}

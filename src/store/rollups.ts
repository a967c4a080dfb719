/**
 * Hourly rollups of every route's traffic (for usage over time), of each
 * experiment's analysed requests (hash-assigned, client cancellations left
 * out) and of the thumbs and stars given to them, so a report over a million
 * requests reads a few hundred rows. Request
 * rollups are added by the log writer in the same transaction as their rows;
 * feedback rollups by each feedback write (rollup-queries.ts), replacing the
 * old value's share when feedback is changed. A success, here as in the report's queries:
 * status 200, no error, answered by the variant itself.
 */
import type BetterSqlite3 from "better-sqlite3";
import { addToSketch, mergeSketch, type Sketch } from "../core/sketch.js";
import type { HourUsage } from "../core/usage.js";
import { REQUEST_LOG_COLUMNS } from "./request-log-columns.js";

export const HOUR_MS = 3_600_000;
export const hourOf = (t: number): number => Math.floor(t / HOUR_MS) * HOUR_MS;

const at = Object.fromEntries(REQUEST_LOG_COLUMNS.map((c, i) => [c, i])) as Record<
  (typeof REQUEST_LOG_COLUMNS)[number],
  number
>;

export interface RequestRollup {
  experiment: string;
  tenant: string;
  variant: string;
  hour: number;
  requests: number;
  successes: number;
  latencySum: number;
  latencySq: number;
  ttftN: number;
  ttftSum: number;
  ttftSq: number;
  inputTokens: number;
  outputTokens: number;
  outputSq: number;
  tokenRequests: number;
  costSum: number;
  costSq: number;
  costN: number;
  latency: Sketch;
  ttft: Sketch;
}

/** An hour of one key's calls, for its spend budget. */
export interface KeyRollup {
  keyId: string;
  tenant: string;
  hour: number;
  requests: number;
  costSum: number;
  tokens: number;
}

/** An hour of a route's traffic, as core/usage.ts reads it, for one tenant. */
export interface RouteRollup extends HourUsage {
  tenant: string;
}

const finite = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/**
 * Sums a batch's rows (positional, REQUEST_LOG_COLUMNS order) by route,
 * tenant and hour (all traffic) and by experiment, tenant, variant and hour
 * (the experiment's analysed requests).
 */
export class RollupBatch {
  readonly #byKey = new Map<string, RequestRollup>();
  readonly #routes = new Map<string, RouteRollup>();
  readonly #keys = new Map<string, KeyRollup>();

  add(values: unknown[]): void {
    this.#addRoute(values);
    this.#addKey(values);
    const experiment = values[at.experiment];
    const variant = values[at.variant];
    const status = values[at.status];
    if (typeof experiment !== "string" || typeof variant !== "string") return;
    if (values[at.assigned_by] !== "hash" || status === 499) return;
    const tenant = String(values[at.tenant]);
    const hour = hourOf(Number(values[at.created_at]));
    const key = `${experiment}\u0000${tenant}\u0000${variant}\u0000${hour}`;
    let r = this.#byKey.get(key);
    if (!r) {
      r = {
        experiment,
        tenant,
        variant,
        hour,
        requests: 0,
        successes: 0,
        latencySum: 0,
        latencySq: 0,
        ttftN: 0,
        ttftSum: 0,
        ttftSq: 0,
        inputTokens: 0,
        outputTokens: 0,
        outputSq: 0,
        tokenRequests: 0,
        costSum: 0,
        costSq: 0,
        costN: 0,
        latency: {},
        ttft: {},
      };
      this.#byKey.set(key, r);
    }
    r.requests++;
    const success = status === 200 && values[at.error_code] == null && (values[at.fallback_used] ?? 0) === 0;
    const latency = finite(values[at.latency_ms]) ?? 0;
    const ttft = finite(values[at.ttft_ms]);
    if (success) {
      r.successes++;
      r.latencySum += latency;
      r.latencySq += latency * latency;
      addToSketch(r.latency, latency);
      if (ttft !== null) addToSketch(r.ttft, ttft);
    }
    if (ttft !== null) {
      r.ttftN++;
      r.ttftSum += ttft;
      r.ttftSq += ttft * ttft;
    }
    r.inputTokens += finite(values[at.input_tokens]) ?? 0;
    const output = finite(values[at.output_tokens]);
    if (output !== null) {
      r.outputTokens += output;
      r.outputSq += output * output;
      r.tokenRequests++;
    }
    const cost = finite(values[at.cost_usd]);
    if (cost !== null) {
      r.costSum += cost;
      r.costSq += cost * cost;
      r.costN++;
    }
  }

  #addRoute(values: unknown[]): void {
    const route = String(values[at.route]);
    const tenant = String(values[at.tenant]);
    const hour = hourOf(Number(values[at.created_at]));
    const key = `${route}\u0000${tenant}\u0000${hour}`;
    let r = this.#routes.get(key);
    if (!r) {
      r = {
        route,
        tenant,
        hour,
        requests: 0,
        errors: 0,
        cancelled: 0,
        costSum: 0,
        inputTokens: 0,
        outputTokens: 0,
        latencyN: 0,
        latencySum: 0,
        latency: {},
      };
      this.#routes.set(key, r);
    }
    const status = Number(values[at.status]);
    r.requests++;
    if (status === 499) r.cancelled++;
    else if (status >= 500 || (status === 200 && values[at.error_code] != null)) r.errors++;
    r.costSum += finite(values[at.cost_usd]) ?? 0;
    r.inputTokens += finite(values[at.input_tokens]) ?? 0;
    r.outputTokens += finite(values[at.output_tokens]) ?? 0;
    if (status === 200 && values[at.error_code] == null) {
      const latency = finite(values[at.latency_ms]) ?? 0;
      r.latencyN++;
      r.latencySum += latency;
      addToSketch(r.latency, latency);
    }
  }

  #addKey(values: unknown[]): void {
    const keyId = values[at.key_id];
    if (typeof keyId !== "string") return;
    const hour = hourOf(Number(values[at.created_at]));
    const key = `${keyId}\u0000${hour}`;
    let r = this.#keys.get(key);
    if (!r) {
      r = { keyId, tenant: String(values[at.tenant]), hour, requests: 0, costSum: 0, tokens: 0 };
      this.#keys.set(key, r);
    }
    r.requests++;
    r.costSum += finite(values[at.cost_usd]) ?? 0;
    r.tokens += (finite(values[at.input_tokens]) ?? 0) + (finite(values[at.output_tokens]) ?? 0);
  }

  /** Sorted by key and hour: writers on several replicas then lock rows in the same order. */
  keys(): KeyRollup[] {
    return [...this.#keys.values()].sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : a.hour - b.hour));
  }

  values(): IterableIterator<RequestRollup> {
    return this.#byKey.values();
  }

  routes(): IterableIterator<RouteRollup> {
    return this.#routes.values();
  }
}

/** Adds a batch's rollups to the store; call inside the batch's transaction (synchronous, writer thread). */
export function rollupWriter(db: BetterSqlite3.Database): (batch: RollupBatch) => void {
  const key = "experiment = ? AND tenant = ? AND variant = ? AND hour = ?";
  const select = db.prepare(`SELECT latency_sketch, ttft_sketch FROM experiment_rollups WHERE ${key}`);
  const insert = db.prepare(
    `INSERT INTO experiment_rollups (experiment, tenant, variant, hour, requests, successes, latency_sum, latency_sq,
       ttft_n, ttft_sum, ttft_sq, input_tokens, output_tokens, output_sq, token_requests, cost_sum, cost_sq, cost_n,
       latency_sketch, ttft_sketch)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const update = db.prepare(
    `UPDATE experiment_rollups SET requests = requests + ?, successes = successes + ?, latency_sum = latency_sum + ?,
       latency_sq = latency_sq + ?, ttft_n = ttft_n + ?, ttft_sum = ttft_sum + ?, ttft_sq = ttft_sq + ?,
       input_tokens = input_tokens + ?, output_tokens = output_tokens + ?, output_sq = output_sq + ?,
       token_requests = token_requests + ?, cost_sum = cost_sum + ?,
       cost_sq = cost_sq + ?, cost_n = cost_n + ?, latency_sketch = ?, ttft_sketch = ? WHERE ${key}`,
  );
  const routeKey = "route = ? AND tenant = ? AND hour = ?";
  const selectRoute = db.prepare(`SELECT latency_sketch FROM route_rollups WHERE ${routeKey}`);
  const insertRoute = db.prepare(
    `INSERT INTO route_rollups (route, tenant, hour, requests, errors, cancelled, cost_sum, input_tokens, output_tokens,
       latency_n, latency_sum, latency_sketch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const updateRoute = db.prepare(
    `UPDATE route_rollups SET requests = requests + ?, errors = errors + ?, cancelled = cancelled + ?,
       cost_sum = cost_sum + ?, input_tokens = input_tokens + ?, output_tokens = output_tokens + ?,
       latency_n = latency_n + ?, latency_sum = latency_sum + ?, latency_sketch = ? WHERE ${routeKey}`,
  );
  const upsertKey = db.prepare(
    `INSERT INTO key_rollups (key_id, tenant, hour, requests, cost_sum, tokens) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (key_id, hour) DO UPDATE SET requests = key_rollups.requests + excluded.requests,
       cost_sum = key_rollups.cost_sum + excluded.cost_sum, tokens = key_rollups.tokens + excluded.tokens`,
  );
  return (batch) => {
    for (const r of batch.keys()) upsertKey.run(r.keyId, r.tenant, r.hour, r.requests, r.costSum, r.tokens);
    for (const r of batch.routes()) {
      const k = [r.route, r.tenant, r.hour];
      const sums = [
        r.requests,
        r.errors,
        r.cancelled,
        r.costSum,
        r.inputTokens,
        r.outputTokens,
        r.latencyN,
        r.latencySum,
      ];
      const old = selectRoute.get(...k) as { latency_sketch: string } | undefined;
      if (!old) insertRoute.run(...k, ...sums, JSON.stringify(r.latency));
      else
        updateRoute.run(
          ...sums,
          JSON.stringify(mergeSketch(JSON.parse(old.latency_sketch) as Sketch, r.latency)),
          ...k,
        );
    }
    for (const r of batch.values()) {
      const k = [r.experiment, r.tenant, r.variant, r.hour];
      const sums = [
        r.requests,
        r.successes,
        r.latencySum,
        r.latencySq,
        r.ttftN,
        r.ttftSum,
        r.ttftSq,
        r.inputTokens,
        r.outputTokens,
        r.outputSq,
        r.tokenRequests,
        r.costSum,
        r.costSq,
        r.costN,
      ];
      const old = select.get(...k) as { latency_sketch: string; ttft_sketch: string } | undefined;
      if (!old) {
        insert.run(...k, ...sums, JSON.stringify(r.latency), JSON.stringify(r.ttft));
        continue;
      }
      const latency = mergeSketch(JSON.parse(old.latency_sketch) as Sketch, r.latency);
      const ttft = mergeSketch(JSON.parse(old.ttft_sketch) as Sketch, r.ttft);
      update.run(...sums, JSON.stringify(latency), JSON.stringify(ttft), ...k);
    }
  };
}

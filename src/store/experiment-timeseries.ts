/**
 * An experiment's traffic over time, per variant and per hour or day (UTC):
 * requests, its share of the bucket's requests, successes, failures, and the
 * latency of successful answers (p50 / p95 from the merged sketches). The
 * population is the report's (hash-assigned, client cancellations left out);
 * whole hours come from the hourly rollups, the partial hours at the window's
 * edges (the current hour, usually) from the request log, as in
 * experiment-report.ts.
 */

import { mergeSketch, type Sketch, sketchQuantile } from "../core/sketch.js";
import { BUCKET_MS, type Bucket } from "../core/usage.js";
import type { Db } from "./db.js";
import { type ReportScope, sketches, variantSums } from "./report-queries.js";
import { HOUR_MS, hourOf } from "./rollups.js";

export interface VariantPoint {
  /** Start of the bucket, ms since the epoch. */
  t: number;
  requests: number;
  /** This variant's requests over all the experiment's requests in the bucket (0 to 1). */
  share: number;
  successes: number;
  /** Requests that were not a success (an error, or answered by a route fallback). */
  failures: number;
  latencyMs: { p50: number | null; p95: number | null };
}

export interface ExperimentSeries {
  variant: string;
  /** In time order; buckets where the experiment had no traffic are left out. */
  points: VariantPoint[];
}

interface Acc {
  requests: number;
  successes: number;
  latency: Sketch;
}

/** Per variant (in `variants` order, then any other logged variant), its points over [from, to). */
export async function experimentTimeseries(
  db: Db,
  e: { name: string; route: string },
  variants: string[],
  tenant: string,
  opts: { from: number; to: number; bucket: Bucket },
): Promise<ExperimentSeries[]> {
  const { from, to } = opts;
  const size = BUCKET_MS[opts.bucket];
  // bucket start → variant → sums
  const acc = new Map<number, Map<string, Acc>>();
  const add = (hour: number, variant: string, requests: number, successes: number, latency: Sketch) => {
    const t = Math.floor(hour / size) * size;
    const byVariant = acc.get(t) ?? new Map<string, Acc>();
    acc.set(t, byVariant);
    const cur = byVariant.get(variant) ?? { requests: 0, successes: 0, latency: {} };
    cur.requests += requests;
    cur.successes += successes;
    mergeSketch(cur.latency, latency);
    byVariant.set(variant, cur);
  };

  // Whole hours inside the window from the rollups.
  const firstWhole = Math.ceil(from / HOUR_MS) * HOUR_MS;
  const endWhole = Math.floor(to / HOUR_MS) * HOUR_MS;
  if (firstWhole < endWhole) {
    const rows = await db
      .selectFrom("experiment_rollups")
      .select(["variant", "hour", "requests", "successes", "latency_sketch"])
      .where("experiment", "=", e.name)
      .where("tenant", "=", tenant)
      .where("hour", ">=", firstWhole)
      .where("hour", "<", endWhole)
      .execute();
    for (const r of rows) {
      add(Number(r.hour), r.variant, Number(r.requests), Number(r.successes), JSON.parse(r.latency_sketch) as Sketch);
    }
  }
  // The partial hours at the edges (each inside one hour) from the log.
  const edges: [number, number][] =
    firstWhole < endWhole
      ? [
          [from, firstWhole],
          [endWhole, to],
        ]
      : splitByHour(from, to);
  for (const [a, b] of edges) {
    if (a >= b) continue;
    const scope: ReportScope = { experiment: e.name, route: e.route, tenant, from: a, to: b };
    const latency = await sketches(db, scope, "latency_ms");
    for (const s of await variantSums(db, scope)) {
      add(hourOf(a), s.variant, s.requests, s.successes, latency.get(s.variant) ?? {});
    }
  }

  const seen = new Set<string>();
  for (const byVariant of acc.values()) for (const v of byVariant.keys()) seen.add(v);
  const order = [...variants.filter((v) => seen.has(v)), ...[...seen].filter((v) => !variants.includes(v)).sort()];
  const times = [...acc.keys()].sort((a, b) => a - b);
  return order.map((variant) => ({
    variant,
    points: times.map((t) => {
      const byVariant = acc.get(t) as Map<string, Acc>;
      let total = 0;
      for (const x of byVariant.values()) total += x.requests;
      const cur = byVariant.get(variant) ?? { requests: 0, successes: 0, latency: {} };
      return {
        t,
        requests: cur.requests,
        share: total > 0 ? cur.requests / total : 0,
        successes: cur.successes,
        failures: cur.requests - cur.successes,
        latencyMs: { p50: sketchQuantile(cur.latency, 0.5), p95: sketchQuantile(cur.latency, 0.95) },
      };
    }),
  }));
}

/** [from, to) cut at hour boundaries (used when the window holds no whole hour: at most two pieces). */
function splitByHour(from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  for (let a = from; a < to; a = hourOf(a) + HOUR_MS) out.push([a, Math.min(to, hourOf(a) + HOUR_MS)]);
  return out;
}

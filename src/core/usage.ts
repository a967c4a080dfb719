/**
 * Route usage over time for the dashboard: hourly rollups merged into hour or
 * day buckets (UTC), per route: requests, errors, cancellations, cost,
 * tokens, and latency of successful answers (mean, and p50 / p95 from the
 * merged sketches).
 */
import { mergeSketch, type Sketch, sketchQuantile } from "./sketch.js";

export interface HourUsage {
  route: string;
  hour: number;
  requests: number;
  errors: number;
  cancelled: number;
  costSum: number;
  inputTokens: number;
  outputTokens: number;
  latencyN: number;
  latencySum: number;
  latency: Sketch;
}

export interface UsagePoint {
  /** Start of the bucket, ms since the epoch. */
  t: number;
  requests: number;
  errors: number;
  cancelled: number;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  latencyMs: { mean: number | null; p50: number | null; p95: number | null };
}

export const BUCKET_MS = { hour: 3_600_000, day: 86_400_000 } as const;
export type Bucket = keyof typeof BUCKET_MS;

/** Per route, its points in time order (buckets without traffic are left out). */
export function usageSeries(hours: HourUsage[], bucket: Bucket): Map<string, UsagePoint[]> {
  const size = BUCKET_MS[bucket];
  const acc = new Map<string, Map<number, HourUsage>>();
  for (const h of hours) {
    const t = Math.floor(h.hour / size) * size;
    const byT = acc.get(h.route) ?? new Map<number, HourUsage>();
    acc.set(h.route, byT);
    const cur = byT.get(t);
    if (!cur) {
      byT.set(t, { ...h, hour: t, latency: mergeSketch({}, h.latency) });
      continue;
    }
    cur.requests += h.requests;
    cur.errors += h.errors;
    cur.cancelled += h.cancelled;
    cur.costSum += h.costSum;
    cur.inputTokens += h.inputTokens;
    cur.outputTokens += h.outputTokens;
    cur.latencyN += h.latencyN;
    cur.latencySum += h.latencySum;
    mergeSketch(cur.latency, h.latency);
  }
  const out = new Map<string, UsagePoint[]>();
  for (const [route, byT] of [...acc].sort(([a], [b]) => a.localeCompare(b))) {
    out.set(
      route,
      [...byT.values()]
        .sort((a, b) => a.hour - b.hour)
        .map((u) => ({
          t: u.hour,
          requests: u.requests,
          errors: u.errors,
          cancelled: u.cancelled,
          costUsd: u.costSum,
          inputTokens: u.inputTokens,
          outputTokens: u.outputTokens,
          latencyMs: {
            mean: u.latencyN > 0 ? u.latencySum / u.latencyN : null,
            p50: sketchQuantile(u.latency, 0.5),
            p95: sketchQuantile(u.latency, 0.95),
          },
        })),
    );
  }
  return out;
}

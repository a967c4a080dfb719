/**
 * Gathers an experiment's report: whole hours of the window from the hourly
 * rollups, the partial hours at its edges from the request log, merged, then
 * core/report.ts. Percentiles come from the merged latency sketches, within
 * their relative error (core/sketch.ts).
 */
import { sharesOf } from "../core/assignment.js";
import {
  buildReport,
  type ExperimentReport,
  type FeedbackSums,
  type Percentiles,
  type VariantSums,
} from "../core/report.js";
import { type HistogramBin, mergeSketch, type Sketch, sketchHistogram, sketchQuantile } from "../core/sketch.js";
import type { Db } from "./db.js";
import type { StoredExperiment } from "./experiments.js";
import {
  exposuresSince,
  feedbackRollupSums,
  feedbackSums,
  lastSplitChange,
  type PromptVersionSums,
  preferencePicks,
  promptVersionSums,
  type ReportScope,
  rollupSums,
  sketches,
  variantSums,
} from "./report-queries.js";
import { HOUR_MS } from "./rollups.js";
import { type ShadowSummary, shadowSummary } from "./shadow-results.js";

export type FullReport = ExperimentReport & {
  shadow: ShadowSummary[];
  /** Per variant: successful answers' latency counted into bins (core/sketch.ts HISTOGRAM_EDGES_MS). */
  latencyHistogram: Record<string, HistogramBin[]>;
  /** Per variant and prompt version: requests, successes and thumbs (empty when no variant has a prompt). */
  promptVersions: PromptVersionSums[];
};

export interface ReportOptions {
  from?: number;
  to?: number;
  alpha?: number;
  /** Read every request instead of the rollups (for checking the rollups; slow on a large log). */
  withoutRollups?: boolean;
}

function addSums(a: VariantSums, b: VariantSums): VariantSums {
  const out = { ...a };
  for (const k of Object.keys(b) as (keyof VariantSums)[]) {
    if (k !== "variant") out[k] = (a[k] as number) + (b[k] as number);
  }
  return out;
}

function addFeedback(a: FeedbackSums, b: FeedbackSums): FeedbackSums {
  return {
    variant: a.variant,
    thumbsUp: a.thumbsUp + b.thumbsUp,
    thumbs: a.thumbs + b.thumbs,
    starsN: a.starsN + b.starsN,
    starsSum: a.starsSum + b.starsSum,
    starsSumSquares: a.starsSumSquares + b.starsSumSquares,
  };
}

function merged<T extends { variant: string }>(parts: T[][], add: (a: T, b: T) => T): T[] {
  const out = new Map<string, T>();
  for (const part of parts)
    for (const x of part) out.set(x.variant, out.has(x.variant) ? add(out.get(x.variant) as T, x) : x);
  return [...out.values()];
}

function mergedSketches(parts: Map<string, Sketch>[]): Map<string, Sketch> {
  const out = new Map<string, Sketch>();
  for (const part of parts) for (const [v, s] of part) out.set(v, mergeSketch(out.get(v) ?? {}, s));
  return out;
}

function percentilesOf(sketchesByVariant: Map<string, Sketch>): Map<string, Percentiles> {
  return new Map(
    [...sketchesByVariant].map(([v, s]) => [
      v,
      { p50: sketchQuantile(s, 0.5), p95: sketchQuantile(s, 0.95), p99: sketchQuantile(s, 0.99) },
    ]),
  );
}

/** The experiment's report over one tenant's traffic (see core/report.ts), every number aggregated by the database. */
export async function experimentReport(
  db: Db,
  e: StoredExperiment,
  tenant: string,
  opts: ReportOptions = {},
): Promise<FullReport> {
  const to = opts.to ?? Date.now() + 1;
  const from = opts.from ?? e.createdAt;
  const scope: ReportScope = { experiment: e.name, route: e.route, tenant, from, to };
  // Whole hours inside the window come from the rollups; the edges from the log itself.
  const firstHour = Math.ceil(from / HOUR_MS) * HOUR_MS;
  const endHour = Math.floor(to / HOUR_MS) * HOUR_MS;
  const useRollups = !opts.withoutRollups && firstHour < endHour;
  const edges: ReportScope[] = useRollups
    ? [
        { ...scope, to: firstHour },
        { ...scope, from: endHour },
      ].filter((s) => s.from < s.to)
    : [scope];

  const sumParts: VariantSums[][] = [];
  const latencyParts: Map<string, Sketch>[] = [];
  const ttftParts: Map<string, Sketch>[] = [];
  const feedbackParts: FeedbackSums[][] = [];
  if (useRollups) {
    const r = await rollupSums(db, e.name, tenant, firstHour, endHour);
    sumParts.push(r.sums);
    latencyParts.push(r.latency);
    ttftParts.push(r.ttft);
    feedbackParts.push(await feedbackRollupSums(db, e.name, tenant, firstHour, endHour));
  }
  for (const edge of edges) {
    sumParts.push(await variantSums(db, edge));
    latencyParts.push(await sketches(db, edge, "latency_ms"));
    ttftParts.push(await sketches(db, edge, "ttft_ms"));
    feedbackParts.push(await feedbackSums(db, edge));
  }

  const latencySketches = mergedSketches(latencyParts);
  const since = Math.max(from, (await lastSplitChange(db, e.name)) ?? e.createdAt);
  const shares = sharesOf(e.allocation);
  const report = buildReport({
    experiment: {
      name: e.name,
      route: e.route,
      status: e.status,
      control: e.control,
      shares: e.weights.map((w) => ({ variant: w.variant, share: (shares.get(w.variant) ?? 0) / 10_000 })),
      criteria: e.verdict.criteria,
      minRequests: e.verdict.minRequests,
    },
    window: { from, to },
    sums: merged(sumParts, addSums),
    latency: percentilesOf(latencySketches),
    ttft: percentilesOf(mergedSketches(ttftParts)),
    feedback: merged(feedbackParts, addFeedback),
    preferences: await preferencePicks(db, scope),
    exposures: since < to ? await exposuresSince(db, e.name, tenant, since, to) : null,
    exposuresSince: since,
    ...(opts.alpha !== undefined ? { alpha: opts.alpha } : {}),
  });
  // The distribution of successful answers' latency per variant, for a histogram.
  const latencyHistogram = Object.fromEntries([...latencySketches].map(([v, sk]) => [v, sketchHistogram(sk)]));
  return {
    ...report,
    latencyHistogram,
    promptVersions: await promptVersionSums(db, scope),
    shadow: await shadowSummary(db, e.name, tenant),
  };
}

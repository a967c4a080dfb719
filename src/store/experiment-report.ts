/** Gathers an experiment's report: the aggregate queries, then core/report.ts. */
import { sharesOf } from "../core/assignment.js";
import { buildReport, type ExperimentReport } from "../core/report.js";
import type { Db } from "./db.js";
import type { StoredExperiment } from "./experiments.js";
import {
  exposuresSince,
  feedbackSums,
  lastSplitChange,
  percentiles,
  preferencePicks,
  type ReportScope,
  variantSums,
} from "./report-queries.js";
import { type ShadowSummary, shadowSummary } from "./shadow-results.js";

export type FullReport = ExperimentReport & { shadow: ShadowSummary[] };

/** The experiment's report over one tenant's traffic (see core/report.ts), every number aggregated by the database. */
export async function experimentReport(
  db: Db,
  e: StoredExperiment,
  tenant: string,
  opts: { from?: number; to?: number; alpha?: number } = {},
): Promise<FullReport> {
  const to = opts.to ?? Date.now() + 1;
  const scope: ReportScope = { experiment: e.name, route: e.route, tenant, from: opts.from ?? e.createdAt, to };
  const since = Math.max(scope.from, (await lastSplitChange(db, e.name)) ?? e.createdAt);
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
    window: { from: scope.from, to },
    sums: await variantSums(db, scope),
    latency: await percentiles(db, scope, "latency_ms"),
    ttft: await percentiles(db, scope, "ttft_ms"),
    feedback: await feedbackSums(db, scope),
    preferences: await preferencePicks(db, scope),
    exposures: await exposuresSince(db, e.name, since, to),
    exposuresSince: since,
    ...(opts.alpha !== undefined ? { alpha: opts.alpha } : {}),
  });
  return { ...report, shadow: await shadowSummary(db, e.name) };
}

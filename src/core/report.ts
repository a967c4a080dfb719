/**
 * An experiment's report from the database's aggregates: per variant the
 * success rate, latency and TTFT percentiles, tokens, cost, thumbs-up rate,
 * stars and preference record, each with its interval and its difference to
 * the control (a fixed-sample interval and an always-valid one, safe to check
 * every day); the sample-ratio check; a Bradley–Terry leaderboard of the
 * preference picks; and the GO / NO-GO verdict against the experiment's
 * criteria. Pure: the numbers come in, the report goes out.
 */
import { type LeaderboardRow, leaderboard, type Pick } from "./bradley-terry.js";
import type { Criterion } from "./config/schema.js";
import { seededRandom } from "./random.js";
import {
  type Interval,
  type Moments,
  meanInterval,
  momentsOf,
  newcombeDiff,
  proportionMoments,
  relativeLift,
  type SrmCheck,
  sampleRatioMismatch,
  sequentialDiff,
  welchDiff,
  wilson,
} from "./stats.js";

export interface VariantSums {
  variant: string;
  requests: number;
  successes: number;
  /** Over the successful answers. */
  latencySum: number;
  latencySumSquares: number;
  ttftCount: number;
  ttftSum: number;
  ttftSumSquares: number;
  inputTokens: number;
  outputTokens: number;
  outputTokensSumSquares: number;
  tokenRequests: number;
  costSum: number;
  costSumSquares: number;
  costRequests: number;
}

/** A variant with no requests in the window. */
export function emptySums(variant: string): VariantSums {
  return {
    variant,
    requests: 0,
    successes: 0,
    latencySum: 0,
    latencySumSquares: 0,
    ttftCount: 0,
    ttftSum: 0,
    ttftSumSquares: 0,
    inputTokens: 0,
    outputTokens: 0,
    outputTokensSumSquares: 0,
    tokenRequests: 0,
    costSum: 0,
    costSumSquares: 0,
    costRequests: 0,
  };
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface FeedbackSums {
  variant: string;
  thumbsUp: number;
  thumbs: number;
  starsN: number;
  starsSum: number;
  starsSumSquares: number;
}

export interface PreferenceCount {
  variant: string;
  other: string;
  /** this: `variant` won; other: `other` won. */
  pick: "this" | "other" | "tie";
  n: number;
}

export interface ReportInput {
  experiment: {
    name: string;
    route: string;
    status: string;
    control: string;
    /** Configured shares (0 to 1), in the experiment's order. */
    shares: { variant: string; share: number }[];
    criteria: Criterion[];
    minRequests: number;
  };
  window: { from: number; to: number };
  sums: VariantSums[];
  latency: Map<string, Percentiles>;
  ttft: Map<string, Percentiles>;
  feedback: FeedbackSums[];
  preferences: PreferenceCount[];
  /** Units first exposed per variant since the split last changed. */
  /** Units first exposed per variant since the split last changed; null when it changed after the window. */
  exposures: Map<string, number> | null;
  exposuresSince: number;
  /** Significance level of every interval (default 0.05). */
  alpha?: number;
}

type Estimate = Interval;

export interface Comparison {
  /** Fixed-sample interval of candidate − control (valid for one look). */
  difference: Estimate;
  /** Always-valid interval of candidate − control (mSPRT): valid however often it is looked at. */
  sequential: Estimate & { tau: number };
  /** Relative lift candidate / control − 1 with a delta-method interval, where it means something. */
  lift?: Estimate;
}

export interface VariantReport {
  variant: string;
  isControl: boolean;
  share: number;
  requests: number;
  successRate: Estimate | null;
  /** Over successful answers: the mean with its t interval, and the percentiles. */
  latencyMs: { mean: Estimate | null } & Percentiles;
  ttftMs: { mean: Estimate | null } & Percentiles;
  tokens: { inputMean: number | null; outputMean: Estimate | null };
  costUsd: { total: number; perRequest: Estimate | null };
  thumbsUp: { up: number; n: number; rate: Estimate | null };
  stars: { n: number; mean: Estimate | null };
  /** Win rate = (wins + ties / 2) / picks, with a Wilson interval. */
  preference: { wins: number; losses: number; ties: number; winRate: Estimate | null };
  vsControl: {
    successRate: Comparison | null;
    meanLatencyMs: Comparison | null;
    meanTtftMs: Comparison | null;
    outputTokens: Comparison | null;
    thumbsUpRate: Comparison | null;
    meanStars: Comparison | null;
    costPerRequestUsd: Comparison | null;
  } | null;
}

export type CriterionStatus = "pass" | "fail" | "pending";

export interface CriterionResult {
  variant: string;
  metric: Criterion["metric"];
  op: Criterion["op"];
  threshold: number;
  status: CriterionStatus;
  /** The point estimate, or for a _vs_control metric the always-valid interval. */
  observed: number | [number, number] | null;
  n: number;
}

export interface ExperimentReport {
  experiment: string;
  route: string;
  status: string;
  control: string;
  window: { from: number; to: number };
  alpha: number;
  variants: VariantReport[];
  /** Null when the split changed after the window ends: the current shares say nothing about it. */
  srm: (SrmCheck & { since: number; observed: Record<string, number>; expectedShares: Record<string, number> }) | null;
  leaderboard: LeaderboardRow[];
  verdict: { decision: "go" | "no_go" | "pending" | "no_criteria"; criteria: CriterionResult[] };
}

const div = (a: number, b: number) => (b > 0 ? a / b : null);

function compareMeans(control: Moments, candidate: Moments, alpha: number, withLift: boolean): Comparison | null {
  if (control.n < 2 || candidate.n < 2) return null;
  return {
    difference: welchDiff(candidate, control, 1 - alpha) as Estimate,
    sequential: sequentialDiff(control, candidate, alpha),
    ...(withLift ? { lift: relativeLift(control, candidate, 1 - alpha) } : {}),
  };
}

/** A difference of two rates lies in [−1, 1]; an interval reaching past it says no more than the bound. */
const clip = <T extends Interval>(i: T): T => ({ ...i, lo: Math.max(-1, i.lo), hi: Math.min(1, i.hi) });

function compareRates(cx: number, cn: number, x: number, n: number, alpha: number): Comparison | null {
  if (cn === 0 || n === 0) return null;
  const d = newcombeDiff(x, n, cx, cn, 1 - alpha);
  return {
    difference: d,
    sequential: clip(sequentialDiff(proportionMoments(cx, cn), proportionMoments(x, n), alpha)),
    lift: relativeLift(proportionMoments(cx, cn), proportionMoments(x, n), 1 - alpha),
  };
}

export function buildReport(input: ReportInput): ExperimentReport {
  const alpha = input.alpha ?? 0.05;
  const confidence = 1 - alpha;
  const { experiment: exp } = input;
  const names = exp.shares.map((s) => s.variant);
  for (const s of input.sums) if (!names.includes(s.variant)) names.push(s.variant);
  const sums = new Map(input.sums.map((s) => [s.variant, s]));
  const fb = new Map(input.feedback.map((f) => [f.variant, f]));
  const noFeedback = (variant: string): FeedbackSums => ({
    variant,
    thumbsUp: 0,
    thumbs: 0,
    starsN: 0,
    starsSum: 0,
    starsSumSquares: 0,
  });
  const record = new Map<string, { wins: number; losses: number; ties: number }>();
  const tally = (v: string) => {
    const r = record.get(v) ?? { wins: 0, losses: 0, ties: 0 };
    record.set(v, r);
    return r;
  };
  const picks: Pick[] = [];
  for (const p of input.preferences) {
    picks.push({
      a: p.variant,
      b: p.other,
      winner: p.pick === "this" ? "a" : p.pick === "other" ? "b" : "tie",
      n: p.n,
    });
    if (p.pick === "tie") {
      tally(p.variant).ties += p.n;
      tally(p.other).ties += p.n;
    } else {
      tally(p.pick === "this" ? p.variant : p.other).wins += p.n;
      tally(p.pick === "this" ? p.other : p.variant).losses += p.n;
    }
  }

  const latencyMoments = (s: VariantSums) => momentsOf(s.successes, s.latencySum, s.latencySumSquares);
  const ttftMoments = (s: VariantSums) => momentsOf(s.ttftCount, s.ttftSum, s.ttftSumSquares);
  const outputMoments = (s: VariantSums) => momentsOf(s.tokenRequests, s.outputTokens, s.outputTokensSumSquares);
  const costMoments = (s: VariantSums) => momentsOf(s.costRequests, s.costSum, s.costSumSquares);
  const starMoments = (f: FeedbackSums) => momentsOf(f.starsN, f.starsSum, f.starsSumSquares);
  const control = sums.get(exp.control) ?? emptySums(exp.control);
  const controlFb = fb.get(exp.control) ?? noFeedback(exp.control);

  const variants: VariantReport[] = names.map((variant) => {
    const s = sums.get(variant) ?? emptySums(variant);
    const f = fb.get(variant) ?? noFeedback(variant);
    const lat = input.latency.get(variant) ?? { p50: null, p95: null, p99: null };
    const ttft = input.ttft.get(variant) ?? { p50: null, p95: null, p99: null };
    const r = record.get(variant) ?? { wins: 0, losses: 0, ties: 0 };
    const games = r.wins + r.losses + r.ties;
    const isControl = variant === exp.control;
    return {
      variant,
      isControl,
      share: exp.shares.find((x) => x.variant === variant)?.share ?? 0,
      requests: s.requests,
      successRate: s.requests > 0 ? wilson(s.successes, s.requests, confidence) : null,
      latencyMs: { mean: meanInterval(latencyMoments(s), confidence), ...lat },
      ttftMs: { mean: meanInterval(ttftMoments(s), confidence), ...ttft },
      tokens: {
        inputMean: div(s.inputTokens, s.tokenRequests),
        outputMean: meanInterval(outputMoments(s), confidence),
      },
      costUsd: { total: s.costSum, perRequest: meanInterval(costMoments(s), confidence) },
      thumbsUp: { up: f.thumbsUp, n: f.thumbs, rate: f.thumbs > 0 ? wilson(f.thumbsUp, f.thumbs, confidence) : null },
      stars: { n: f.starsN, mean: meanInterval(starMoments(f), confidence) },
      preference: { ...r, winRate: games > 0 ? wilson(r.wins + r.ties / 2, games, confidence) : null },
      vsControl: isControl
        ? null
        : {
            successRate: compareRates(control.successes, control.requests, s.successes, s.requests, alpha),
            meanLatencyMs: compareMeans(latencyMoments(control), latencyMoments(s), alpha, true),
            meanTtftMs: compareMeans(ttftMoments(control), ttftMoments(s), alpha, true),
            outputTokens: compareMeans(outputMoments(control), outputMoments(s), alpha, true),
            thumbsUpRate: compareRates(controlFb.thumbsUp, controlFb.thumbs, f.thumbsUp, f.thumbs, alpha),
            meanStars: compareMeans(starMoments(controlFb), starMoments(f), alpha, false),
            costPerRequestUsd: compareMeans(costMoments(control), costMoments(s), alpha, true),
          },
    };
  });

  const srmVariants = exp.shares.filter((x) => x.share > 0);
  const exposures = input.exposures;
  const observed = exposures
    ? Object.fromEntries(srmVariants.map((x) => [x.variant, exposures.get(x.variant) ?? 0]))
    : {};
  const srm = exposures
    ? {
        ...sampleRatioMismatch(
          srmVariants.map((x) => observed[x.variant] as number),
          srmVariants.map((x) => x.share),
        ),
        since: input.exposuresSince,
        observed,
        expectedShares: Object.fromEntries(srmVariants.map((x) => [x.variant, x.share])),
      }
    : null;

  const criteria = verdictOf(exp.criteria, exp.minRequests, variants, exp.control);
  const decision =
    exp.criteria.length === 0
      ? "no_criteria"
      : criteria.some((c) => c.status === "fail")
        ? "no_go"
        : criteria.length > 0 && criteria.every((c) => c.status === "pass")
          ? "go"
          : "pending";
  return {
    experiment: exp.name,
    route: exp.route,
    status: exp.status,
    control: exp.control,
    window: input.window,
    alpha,
    variants,
    srm,
    // Seeded by the picks themselves, so the same data always gives the same intervals.
    leaderboard: leaderboard(picks, {
      random: seededRandom(picks.reduce((s, p) => s + (p.n ?? 1), 0)),
      bootstrap: picks.length > 0 ? 200 : 0,
    }),
    verdict: { decision, criteria },
  };
}

const TESTS: Record<Criterion["op"], (a: number, b: number) => boolean> = {
  ">=": (a, b) => a >= b,
  ">": (a, b) => a > b,
  "<=": (a, b) => a <= b,
  "<": (a, b) => a < b,
};

function verdictOf(
  criteria: Criterion[],
  minRequests: number,
  variants: VariantReport[],
  control: string,
): CriterionResult[] {
  const out: CriterionResult[] = [];
  for (const v of variants) {
    // A variant that gets no traffic now (weight 0, or no longer in the split) is not up for decision.
    if (v.variant === control || !(v.share > 0)) continue;
    for (const c of criteria) {
      const test = TESTS[c.op];
      const head = { variant: v.variant, metric: c.metric, op: c.op, threshold: c.value };
      const relative = relativeOf(c.metric, v);
      if (relative !== undefined) {
        const seq = relative?.comparison?.sequential;
        if (!seq || Number.isNaN(seq.lo)) {
          out.push({ ...head, status: "pending", observed: null, n: relative?.n ?? 0 });
          continue;
        }
        out.push({ ...head, status: byInterval(seq, c), observed: [seq.lo, seq.hi], n: relative.n });
        continue;
      }
      const feedback = feedbackOf(c.metric, v);
      if (feedback !== undefined) {
        // Feedback is sparse: judged on its interval, so a single vote cannot decide.
        const i = feedback.interval;
        if (!i || !Number.isFinite(i.lo)) {
          out.push({ ...head, status: "pending", observed: null, n: feedback.n });
          continue;
        }
        out.push({ ...head, status: byInterval(i, c), observed: [i.lo, i.hi], n: feedback.n });
        continue;
      }
      const { value, n, needed } = absoluteOf(c.metric, v, minRequests);
      const status: CriterionStatus = value === null || n < needed ? "pending" : test(value, c.value) ? "pass" : "fail";
      out.push({ ...head, status, observed: value, n });
    }
  }
  return out;
}

/** Pass when the whole interval satisfies the test, fail when none of it does; otherwise the data cannot tell yet. */
function byInterval(i: Interval, c: Criterion): CriterionStatus {
  const test = TESTS[c.op];
  const all = test(i.lo, c.value) && test(i.hi, c.value);
  const none = !test(i.lo, c.value) && !test(i.hi, c.value);
  return all ? "pass" : none ? "fail" : "pending";
}

function feedbackOf(
  metric: Criterion["metric"],
  v: VariantReport,
): { interval: Interval | null; n: number } | undefined {
  switch (metric) {
    case "thumbs_up_rate":
      return { interval: v.thumbsUp.rate, n: v.thumbsUp.n };
    case "mean_stars":
      return { interval: v.stars.mean, n: v.stars.n };
    case "preference_win_rate": {
      const p = v.preference;
      const games = p.wins + p.losses + p.ties;
      return { interval: p.winRate, n: games };
    }
    default:
      return undefined;
  }
}

function relativeOf(
  metric: Criterion["metric"],
  v: VariantReport,
): { comparison: Comparison | null; n: number } | undefined {
  const vs = v.vsControl;
  switch (metric) {
    case "success_rate_vs_control":
      return { comparison: vs?.successRate ?? null, n: v.requests };
    case "mean_latency_ms_vs_control":
      return { comparison: vs?.meanLatencyMs ?? null, n: v.requests };
    case "thumbs_up_rate_vs_control":
      return { comparison: vs?.thumbsUpRate ?? null, n: v.thumbsUp.n };
    case "mean_stars_vs_control":
      return { comparison: vs?.meanStars ?? null, n: v.stars.n };
    default:
      return undefined;
  }
}

/** A metric's point estimate, the count behind it, and the count it needs before it is judged. */
function absoluteOf(
  metric: Criterion["metric"],
  v: VariantReport,
  minRequests: number,
): { value: number | null; n: number; needed: number } {
  switch (metric) {
    case "success_rate":
      return { value: v.successRate?.estimate ?? null, n: v.requests, needed: minRequests };
    case "mean_latency_ms":
      return { value: v.latencyMs.mean?.estimate ?? null, n: v.requests, needed: minRequests };
    case "p50_latency_ms":
      return { value: v.latencyMs.p50, n: v.requests, needed: minRequests };
    case "p95_latency_ms":
      return { value: v.latencyMs.p95, n: v.requests, needed: minRequests };
    case "p99_latency_ms":
      return { value: v.latencyMs.p99, n: v.requests, needed: minRequests };
    case "p95_ttft_ms":
      return { value: v.ttftMs.p95, n: v.requests, needed: minRequests };
    case "cost_per_request_usd":
      return { value: v.costUsd.perRequest?.estimate ?? null, n: v.requests, needed: minRequests };
    default:
      return { value: null, n: 0, needed: 1 };
  }
}

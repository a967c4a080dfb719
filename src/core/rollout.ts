/**
 * Staged rollout decisions: given what the candidate and the control did in
 * the current step, promote, hold or roll back, with the evidence.
 *
 * The comparison is stratified by step: only requests of the current step
 * (assigned by hash) count, so the candidate is compared with control traffic
 * that ran at the same time and under the same share, and the analysis is not
 * fooled by the share changing between steps.
 *
 * Guardrails (each pass, fail or pending):
 * - breaker: the candidate's backend breaker is open → fail.
 * - success rate: fail when the point estimate is below the minimum once
 *   minSamples is reached, or earlier, from EARLY_MIN_REQUESTS requests on,
 *   when even the 99.9 % Wilson upper bound is below it: a clearly failing
 *   candidate is not left serving users until minSamples. The strict level and
 *   the minimum count keep repeated looks from rolling back a healthy one by
 *   chance: simulated with a look every 10 requests up to 200, a candidate
 *   0.5 points above the minimum (0.95, 0.98 or 0.99) was rolled back early in
 *   0.6–0.8 % of runs, and one 8 points below it was caught early in 92–100 %.
 * - p95 latency: nearest-rank p95 of the candidate's successful answers, once
 *   minSamples is reached.
 * - feedback not worse than control: fails only when the 95 % interval of
 *   candidate − control lies entirely below −margin (Newcombe's hybrid score
 *   interval for thumbs-up rates, Welch's for mean stars); passes while there
 *   is too little feedback to say.
 */
import type { RolloutConfig } from "./config/schema.js";
import { type Moments, momentsOf, newcombeDiff, welchDiff, wilson } from "./stats.js";

export interface RolloutState {
  /** Index into steps of the current step. */
  step: number;
  stepStartedAt: number;
  /** When the last decision was taken, by any replica. */
  lastEvaluatedAt: number | null;
  outcome: "running" | "completed" | "rolled_back";
}

export interface Rollout {
  config: RolloutConfig;
  state: RolloutState;
}

export interface ArmStats {
  /** Requests assigned by hash in the step, client cancellations left out. */
  requests: number;
  successes: number;
  /** Nearest-rank p95 of successful answers' latency; null with none. */
  p95LatencyMs: number | null;
  thumbsUp: number;
  thumbs: number;
  stars: { n: number; sum: number; sumSquares: number };
}

export interface StepStats {
  candidate: ArmStats;
  control: ArmStats;
}

export type GuardrailStatus = "pass" | "fail" | "pending";

export interface GuardrailResult {
  name: "breaker" | "success_rate" | "p95_latency" | "feedback" | "samples" | "duration";
  status: GuardrailStatus;
  value: number | string | null;
  threshold: number | string | null;
  detail?: Record<string, unknown>;
}

export type RolloutAction = "promote" | "hold" | "rollback";

export interface RolloutDecision {
  action: RolloutAction;
  /** The step decided on, and the one the rollout moves to (same on hold, -1 on rollback). */
  fromStep: number;
  toStep: number;
  /** True when promoting past the last step: the candidate wins. */
  completes: boolean;
  guardrails: GuardrailResult[];
  stats: StepStats;
}

export function firstRolloutState(now: number): RolloutState {
  return { step: 0, stepStartedAt: now, lastEvaluatedAt: null, outcome: "running" };
}

/** The candidate's and the control's weights for a step. */
export function stepWeights(config: RolloutConfig, control: string, step: number) {
  const share = config.steps[step] as number;
  return [
    { variant: control, weight: 100 - share },
    { variant: config.candidate, weight: share },
  ];
}

export function decide(
  config: RolloutConfig,
  state: RolloutState,
  stats: StepStats,
  now: number,
  candidateBreakerOpen: boolean,
): RolloutDecision {
  const c = stats.candidate;
  const enough = c.requests >= config.minSamples;
  const elapsed = now - state.stepStartedAt;
  const guardrails: GuardrailResult[] = [
    {
      name: "breaker",
      status: candidateBreakerOpen ? "fail" : "pass",
      value: candidateBreakerOpen ? "open" : "closed",
      threshold: "closed",
    },
    {
      name: "samples",
      status: enough ? "pass" : "pending",
      value: c.requests,
      threshold: config.minSamples,
    },
    {
      name: "duration",
      status: elapsed >= config.minDurationMs ? "pass" : "pending",
      value: elapsed,
      threshold: config.minDurationMs,
    },
    successGuardrail(config, c, enough),
    latencyGuardrail(config, c, enough),
  ];
  if (config.feedback) guardrails.push(feedbackGuardrail(config.feedback, stats));

  const last = state.step >= config.steps.length - 1;
  let action: RolloutAction = "hold";
  if (guardrails.some((g) => g.status === "fail")) action = "rollback";
  else if (guardrails.every((g) => g.status === "pass")) action = "promote";
  return {
    action,
    fromStep: state.step,
    toStep: action === "rollback" ? -1 : action === "promote" && !last ? state.step + 1 : state.step,
    completes: action === "promote" && last,
    guardrails,
    stats,
  };
}

/** Requests before the early success-rate rule may act. */
export const EARLY_MIN_REQUESTS = 20;
const EARLY_CONFIDENCE = 0.999;

function successGuardrail(config: RolloutConfig, c: ArmStats, enough: boolean): GuardrailResult {
  const base = { name: "success_rate" as const, threshold: config.minSuccessRate };
  if (c.requests === 0) return { ...base, status: "pending", value: null };
  const rate = c.successes / c.requests;
  const early = wilson(c.successes, c.requests, EARLY_CONFIDENCE);
  const detail = { requests: c.requests, successes: c.successes, wilson999: [early.lo, early.hi] };
  if (c.requests >= EARLY_MIN_REQUESTS && early.hi < config.minSuccessRate) {
    return { ...base, status: "fail", value: rate, detail: { ...detail, early: true } };
  }
  if (!enough) return { ...base, status: "pending", value: rate, detail };
  return { ...base, status: rate >= config.minSuccessRate ? "pass" : "fail", value: rate, detail };
}

function latencyGuardrail(config: RolloutConfig, c: ArmStats, enough: boolean): GuardrailResult {
  const base = { name: "p95_latency" as const, threshold: config.maxP95LatencyMs, value: c.p95LatencyMs };
  if (!enough || c.p95LatencyMs === null) return { ...base, status: "pending" };
  return { ...base, status: c.p95LatencyMs <= config.maxP95LatencyMs ? "pass" : "fail" };
}

function feedbackGuardrail(fb: NonNullable<RolloutConfig["feedback"]>, s: StepStats): GuardrailResult {
  const base = { name: "feedback" as const, threshold: -fb.margin };
  if (fb.metric === "thumbs") {
    const { candidate: a, control: b } = s;
    if (a.thumbs === 0 || b.thumbs === 0) {
      return { ...base, status: "pass", value: null, detail: { metric: "thumbs", note: "no feedback on one arm yet" } };
    }
    const d = newcombeDiff(a.thumbsUp, a.thumbs, b.thumbsUp, b.thumbs);
    return {
      ...base,
      status: d.hi < -fb.margin ? "fail" : "pass",
      value: d.estimate,
      detail: {
        metric: "thumbs",
        candidate: [a.thumbsUp, a.thumbs],
        control: [b.thumbsUp, b.thumbs],
        interval95: [d.lo, d.hi],
      },
    };
  }
  const a: Moments = momentsOf(s.candidate.stars.n, s.candidate.stars.sum, s.candidate.stars.sumSquares);
  const b: Moments = momentsOf(s.control.stars.n, s.control.stars.sum, s.control.stars.sumSquares);
  if (a.n < 2 || b.n < 2) {
    return {
      ...base,
      status: "pass",
      value: null,
      detail: { metric: "stars", note: "too few ratings on one arm yet" },
    };
  }
  const d = welchDiff(a, b);
  return {
    ...base,
    // No spread at all (every rating equal) leaves no interval: compare the means as they are.
    status: (Number.isNaN(d.hi) ? d.estimate : d.hi) < -fb.margin ? "fail" : "pass",
    value: d.estimate,
    detail: { metric: "stars", candidate_mean: a.mean, control_mean: b.mean, n: [a.n, b.n], interval95: [d.lo, d.hi] },
  };
}

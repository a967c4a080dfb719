/**
 * The statistics rollout guardrails need. Each function names its method and
 * where it comes from; test/stats.test.ts checks them against the published
 * worked examples. Distributions come from jstat.
 */
import jStat from "jstat";

export interface Interval {
  estimate: number;
  lo: number;
  hi: number;
}

/** The two-sided normal quantile for a confidence level, e.g. 1.96 for 0.95. */
export function zFor(confidence: number): number {
  return jStat.normal.inv(1 - (1 - confidence) / 2, 0, 1);
}

/**
 * Wilson score interval for a proportion (Wilson 1927; method 3 in Newcombe,
 * "Two-sided confidence intervals for the single proportion", Stat Med 1998).
 * Unlike the Wald interval it stays inside [0, 1] and behaves near 0 and 1.
 */
export function wilson(successes: number, n: number, confidence = 0.95): Interval {
  if (n <= 0) return { estimate: Number.NaN, lo: 0, hi: 1 };
  const z = zFor(confidence);
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { estimate: p, lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}

/**
 * Difference of two independent proportions p1 − p2 with Newcombe's hybrid
 * score interval (method 10 in Newcombe, "Interval estimation for the
 * difference between independent proportions", Stat Med 1998): each
 * proportion's Wilson limits combined by the square-and-add rule.
 */
export function newcombeDiff(x1: number, n1: number, x2: number, n2: number, confidence = 0.95): Interval {
  const a = wilson(x1, n1, confidence);
  const b = wilson(x2, n2, confidence);
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const d = p1 - p2;
  return {
    estimate: d,
    lo: d - Math.sqrt((p1 - a.lo) ** 2 + (b.hi - p2) ** 2),
    hi: d + Math.sqrt((a.hi - p1) ** 2 + (p2 - b.lo) ** 2),
  };
}

export interface Moments {
  n: number;
  mean: number;
  /** Sample variance (n − 1 in the denominator). */
  variance: number;
}

/** Mean and sample variance from a count, a sum and a sum of squares (what SQL aggregates give). */
export function momentsOf(n: number, sum: number, sumSquares: number): Moments {
  const mean = n > 0 ? sum / n : Number.NaN;
  const variance = n > 1 ? Math.max(0, (sumSquares - n * mean * mean) / (n - 1)) : Number.NaN;
  return { n, mean, variance };
}

/**
 * Difference of two means a − b with Welch's t interval (Welch 1947): no
 * assumption of equal variances; degrees of freedom by Welch–Satterthwaite.
 */
export function welchDiff(a: Moments, b: Moments, confidence = 0.95): Interval & { df: number } {
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  const se = Math.sqrt(va + vb);
  const df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
  const estimate = a.mean - b.mean;
  if (!(se > 0) || !Number.isFinite(df)) return { estimate, lo: Number.NaN, hi: Number.NaN, df };
  const t = jStat.studentt.inv(1 - (1 - confidence) / 2, df);
  return { estimate, lo: estimate - t * se, hi: estimate + t * se, df };
}

/**
 * The 0-based index of the q-quantile in n sorted values by the nearest-rank
 * method (the smallest value with at least q of the values at or below it).
 */
export function nearestRankIndex(n: number, q: number): number {
  return Math.max(0, Math.ceil(q * n) - 1);
}

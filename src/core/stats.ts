/**
 * The statistics behind guardrails, reports and leaderboards. Each function
 * names its method and where it comes from; test/stats.test.ts checks them
 * against published worked examples (or a hand calculation, written out) and
 * properties. Distributions come from jstat. The Bradley–Terry leaderboard is
 * in bradley-terry.ts.
 */
import { createRequire } from "node:module";
import type JStat from "jstat";

/** jstat, loaded on the first statistic (a report, a rollout's guardrails): a plain gateway never holds it. */
let jStatModule: typeof JStat | undefined;
const jStat = (): typeof JStat => {
  jStatModule ??= createRequire(import.meta.url)("jstat") as typeof JStat;
  return jStatModule;
};

export interface Interval {
  estimate: number;
  lo: number;
  hi: number;
}

/** The two-sided normal quantile for a confidence level, e.g. 1.96 for 0.95. */
export function zFor(confidence: number): number {
  return jStat().normal.inv(1 - (1 - confidence) / 2, 0, 1);
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

/** Student's t interval for one mean (n − 1 degrees of freedom); the estimate alone below two values. */
export function meanInterval(m: Moments, confidence = 0.95): Interval | null {
  if (m.n === 0) return null;
  if (m.n < 2 || !(m.variance >= 0)) return { estimate: m.mean, lo: Number.NaN, hi: Number.NaN };
  const half = jStat().studentt.inv(1 - (1 - confidence) / 2, m.n - 1) * Math.sqrt(m.variance / m.n);
  return { estimate: m.mean, lo: m.mean - half, hi: m.mean + half };
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
  const t = jStat().studentt.inv(1 - (1 - confidence) / 2, df);
  return { estimate, lo: estimate - t * se, hi: estimate + t * se, df };
}

/**
 * The 0-based index of the q-quantile in n sorted values by the nearest-rank
 * method (the smallest value with at least q of the values at or below it).
 */
export function nearestRankIndex(n: number, q: number): number {
  return Math.max(0, Math.ceil(q * n) - 1);
}

/**
 * Relative lift b / a − 1 of two independent means, with a delta-method
 * interval (first-order Taylor expansion of the ratio; e.g. Kohavi, Tang & Xu,
 * "Trustworthy Online Controlled Experiments", 2020, §18 on ratio metrics):
 * Var(b/a) ≈ Var(b)/a² + b²·Var(a)/a⁴, where Var(x) is the variance of the
 * mean, s²/n. Undefined (NaN) when a's mean is 0.
 */
export function relativeLift(a: Moments, b: Moments, confidence = 0.95): Interval {
  const estimate = b.mean / a.mean - 1;
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  const se = Math.sqrt(vb / a.mean ** 2 + (b.mean ** 2 * va) / a.mean ** 4);
  if (!Number.isFinite(estimate) || !Number.isFinite(se)) return { estimate, lo: Number.NaN, hi: Number.NaN };
  const z = zFor(confidence);
  return { estimate, lo: estimate - z * se, hi: estimate + z * se };
}

/** Moments of a 0/1 outcome: x successes in n. */
export function proportionMoments(x: number, n: number): Moments {
  return momentsOf(n, x, x);
}

/**
 * An always-valid confidence sequence for the difference of two means b − a:
 * the mixture sequential probability ratio test of Johari, Pekelis & Walsh,
 * "Always Valid Inference: Bringing Sequential Analysis to A/B Testing"
 * (Operations Research, 2022; arXiv 1512.04922), with a normal mixing
 * distribution N(0, τ²) over the effect. With V the variance of the
 * difference's estimate (s_a²/n_a + s_b²/n_b), the interval at every look is
 *
 *   (b̄ − ā) ± sqrt( V (V + τ²) / τ² · ( 2 log(1/α) + log((V + τ²) / V) ) )
 *
 * and it covers the true difference at all looks at once with probability at
 * least 1 − α (asymptotically, as the normal approximation of each mean
 * holds), so it may be checked after every batch. τ is the tuning parameter:
 * the effect size around which the interval is tightest; `tau` defaults to a
 * quarter of the pooled standard deviation, a common choice for product
 * metrics, and should be set from the effect sizes expected.
 */
export function sequentialDiff(a: Moments, b: Moments, alpha = 0.05, tau?: number): Interval & { tau: number } {
  const estimate = b.mean - a.mean;
  const v = a.variance / a.n + b.variance / b.n;
  const t = tau ?? 0.25 * Math.sqrt((a.variance + b.variance) / 2);
  if (!(v > 0) || !(t > 0)) return { estimate, lo: Number.NaN, hi: Number.NaN, tau: t };
  const t2 = t * t;
  const half = Math.sqrt(((v * (v + t2)) / t2) * (2 * Math.log(1 / alpha) + Math.log((v + t2) / v)));
  return { estimate, lo: estimate - half, hi: estimate + half, tau: t };
}

export interface SrmCheck {
  chiSquare: number;
  degreesOfFreedom: number;
  pValue: number;
  /** True when p < threshold: the split is not what was configured; distrust the comparison. */
  mismatch: boolean;
}

/**
 * Sample-ratio mismatch: Pearson's chi-square goodness-of-fit of the observed
 * units per variant against the configured shares (Fabijan et al., "Diagnosing
 * Sample Ratio Mismatch in Online Controlled Experiments", KDD 2019). The
 * usual alarm threshold is p < 0.001, strict because the check runs on every
 * look and a false alarm stops trust in a good experiment.
 */
export function sampleRatioMismatch(observed: number[], shares: number[], threshold = 0.001): SrmCheck {
  const total = observed.reduce((s, x) => s + x, 0);
  const shareSum = shares.reduce((s, x) => s + x, 0);
  let chi = 0;
  let cells = 0;
  for (let i = 0; i < observed.length; i++) {
    const expected = (total * (shares[i] ?? 0)) / shareSum;
    if (expected <= 0) continue;
    chi += ((observed[i] ?? 0) - expected) ** 2 / expected;
    cells++;
  }
  const df = cells - 1;
  if (total === 0 || df < 1) return { chiSquare: 0, degreesOfFreedom: Math.max(df, 0), pValue: 1, mismatch: false };
  const pValue = 1 - jStat().chisquare.cdf(chi, df);
  return { chiSquare: chi, degreesOfFreedom: df, pValue, mismatch: pValue < threshold };
}

/** McNemar's test of two paired pass/fail outcomes, with the paired difference of pass rates. */
export interface McNemar {
  /** Pairs: items both were scored on. */
  n: number;
  /** Discordant pairs: a passed and b failed (`aOnly`), b passed and a failed (`bOnly`). */
  aOnly: number;
  bOnly: number;
  /** Exact two-sided p-value (a binomial test on the discordant pairs). */
  pValue: number;
  /** Pass rate of b minus pass rate of a, with a Wald interval for paired proportions. */
  difference: Interval;
}

/**
 * McNemar's exact test (McNemar 1947; the exact form is the two-sided binomial
 * test of the discordant pairs with p = ½): p = min(1, 2·P(X ≤ min(a, b))),
 * X ~ Binomial(a + b, ½). The difference of paired proportions is
 * (bOnly − aOnly) / n, and its interval the Wald interval for dependent
 * proportions, SE = √(aOnly + bOnly − (bOnly − aOnly)² / n) / n (Agresti,
 * Categorical Data Analysis, 3rd ed., §11.1.1). `pairs` are [a, b] as 0/1.
 */
export function mcnemar(pairs: readonly (readonly [number, number])[], confidence = 0.95): McNemar {
  let aOnly = 0;
  let bOnly = 0;
  for (const [a, b] of pairs) {
    if (a === 1 && b === 0) aOnly++;
    else if (a === 0 && b === 1) bOnly++;
  }
  const n = pairs.length;
  const discordant = aOnly + bOnly;
  const pValue = discordant === 0 ? 1 : Math.min(1, 2 * binomialHalfCdf(Math.min(aOnly, bOnly), discordant));
  const estimate = n > 0 ? (bOnly - aOnly) / n : Number.NaN;
  const se = n > 0 ? Math.sqrt(Math.max(0, discordant - (bOnly - aOnly) ** 2 / n)) / n : Number.NaN;
  const z = zFor(confidence);
  return { n, aOnly, bOnly, pValue, difference: { estimate, lo: estimate - z * se, hi: estimate + z * se } };
}

/**
 * P(X ≤ k) for X ~ Binomial(n, ½), summed in log space so that tails far
 * below 2⁻¹⁰⁷⁴ do not vanish term by term: ln C(n, j) grows by ln((n − j + 1) / j).
 */
export function binomialHalfCdf(k: number, n: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  const ln2n = n * Math.LN2;
  let lnC = 0;
  let sum = Math.exp(-ln2n);
  for (let j = 1; j <= k; j++) {
    lnC += Math.log(n - j + 1) - Math.log(j);
    sum += Math.exp(lnC - ln2n);
  }
  return Math.min(1, sum);
}

/**
 * The paired bootstrap interval of a mean difference (Efron & Tibshirani, An
 * Introduction to the Bootstrap, 1993, ch. 13, percentile method): items are
 * resampled with replacement `rounds` times and the mean of b − a taken each
 * time; the interval is the (α/2, 1 − α/2) percentiles of those means. The
 * `random` source makes it repeatable (a seeded one in reports).
 */
export function pairedBootstrap(
  pairs: readonly (readonly [number, number])[],
  random: () => number,
  opts: { rounds?: number; confidence?: number } = {},
): Interval & { n: number } {
  const n = pairs.length;
  if (n === 0) return { n, estimate: Number.NaN, lo: Number.NaN, hi: Number.NaN };
  const diffs = pairs.map(([a, b]) => b - a);
  const estimate = diffs.reduce((s, d) => s + d, 0) / n;
  const rounds = opts.rounds ?? 2000;
  const means = new Float64Array(rounds);
  for (let r = 0; r < rounds; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += diffs[Math.floor(random() * n)] as number;
    means[r] = sum / n;
  }
  means.sort();
  const alpha = 1 - (opts.confidence ?? 0.95);
  const at = (q: number) => means[Math.min(rounds - 1, Math.max(0, Math.floor(q * rounds)))] as number;
  return { n, estimate, lo: at(alpha / 2), hi: at(1 - alpha / 2) };
}

/** core/stats.ts against published worked examples, and properties of the intervals. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { elo, fitBradleyTerry, leaderboard, type Pick } from "../src/core/bradley-terry.js";
import { seededRandom } from "../src/core/random.js";
import {
  meanInterval,
  momentsOf,
  nearestRankIndex,
  newcombeDiff,
  proportionMoments,
  relativeLift,
  sampleRatioMismatch,
  sequentialDiff,
  welchDiff,
  wilson,
  zFor,
} from "../src/core/stats.js";

describe("wilson", () => {
  it("matches Newcombe 1998 (single proportion), method 3: 81/263 → 0.2553 to 0.3662", () => {
    const i = wilson(81, 263);
    expect(i.lo).toBeCloseTo(0.2553, 4);
    expect(i.hi).toBeCloseTo(0.3662, 4);
  });

  it("matches Newcombe 1998 for 0/20 → 0 to 0.1611", () => {
    const i = wilson(0, 20);
    expect(i.lo).toBe(0);
    expect(i.hi).toBeCloseTo(0.1611, 4);
  });

  it("always contains the estimate and stays within [0, 1]", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, f) => {
        const x = Math.floor(f * n);
        const i = wilson(x, n);
        return i.lo >= 0 && i.hi <= 1 && i.lo <= i.estimate + 1e-12 && i.estimate <= i.hi + 1e-12;
      }),
    );
  });
});

describe("newcombeDiff", () => {
  // Newcombe 1998 (difference), table II, method 10, examples (a), (d) and (f).
  it("matches 56/70 − 48/80 → 0.0524 to 0.3339", () => {
    const i = newcombeDiff(56, 70, 48, 80);
    expect(i.estimate).toBeCloseTo(0.2, 10);
    expect(i.lo).toBeCloseTo(0.0524, 4);
    expect(i.hi).toBeCloseTo(0.3339, 4);
  });

  it("matches 5/56 − 0/29 → −0.0381 to 0.1926", () => {
    const i = newcombeDiff(5, 56, 0, 29);
    expect(i.lo).toBeCloseTo(-0.0381, 4);
    expect(i.hi).toBeCloseTo(0.1926, 4);
  });

  it("matches 10/10 − 0/20 → 0.6791 to 1", () => {
    const i = newcombeDiff(10, 10, 0, 20);
    expect(i.lo).toBeCloseTo(0.6791, 4);
    expect(i.hi).toBeCloseTo(1, 10);
  });
});

describe("welchDiff", () => {
  // R's documented example: t.test(extra ~ group, data = sleep) prints
  // df = 17.776, 95 percent confidence interval -3.3654832 0.2054832.
  const g1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
  const g2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
  const moments = (xs: number[]) =>
    momentsOf(
      xs.length,
      xs.reduce((s, x) => s + x, 0),
      xs.reduce((s, x) => s + x * x, 0),
    );

  it("gives R's one-sample t interval: t.test(sleep$extra[1:10]) → -0.5297804 to 2.0297804", () => {
    const i = meanInterval(moments(g1));
    expect(i?.estimate).toBeCloseTo(0.75, 12);
    expect(i?.lo).toBeCloseTo(-0.5297804, 6);
    expect(i?.hi).toBeCloseTo(2.0297804, 6);
  });

  it("matches R's Welch two-sample t-test on the sleep data", () => {
    const i = welchDiff(moments(g1), moments(g2));
    expect(i.estimate).toBeCloseTo(-1.58, 10);
    expect(i.df).toBeCloseTo(17.776, 3);
    expect(i.lo).toBeCloseTo(-3.3654832, 6);
    expect(i.hi).toBeCloseTo(0.2054832, 6);
  });
});

describe("helpers", () => {
  it("z for 95 % is 1.959964 (normal quantile tables)", () => {
    expect(zFor(0.95)).toBeCloseTo(1.959964, 6);
  });

  it("nearest rank: the p95 of 100 values is the 95th, of 1 value the only one", () => {
    expect(nearestRankIndex(100, 0.95)).toBe(94);
    expect(nearestRankIndex(1, 0.95)).toBe(0);
    expect(nearestRankIndex(20, 0.95)).toBe(18);
  });
});

describe("relativeLift", () => {
  it("matches the delta method worked by hand", () => {
    // a: mean 10, s² 4, n 100; b: mean 11, s² 9, n 100. Lift 0.1;
    // se = sqrt(0.09/100 + 11²·0.04/10⁴) = sqrt(0.001384) = 0.0372022; half-width 1.959964·se = 0.0729149.
    const i = relativeLift({ n: 100, mean: 10, variance: 4 }, { n: 100, mean: 11, variance: 9 });
    expect(i.estimate).toBeCloseTo(0.1, 12);
    expect(i.lo).toBeCloseTo(0.1 - 0.0729149, 6);
    expect(i.hi).toBeCloseTo(0.1 + 0.0729149, 6);
  });

  it("is undefined when the control's mean is 0", () => {
    expect(relativeLift({ n: 10, mean: 0, variance: 1 }, { n: 10, mean: 1, variance: 1 }).lo).toBeNaN();
  });
});

describe("sampleRatioMismatch", () => {
  it("matches R's chisq.test(c(50000, 51000)): X-squared = 9.901, p-value = 0.001652", () => {
    const r = sampleRatioMismatch([50_000, 51_000], [50, 50]);
    expect(r.chiSquare).toBeCloseTo(9.90099, 4);
    expect(r.degreesOfFreedom).toBe(1);
    expect(r.pValue).toBeCloseTo(0.001652, 6);
    expect(r.mismatch).toBe(false); // above the strict 0.001 alarm
    expect(sampleRatioMismatch([50_000, 51_000], [50, 50], 0.01).mismatch).toBe(true);
  });

  it("uses the configured shares: 3400/3300/3300 against thirds is chi-square 2 on 2 df (p = e^-1)", () => {
    const r = sampleRatioMismatch([3400, 3300, 3300], [1, 1, 1]);
    expect(r.chiSquare).toBeCloseTo(2, 10);
    expect(r.pValue).toBeCloseTo(Math.exp(-1), 10);
    // A variant at weight 0 expects nothing and is not a cell.
    expect(sampleRatioMismatch([900, 100, 0], [90, 10, 0]).chiSquare).toBeCloseTo(0, 10);
  });
});

describe("sequentialDiff (mSPRT confidence sequence)", () => {
  it("matches the formula worked by hand", () => {
    // V = 1/100 + 1/100 = 0.02, τ = 0.25: half = sqrt(0.02·0.0825/0.0625 · (2 ln 20 + ln(0.0825/0.02))) = 0.4422502.
    const i = sequentialDiff({ n: 100, mean: 0, variance: 1 }, { n: 100, mean: 0.3, variance: 1 }, 0.05, 0.25);
    expect(i.estimate).toBeCloseTo(0.3, 12);
    expect(i.hi - i.estimate).toBeCloseTo(0.4422502, 6);
  });

  it("is always wider than the fixed-sample interval at the same level", () => {
    fc.assert(
      fc.property(fc.integer({ min: 10, max: 100_000 }), fc.double({ min: 0.01, max: 10, noNaN: true }), (n, sd) => {
        const m = { n, mean: 0, variance: sd * sd };
        const seq = sequentialDiff(m, m);
        const fixed = zFor(0.95) * Math.sqrt((2 * sd * sd) / n);
        return seq.hi > fixed;
      }),
    );
  });

  it("keeps its false-positive rate under 5 % in simulated A/A tests checked after every batch", () => {
    // 400 A/A experiments on a 20 % conversion rate, 40 looks of 50 users per arm each.
    const random = seededRandom(2026);
    let sequentialAlarms = 0;
    let peekingAlarms = 0;
    for (let e = 0; e < 400; e++) {
      let xa = 0;
      let xb = 0;
      let n = 0;
      let seqHit = false;
      let peekHit = false;
      for (let look = 0; look < 40; look++) {
        for (let u = 0; u < 50; u++) {
          if (random() < 0.2) xa++;
          if (random() < 0.2) xb++;
        }
        n += 50;
        const a = proportionMoments(xa, n);
        const b = proportionMoments(xb, n);
        const seq = sequentialDiff(a, b, 0.05);
        if (seq.lo > 0 || seq.hi < 0) seqHit = true;
        const d = newcombeDiff(xb, n, xa, n);
        if (d.lo > 0 || d.hi < 0) peekHit = true;
      }
      if (seqHit) sequentialAlarms++;
      if (peekHit) peekingAlarms++;
    }
    expect(sequentialAlarms / 400).toBeLessThanOrEqual(0.05);
    // The same looks with a fixed-sample interval: peeking inflates its error far past 5 %.
    expect(peekingAlarms / 400).toBeGreaterThan(0.1);
  });
});

describe("Bradley–Terry", () => {
  const picks = (a: string, b: string, aWins: number, bWins: number, ties = 0): Pick[] => [
    ...Array.from({ length: aWins }, () => ({ a, b, winner: "a" as const })),
    ...Array.from({ length: bWins }, () => ({ a, b, winner: "b" as const })),
    ...Array.from({ length: ties }, () => ({ a, b, winner: "tie" as const })),
  ];

  it("gives the closed form for two items: 7 wins to 3 is a strength ratio of 7/3", () => {
    const p = fitBradleyTerry(picks("x", "y", 7, 3), { prior: 0 });
    expect((p.get("x") as number) / (p.get("y") as number)).toBeCloseTo(7 / 3, 8);
    // Elo difference 400·log10(7/3) = 147.19.
    expect(elo(p.get("x") as number) - elo(p.get("y") as number)).toBeCloseTo(147.19, 2);
  });

  it("counts a tie as half a win to each side", () => {
    const p = fitBradleyTerry(picks("x", "y", 3, 1, 2), { prior: 0 });
    expect((p.get("x") as number) / (p.get("y") as number)).toBeCloseTo(4 / 2, 8);
  });

  it("solves the likelihood equations: each item's wins equal its expected wins", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })), {
          minLength: 6,
          maxLength: 6,
        }),
        (counts) => {
          const items = ["a", "b", "c", "d"];
          const pairs = [
            ["a", "b"],
            ["a", "c"],
            ["a", "d"],
            ["b", "c"],
            ["b", "d"],
            ["c", "d"],
          ] as const;
          const all = pairs.flatMap(([x, y], i) =>
            picks(x, y, (counts[i] as number[])[0] as number, (counts[i] as number[])[1] as number),
          );
          const p = fitBradleyTerry(all, { prior: 0 });
          for (const item of items) {
            let wins = 0;
            let expected = 0;
            for (const g of all) {
              if (g.a !== item && g.b !== item) continue;
              const other = g.a === item ? g.b : g.a;
              if ((g.winner === "a" && g.a === item) || (g.winner === "b" && g.b === item)) wins++;
              expected += (p.get(item) as number) / ((p.get(item) as number) + (p.get(other) as number));
            }
            if (Math.abs(wins - expected) > 1e-6) return false;
          }
          return true;
        },
      ),
      { numRuns: 50 },
    );
  });

  it("keeps an unbeaten item finite with the prior, and ranks with bootstrap intervals around the score", () => {
    const all = [...picks("best", "mid", 30, 5), ...picks("mid", "worst", 25, 10), ...picks("best", "worst", 20, 0)];
    const rows = leaderboard(all, { random: seededRandom(3), bootstrap: 200 });
    expect(rows.map((r) => r.item)).toEqual(["best", "mid", "worst"]);
    for (const r of rows) {
      expect(Number.isFinite(r.score)).toBe(true);
      expect(r.lo).toBeLessThanOrEqual(r.score);
      expect(r.hi).toBeGreaterThanOrEqual(r.score);
    }
    expect(rows[0]).toMatchObject({ wins: 50, losses: 5, ties: 0 });
    expect(rows[0]?.winRate).toBeCloseTo(50 / 55, 12);
    // Same seed, same intervals.
    expect(leaderboard(all, { random: seededRandom(3), bootstrap: 200 })).toEqual(rows);
  });
});

describe("poisson", () => {
  it("has the mean and variance λ for small and large λ", async () => {
    const { poisson } = await import("../src/core/random.js");
    for (const lambda of [0.5, 4, 80]) {
      const random = seededRandom(9);
      const n = 40_000;
      let sum = 0;
      let sq = 0;
      for (let i = 0; i < n; i++) {
        const x = poisson(lambda, random);
        sum += x;
        sq += x * x;
      }
      const mean = sum / n;
      expect(Math.abs(mean - lambda)).toBeLessThan(0.03 * lambda + 0.02);
      expect(Math.abs(sq / n - mean * mean - lambda)).toBeLessThan(0.06 * lambda + 0.03);
    }
  });
});

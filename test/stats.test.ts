/** core/stats.ts against published worked examples, and properties of the intervals. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { momentsOf, nearestRankIndex, newcombeDiff, welchDiff, wilson, zFor } from "../src/core/stats.js";

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

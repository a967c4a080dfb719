/** The latency sketch: quantiles within its stated relative error, merging equal to sketching everything at once. */
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addToSketch,
  mergeSketch,
  SKETCH_RELATIVE_ERROR,
  type Sketch,
  sketchBucket,
  sketchQuantile,
} from "../src/core/sketch.js";
import { nearestRankIndex } from "../src/core/stats.js";

const sketchOf = (xs: number[]): Sketch => {
  const s: Sketch = {};
  for (const x of xs) addToSketch(s, x);
  return s;
};

describe("latency sketch", () => {
  it("reads every nearest-rank quantile within its relative error", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.01, max: 600_000, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.constantFrom(0.5, 0.9, 0.95, 0.99),
        (xs, q) => {
          const exact = [...xs].sort((a, b) => a - b)[nearestRankIndex(xs.length, q)] as number;
          const got = sketchQuantile(sketchOf(xs), q) as number;
          return Math.abs(got - exact) <= exact * SKETCH_RELATIVE_ERROR * (1 + 1e-9);
        },
      ),
    );
  });

  it("merges: two sketches added are the sketch of both halves", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.01, max: 1e5, noNaN: true })),
        fc.array(fc.double({ min: 0.01, max: 1e5, noNaN: true })),
        (a, b) => isDeepStrictEqual(mergeSketch(sketchOf(a), sketchOf(b)), sketchOf([...a, ...b])),
      ),
    );
  });

  it("has a relative error of 0.5 % and keeps zero apart", () => {
    expect(SKETCH_RELATIVE_ERROR).toBeCloseTo(0.004975, 6);
    expect(sketchBucket(0)).toBe("z");
    expect(sketchQuantile(sketchOf([0, 0, 100]), 0.5)).toBe(0);
    expect(sketchQuantile({}, 0.5)).toBeNull();
    // 1 500 ms lands within ±7.5 ms.
    expect(Math.abs((sketchQuantile(sketchOf([1500]), 0.95) as number) - 1500)).toBeLessThan(7.5);
  });
});

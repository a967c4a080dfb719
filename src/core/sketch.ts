/**
 * A mergeable quantile sketch for latencies: a histogram over logarithmic
 * buckets, as in DDSketch (Masson, Rim & Lee, "DDSketch: A Fast and
 * Fully-Mergeable Quantile Sketch with Relative-Error Guarantees", VLDB 2019).
 * A positive value x goes to bucket k = ceil(ln x / ln γ); every value in a
 * bucket is within a relative error α = (γ − 1)/(γ + 1) of the bucket's
 * representative 2γ^k/(γ + 1). With γ = 1.01, α ≈ 0.5 %: a p95 of 1 500 ms
 * is reported within ±7.5 ms. Sketches of any hours merge by adding counts,
 * which is what lets reports read hourly rollups instead of every request.
 * The same bucket formula runs in SQL (ln and ceil exist in SQLite and
 * PostgreSQL) for rows not rolled up yet.
 */

export const SKETCH_GAMMA = 1.01;
const LN_GAMMA = Math.log(SKETCH_GAMMA);
/** Relative accuracy of every quantile read from a sketch. */
export const SKETCH_RELATIVE_ERROR = (SKETCH_GAMMA - 1) / (SKETCH_GAMMA + 1);

/** Bucket index → count; values ≤ 0 are counted under bucket "z". */
export type Sketch = Record<string, number>;

export function sketchBucket(x: number): string {
  return x > 0 ? String(Math.ceil(Math.log(x) / LN_GAMMA)) : "z";
}

/** The value a bucket stands for (its representative; 0 for the zero bucket). */
function bucketValue(k: string): number {
  return k === "z" ? 0 : (2 * SKETCH_GAMMA ** Number(k)) / (SKETCH_GAMMA + 1);
}

export function addToSketch(s: Sketch, x: number, count = 1): void {
  const k = sketchBucket(x);
  s[k] = (s[k] ?? 0) + count;
}

export function mergeSketch(into: Sketch, from: Sketch): Sketch {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
  return into;
}

export function sketchCount(s: Sketch): number {
  let n = 0;
  for (const c of Object.values(s)) n += c;
  return n;
}

/** The q-quantile by nearest rank (the bucket holding rank ceil(q·n)), as the bucket's representative. */
export function sketchQuantile(s: Sketch, q: number): number | null {
  const n = sketchCount(s);
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil(q * n));
  const keys = Object.keys(s).sort((a, b) => (a === "z" ? -1 : b === "z" ? 1 : Number(a) - Number(b)));
  let seen = 0;
  for (const k of keys) {
    seen += s[k] as number;
    if (seen >= rank) return bucketValue(k);
  }
  return null;
}

/** Upper edges (ms) of the latency histogram a report shows; the last bin holds everything above. */
export const HISTOGRAM_EDGES_MS = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000] as const;

export interface HistogramBin {
  /** The bin holds values ≤ this (ms) and above the previous edge; null for the last, open bin. */
  upToMs: number | null;
  count: number;
}

/**
 * A sketch's values counted into `edges`, each bucket by its representative
 * (so a value near an edge can land in the neighbouring bin, within the
 * sketch's relative error).
 */
export function sketchHistogram(s: Sketch, edges: readonly number[] = HISTOGRAM_EDGES_MS): HistogramBin[] {
  const bins: HistogramBin[] = [...edges.map((e) => ({ upToMs: e, count: 0 })), { upToMs: null, count: 0 }];
  for (const [k, n] of Object.entries(s)) {
    const value = bucketValue(k);
    const i = edges.findIndex((e) => value <= e);
    (bins[i === -1 ? edges.length : i] as HistogramBin).count += n;
  }
  return bins;
}

/**
 * Deterministic assignment of a unit (a user, a session or a request) to an
 * experiment's variant.
 *
 * The algorithm (version 1), which every replica computes alike with nothing
 * shared at request time:
 * 1. `h = SHA-256("switchyard-assign-v1:" + key + ":" + unit)`; its first 52
 *    bits divided by 2^52 give `u` in [0, 1). The experiment's key salts the
 *    hash, so two experiments with different keys split users independently.
 * 2. The unit's bucket is `floor(u * 10 000)`.
 * 3. The experiment's allocation maps bucket ranges to variants. It is part of
 *    the experiment's definition (stored with it), not of any request.
 *
 * Why an allocation rather than weights alone: no function of the weights alone
 * can move only the users it must for every change of weights (from 50/50/0 to
 * 0/50/50 it would have to keep B's users and give A's to C, and from 50/50/0
 * to 50/0/50 keep A's and give B's to C, which no fixed order of ranges does for
 * both). So a weight change starts from the current allocation: variants that
 * shrink give up just enough buckets (the highest first) and variants that grow
 * take just those. Growing a candidate's share therefore moves users only from
 * the other variants to it, never back, and the share of users moved equals the
 * change in weights.
 */
import { createHash } from "node:crypto";

export const ASSIGNMENT_VERSION = 1;
/** Buckets per experiment: weights are honoured to 0.01 %. */
export const BUCKETS = 10_000;

const TWO_POW_52 = 2 ** 52;

/** The unit's position in [0, 1) for an experiment key (step 1 above). */
export function unitHash(key: string, unitId: string): number {
  const d = createHash("sha256").update(`switchyard-assign-v${ASSIGNMENT_VERSION}:${key}:${unitId}`).digest();
  // 52 bits: 32 from the first word, 20 from the next; exact in a double.
  return (d.readUInt32BE(0) * 2 ** 20 + (d.readUInt32BE(4) >>> 12)) / TWO_POW_52;
}

export function bucketOf(key: string, unitId: string): number {
  return Math.floor(unitHash(key, unitId) * BUCKETS);
}

/** Buckets `[start, end)` served by `variant`. */
export interface Segment {
  start: number;
  end: number;
  variant: string;
}

/** Segments in ascending order covering every bucket exactly once. */
export type Allocation = Segment[];

export interface Weight {
  variant: string;
  weight: number;
}

/**
 * Whole buckets per variant, proportional to the weights (largest remainder,
 * ties to the earlier variant), summing to BUCKETS.
 */
export function bucketCounts(weights: readonly Weight[]): Map<string, number> {
  const total = weights.reduce((s, w) => s + w.weight, 0);
  if (!(total > 0)) throw new RangeError("at least one weight must be positive");
  const exact = weights.map((w) => (w.weight / total) * BUCKETS);
  const counts = exact.map(Math.floor);
  let left = BUCKETS - counts.reduce((s, c) => s + c, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left === 0) break;
    counts[i] = (counts[i] as number) + 1;
    left--;
  }
  return new Map(weights.map((w, i) => [w.variant, counts[i] as number]));
}

/** A first allocation: contiguous ranges in the weights' order. */
export function initialAllocation(weights: readonly Weight[]): Allocation {
  const counts = bucketCounts(weights);
  const out: Allocation = [];
  let at = 0;
  for (const w of weights) {
    const n = counts.get(w.variant) ?? 0;
    if (n > 0) out.push({ start: at, end: at + n, variant: w.variant });
    at += n;
  }
  return out;
}

/**
 * The allocation for new weights that moves the fewest buckets from `prev`:
 * shrinking variants release their highest buckets, growing variants (in the
 * weights' order) take the released ranges lowest first.
 */
export function reallocate(prev: Allocation, weights: readonly Weight[]): Allocation {
  const target = bucketCounts(weights);
  const held = new Map<string, number>();
  for (const s of prev) held.set(s.variant, (held.get(s.variant) ?? 0) + s.end - s.start);

  const kept: Segment[] = [];
  const freed: { start: number; end: number }[] = [];
  // Walk each variant's segments from the highest, releasing what it must give up.
  const excess = new Map<string, number>();
  for (const [v, n] of held) excess.set(v, Math.max(0, n - (target.get(v) ?? 0)));
  for (let i = prev.length - 1; i >= 0; i--) {
    const s = prev[i] as Segment;
    const give = Math.min(excess.get(s.variant) ?? 0, s.end - s.start);
    if (give > 0) {
      excess.set(s.variant, (excess.get(s.variant) ?? 0) - give);
      freed.push({ start: s.end - give, end: s.end });
      if (s.end - give > s.start) kept.push({ start: s.start, end: s.end - give, variant: s.variant });
    } else {
      kept.push(s);
    }
  }
  freed.sort((a, b) => a.start - b.start);

  let f = 0;
  let cursor = freed[0]?.start ?? 0;
  for (const w of weights) {
    let need = (target.get(w.variant) ?? 0) - (held.get(w.variant) ?? 0);
    while (need > 0) {
      const range = freed[f];
      if (!range) throw new Error("allocation does not cover every bucket");
      if (cursor < range.start) cursor = range.start;
      const take = Math.min(need, range.end - cursor);
      kept.push({ start: cursor, end: cursor + take, variant: w.variant });
      cursor += take;
      need -= take;
      if (cursor >= range.end) f++;
    }
  }
  return compact(kept);
}

/** Sorted, with touching segments of the same variant merged. */
function compact(segments: Segment[]): Allocation {
  const sorted = [...segments].sort((a, b) => a.start - b.start);
  const out: Allocation = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && last.variant === s.variant && last.end === s.start) last.end = s.end;
    else out.push({ ...s });
  }
  return out;
}

/** The variant serving a bucket. */
export function variantAt(allocation: Allocation, bucket: number): string | undefined {
  let lo = 0;
  let hi = allocation.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const s = allocation[mid] as Segment;
    if (bucket < s.start) hi = mid - 1;
    else if (bucket >= s.end) lo = mid + 1;
    else return s.variant;
  }
  return undefined;
}

/** Buckets per variant in an allocation. */
export function sharesOf(allocation: Allocation): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of allocation) out.set(s.variant, (out.get(s.variant) ?? 0) + s.end - s.start);
  return out;
}

/** The share of buckets whose variant differs between two allocations. */
export function movedShare(a: Allocation, b: Allocation): number {
  let moved = 0;
  // Walk both segment lists together over their common boundaries.
  let i = 0;
  let j = 0;
  let at = 0;
  while (i < a.length && j < b.length) {
    const sa = a[i] as Segment;
    const sb = b[j] as Segment;
    const end = Math.min(sa.end, sb.end);
    if (sa.variant !== sb.variant) moved += end - at;
    at = end;
    if (sa.end === end) i++;
    if (sb.end === end) j++;
  }
  return moved / BUCKETS;
}

/** Checks an allocation read from storage: ascending, gapless, covering every bucket. */
export function isValidAllocation(v: unknown): v is Allocation {
  if (!Array.isArray(v) || v.length === 0) return false;
  let at = 0;
  for (const s of v) {
    if (typeof s !== "object" || s === null) return false;
    const { start, end, variant } = s as Record<string, unknown>;
    if (start !== at || typeof end !== "number" || !Number.isInteger(end) || end <= at || typeof variant !== "string")
      return false;
    at = end;
  }
  return at === BUCKETS;
}

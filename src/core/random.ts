/** Random sources for the statistics: Math.random by default, seeded where a test needs the same draws. */

/** A uniform [0, 1) source. */
export type Random = () => number;

/** mulberry32 (Tommy Ettinger, public domain): a small, fast seeded generator; not for secrets. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

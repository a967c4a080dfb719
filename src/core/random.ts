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

/**
 * A Poisson(λ) draw: Knuth's product method for small λ, a rounded normal
 * approximation above 30 (error negligible for resampling weights).
 */
export function poisson(lambda: number, random: Random): number {
  if (lambda <= 0) return 0;
  if (lambda > 30) {
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * z));
  }
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

/**
 * A Thompson-sampling bandit over an experiment's variants on a binary reward
 * (Thompson 1933; Chapelle & Li, "An Empirical Evaluation of Thompson
 * Sampling", NIPS 2011). Each variant's reward rate has a Beta(1 + successes,
 * 1 + failures) posterior; the share a variant gets is the posterior
 * probability that it is the best, estimated by sampling, mixed with a floor:
 *
 *   share_i = minShare + (1 − k · minShare) · P(i is best)     (k variants)
 *
 * so every variant keeps at least minShare of the traffic (it keeps learning,
 * and an early unlucky streak cannot starve it) and the shares sum to 1.
 * Units stay sticky: new shares are applied by reallocating the experiment's
 * buckets, which moves only the users the change requires.
 */
import type { Weight } from "./assignment.js";
import type { Random } from "./random.js";

export interface ArmReward {
  variant: string;
  successes: number;
  failures: number;
}

export interface BanditShare extends Weight {
  probabilityBest: number;
}

function normal(random: Random): number {
  // Box–Muller; 1 − u keeps the logarithm finite.
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Gamma(shape, 1) by Marsaglia & Tsang (2000); shape ≥ 1 here (Beta parameters start at 1). */
function gamma(shape: number, random: Random): number {
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - random();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

export function betaSample(a: number, b: number, random: Random): number {
  const x = gamma(a, random);
  return x / (x + gamma(b, random));
}

/** P(best) per arm by `draws` joint posterior draws, then the floored shares (in percent). */
export function thompsonShares(
  arms: ArmReward[],
  minShare: number,
  draws = 10_000,
  random: Random = Math.random,
): BanditShare[] {
  if (arms.length === 0) return [];
  if (minShare * arms.length > 1) throw new RangeError("minShare times the number of variants exceeds 1");
  const wins = new Array<number>(arms.length).fill(0);
  for (let d = 0; d < draws; d++) {
    let best = 0;
    let bestValue = -1;
    for (let i = 0; i < arms.length; i++) {
      const arm = arms[i] as ArmReward;
      const v = betaSample(1 + arm.successes, 1 + arm.failures, random);
      if (v > bestValue) {
        bestValue = v;
        best = i;
      }
    }
    wins[best] = (wins[best] as number) + 1;
  }
  const free = 1 - minShare * arms.length;
  return arms.map((arm, i) => {
    const p = (wins[i] as number) / draws;
    return { variant: arm.variant, weight: Math.round((minShare + free * p) * 10_000) / 100, probabilityBest: p };
  });
}

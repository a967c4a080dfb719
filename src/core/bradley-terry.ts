/**
 * A preference leaderboard: Bradley–Terry strengths fitted to pairwise picks
 * (Bradley & Terry 1952), by the MM algorithm of Hunter, "MM algorithms for
 * generalized Bradley–Terry models" (Annals of Statistics, 2004), with
 * percentile-bootstrap intervals (Efron & Tibshirani 1993, ch. 13).
 *
 * Model: P(i beats j) = p_i / (p_i + p_j). A tie counts as half a win to each
 * side (the convention of LMSYS's Chatbot Arena). "Both bad" says nothing
 * about which is better and is left out. With `prior` > 0 every item also
 * plays that many virtual ties against a fixed reference of strength 1: a weak
 * pull towards the middle that keeps an item with no wins (or no losses) at a
 * finite strength. Scores are shown on the Elo scale: 1000 + 400·log10(p_i /
 * geometric mean of p), so 400 points are 10:1 odds.
 */
import { poisson, type Random } from "./random.js";

export interface Pick {
  a: string;
  b: string;
  winner: "a" | "b" | "tie";
  /** How many identical picks this stands for (default 1). */
  n?: number;
}

export interface FitOptions {
  /** Virtual ties per item against a reference of strength 1 (default 1). */
  prior?: number;
  maxIterations?: number;
  /** Stop when no strength moves by more than this factor (relative). */
  tolerance?: number;
}

/** Strengths p_i (geometric mean 1), by item. */
export function fitBradleyTerry(picks: Pick[], opts: FitOptions = {}): Map<string, number> {
  const prior = opts.prior ?? 1;
  const maxIterations = opts.maxIterations ?? 10_000;
  const tolerance = opts.tolerance ?? 1e-10;
  const items = [...new Set(picks.flatMap((p) => [p.a, p.b]))].sort();
  const index = new Map(items.map((x, i) => [x, i]));
  const k = items.length;
  // wins[i]: (half-)wins of i; games[i][j]: comparisons between i and j.
  const wins = new Array<number>(k).fill(prior / 2);
  const games = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (const p of picks) {
    const i = index.get(p.a) as number;
    const j = index.get(p.b) as number;
    const n = p.n ?? 1;
    if (i === j || n <= 0) continue;
    (games[i] as number[])[j] = ((games[i] as number[])[j] as number) + n;
    (games[j] as number[])[i] = ((games[j] as number[])[i] as number) + n;
    if (p.winner === "a") wins[i] = (wins[i] as number) + n;
    else if (p.winner === "b") wins[j] = (wins[j] as number) + n;
    else {
      wins[i] = (wins[i] as number) + n / 2;
      wins[j] = (wins[j] as number) + n / 2;
    }
  }
  let strength = new Array<number>(k).fill(1);
  for (let iter = 0; iter < maxIterations; iter++) {
    const next = new Array<number>(k);
    for (let i = 0; i < k; i++) {
      const pi = strength[i] as number;
      // The reference opponent (strength 1) for the prior's virtual games.
      let denominator = prior > 0 ? prior / (pi + 1) : 0;
      const row = games[i] as number[];
      for (let j = 0; j < k; j++) {
        const n = row[j] as number;
        if (n > 0) denominator += n / (pi + (strength[j] as number));
      }
      next[i] = denominator > 0 ? (wins[i] as number) / denominator : pi;
    }
    if (prior === 0) normalise(next);
    let moved = 0;
    for (let i = 0; i < k; i++) moved = Math.max(moved, Math.abs((next[i] as number) / (strength[i] as number) - 1));
    strength = next;
    if (moved < tolerance) break;
  }
  normalise(strength);
  return new Map(items.map((x, i) => [x, strength[i] as number]));
}

/** Scales to a geometric mean of 1 (Bradley–Terry strengths are defined up to a factor). */
function normalise(p: number[]): void {
  const logMean = p.reduce((s, x) => s + Math.log(x), 0) / p.length;
  const f = Math.exp(-logMean);
  for (let i = 0; i < p.length; i++) p[i] = (p[i] as number) * f;
}

export const elo = (strength: number): number => 1000 + 400 * Math.log10(strength);

export interface LeaderboardRow {
  item: string;
  /** Elo-scale score and its bootstrap interval. */
  score: number;
  lo: number;
  hi: number;
  wins: number;
  losses: number;
  ties: number;
  /** Wins plus half the ties, over comparisons. */
  winRate: number;
}

export interface LeaderboardOptions extends FitOptions {
  /** Bootstrap resamples (default 200); 0 gives no interval. */
  bootstrap?: number;
  confidence?: number;
  random?: Random;
}

/** Items best first, each with its score, interval and record. "Both bad" picks must be left out by the caller. */
export function leaderboard(picks: Pick[], opts: LeaderboardOptions = {}): LeaderboardRow[] {
  const fitted = fitBradleyTerry(picks, opts);
  const record = new Map<string, { wins: number; losses: number; ties: number }>();
  const rec = (x: string) => {
    const r = record.get(x) ?? { wins: 0, losses: 0, ties: 0 };
    record.set(x, r);
    return r;
  };
  for (const p of picks) {
    const n = p.n ?? 1;
    if (p.winner === "tie") {
      rec(p.a).ties += n;
      rec(p.b).ties += n;
    } else {
      rec(p.winner === "a" ? p.a : p.b).wins += n;
      rec(p.winner === "a" ? p.b : p.a).losses += n;
    }
  }
  const rounds = opts.bootstrap ?? 200;
  const random = opts.random ?? Math.random;
  const samples = new Map<string, number[]>([...fitted.keys()].map((x) => [x, []]));
  for (let b = 0; b < rounds && picks.length > 0; b++) {
    // Poisson bootstrap (Hanley & MacGibbon 2006): each pick's weight is Poisson(1), so a group of n
    // identical picks gets Poisson(n); the work is per group, not per pick.
    const resample = picks.map((p) => ({ ...p, n: poisson(p.n ?? 1, random) }));
    const fit = fitBradleyTerry(resample, opts);
    // An item missing from a resample has no score there; its interval uses the resamples it is in.
    for (const [item, s] of fit) samples.get(item)?.push(elo(s));
  }
  const tail = (1 - (opts.confidence ?? 0.95)) / 2;
  return [...fitted]
    .map(([item, s]) => {
      const sorted = (samples.get(item) as number[]).sort((x, y) => x - y);
      const r = record.get(item) ?? { wins: 0, losses: 0, ties: 0 };
      const games = r.wins + r.losses + r.ties;
      return {
        item,
        score: elo(s),
        lo: sorted.length > 0 ? quantile(sorted, tail) : Number.NaN,
        hi: sorted.length > 0 ? quantile(sorted, 1 - tail) : Number.NaN,
        ...r,
        winRate: games > 0 ? (r.wins + r.ties / 2) / games : Number.NaN,
      };
    })
    .sort((x, y) => y.score - x.score);
}

/** Linear interpolation between order statistics (type 7 of Hyndman & Fan 1996, R's default). */
function quantile(sorted: number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const a = sorted[lo] as number;
  const b = sorted[Math.min(lo + 1, sorted.length - 1)] as number;
  return a + (h - lo) * (b - a);
}

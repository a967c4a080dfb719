/**
 * The comparison report of a replay: per candidate its success, latency,
 * tokens, cost and the mean of each score with an interval; then each other
 * candidate against the first (the baseline) on the items both were scored on:
 * McNemar's exact test and the paired difference for pass/fail scorers, a
 * paired bootstrap interval (seeded, so a report is repeatable) for the
 * similarities and for latency (items both answered). Pure: the results come
 * in, the numbers go out.
 */
import { seededRandom } from "../random.js";
import { type Interval, mcnemar, meanInterval, momentsOf, pairedBootstrap, wilson } from "../stats.js";
import { BINARY_SCORERS, type Scores } from "./scorers.js";

export interface ResultLike {
  idx: number;
  candidate: string;
  status: number;
  latency_ms: number;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
  scores: Scores;
}

export interface ScoreSummary {
  scorer: string;
  /** Items scored (the scorer applied). */
  n: number;
  mean: number | null;
  /** Wilson for pass/fail scorers, Student's t for similarities. */
  interval: Interval | null;
}

export interface CandidateSummary {
  candidate: string;
  answered: number;
  successes: number;
  successRate: Interval | null;
  meanLatencyMs: number | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  scores: ScoreSummary[];
}

export interface PairedComparison {
  baseline: string;
  candidate: string;
  scorer: string;
  method: "mcnemar" | "paired-bootstrap";
  /** Items both were scored on. */
  n: number;
  baselineMean: number | null;
  candidateMean: number | null;
  /** candidate − baseline. */
  difference: Interval;
  /** McNemar only: items only the baseline passed, only the candidate passed, and the exact p-value. */
  baselineOnly?: number;
  candidateOnly?: number;
  pValue?: number;
}

export interface ReplayComparison {
  object: "replay.comparison";
  run: string;
  items: number;
  alpha: number;
  candidates: CandidateSummary[];
  comparisons: PairedComparison[];
}

export const BOOTSTRAP_SEED = 20261201;
export const BOOTSTRAP_ROUNDS = 2000;

export function compareReplay(input: {
  run: string;
  items: number;
  candidates: string[];
  scorers: string[];
  results: ResultLike[];
  alpha?: number;
}): ReplayComparison {
  const alpha = input.alpha ?? 0.05;
  const confidence = 1 - alpha;
  const byCandidate = new Map<string, Map<number, ResultLike>>(input.candidates.map((c) => [c, new Map()]));
  for (const r of input.results) byCandidate.get(r.candidate)?.set(r.idx, r);

  const candidates: CandidateSummary[] = input.candidates.map((c) => {
    const rows = [...(byCandidate.get(c) as Map<number, ResultLike>).values()];
    const ok = rows.filter((r) => r.status === 200);
    const scores = input.scorers.map((s): ScoreSummary => {
      const xs = rows.map((r) => r.scores[s as keyof Scores]).filter((x): x is number => typeof x === "number");
      if (xs.length === 0) return { scorer: s, n: 0, mean: null, interval: null };
      const sum = xs.reduce((a, b) => a + b, 0);
      const interval = BINARY_SCORERS.has(s)
        ? wilson(sum, xs.length, confidence)
        : meanInterval(
            momentsOf(
              xs.length,
              sum,
              xs.reduce((a, b) => a + b * b, 0),
            ),
            confidence,
          );
      return { scorer: s, n: xs.length, mean: sum / xs.length, interval };
    });
    return {
      candidate: c,
      answered: rows.length,
      successes: ok.length,
      successRate: rows.length > 0 ? wilson(ok.length, rows.length, confidence) : null,
      meanLatencyMs: ok.length > 0 ? ok.reduce((a, r) => a + r.latency_ms, 0) / ok.length : null,
      inputTokens: rows.reduce((a, r) => a + (r.input_tokens ?? 0), 0),
      outputTokens: rows.reduce((a, r) => a + (r.output_tokens ?? 0), 0),
      costUsd: rows.reduce((a, r) => a + (r.cost_usd ?? 0), 0),
      scores,
    };
  });

  const comparisons: PairedComparison[] = [];
  const [baseline, ...others] = input.candidates;
  if (baseline !== undefined) {
    const base = byCandidate.get(baseline) as Map<number, ResultLike>;
    for (const c of others) {
      const cand = byCandidate.get(c) as Map<number, ResultLike>;
      // Latency, paired on the items both answered: what the candidate costs the user in time.
      const latencyPairs: [number, number][] = [];
      for (const [idx, b] of base) {
        const y = cand.get(idx);
        if (b.status === 200 && y?.status === 200) latencyPairs.push([b.latency_ms, y.latency_ms]);
      }
      if (latencyPairs.length > 0) {
        const lb = pairedBootstrap(latencyPairs, seededRandom(BOOTSTRAP_SEED), {
          rounds: BOOTSTRAP_ROUNDS,
          confidence,
        });
        const mean = (k: 0 | 1) => latencyPairs.reduce((a, p) => a + p[k], 0) / latencyPairs.length;
        comparisons.push({
          baseline,
          candidate: c,
          scorer: "latency_ms",
          method: "paired-bootstrap",
          n: latencyPairs.length,
          baselineMean: mean(0),
          candidateMean: mean(1),
          difference: { estimate: lb.estimate, lo: lb.lo, hi: lb.hi },
        });
      }
      for (const s of input.scorers) {
        const key = s as keyof Scores;
        const pairs: [number, number][] = [];
        for (const [idx, b] of base) {
          const x = b.scores[key];
          const y = cand.get(idx)?.scores[key];
          if (typeof x === "number" && typeof y === "number") pairs.push([x, y]);
        }
        if (pairs.length === 0) continue;
        const mean = (k: 0 | 1) => pairs.reduce((a, p) => a + p[k], 0) / pairs.length;
        const head = {
          baseline,
          candidate: c,
          scorer: s,
          n: pairs.length,
          baselineMean: mean(0),
          candidateMean: mean(1),
        };
        if (BINARY_SCORERS.has(s)) {
          const m = mcnemar(pairs, confidence);
          comparisons.push({
            ...head,
            method: "mcnemar",
            difference: m.difference,
            baselineOnly: m.aOnly,
            candidateOnly: m.bOnly,
            pValue: m.pValue,
          });
        } else {
          const b = pairedBootstrap(pairs, seededRandom(BOOTSTRAP_SEED), { rounds: BOOTSTRAP_ROUNDS, confidence });
          comparisons.push({
            ...head,
            method: "paired-bootstrap",
            difference: { estimate: b.estimate, lo: b.lo, hi: b.hi },
          });
        }
      }
    }
  }
  return { object: "replay.comparison", run: input.run, items: input.items, alpha, candidates, comparisons };
}

const shown = (x: number | null | undefined): x is number => typeof x === "number" && Number.isFinite(x);
const f3 = (x: number | null | undefined) => (shown(x) ? x.toFixed(3) : "–");
const pct = (x: number | null | undefined) => (shown(x) ? `${(x * 100).toFixed(1)} %` : "–");
const iv = (i: Interval | null | undefined, fmt: (x: number) => string) =>
  i && shown(i.estimate)
    ? `${fmt(i.estimate)} [${shown(i.lo) ? fmt(i.lo) : "–"}, ${shown(i.hi) ? fmt(i.hi) : "–"}]`
    : "–";

interface Table {
  title: string;
  text: string;
  head: string[];
  rows: string[][];
}

function tables(r: ReplayComparison): Table[] {
  const level = `${Math.round((1 - r.alpha) * 100)} %`;
  const scorers = r.candidates[0]?.scores.map((s) => s.scorer) ?? [];
  const all: Table[] = [
    {
      title: `Replay ${r.run}`,
      text: `${r.items} items. Means with ${level} intervals (Wilson for pass/fail scores, Student's t for similarities).`,
      head: ["candidate", "answered", "success", "mean latency", "tokens in / out", "cost", ...scorers],
      rows: r.candidates.map((c) => [
        c.candidate,
        String(c.answered),
        iv(c.successRate, (x) => pct(x)),
        shown(c.meanLatencyMs) ? `${Math.round(c.meanLatencyMs)} ms` : "–",
        `${c.inputTokens} / ${c.outputTokens}`,
        `$${c.costUsd.toFixed(6)}`,
        ...c.scores.map((s) => (s.n === 0 ? "–" : `${iv(s.interval, (x) => f3(x))} (n=${s.n})`)),
      ]),
    },
    {
      title: "Paired comparisons with the baseline",
      text: `Each candidate against the first on the items both were scored on: candidate − baseline with a ${level} interval; McNemar's exact test for pass/fail scores, a paired bootstrap (${BOOTSTRAP_ROUNDS} rounds, seed ${BOOTSTRAP_SEED}) for similarities and latency (ms).`,
      head: [
        "candidate",
        "scorer",
        "n",
        "baseline",
        "candidate",
        "difference",
        "method",
        "only baseline / only candidate",
        "p",
      ],
      rows: r.comparisons.map((c) => [
        c.candidate,
        c.scorer,
        String(c.n),
        f3(c.baselineMean),
        f3(c.candidateMean),
        iv(c.difference, (x) => f3(x)),
        c.method,
        c.method === "mcnemar" ? `${c.baselineOnly} / ${c.candidateOnly}` : "–",
        shown(c.pValue) ? c.pValue.toPrecision(3) : "–",
      ]),
    },
  ];
  // One candidate has nothing to be compared with.
  return r.comparisons.length > 0 ? all : all.slice(0, 1);
}

const md = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");

export function replayMarkdown(r: ReplayComparison): string {
  const out: string[] = [];
  for (const [i, t] of tables(r).entries()) {
    out.push(`${i === 0 ? "#" : "##"} ${t.title}`, "", t.text, "");
    out.push(`| ${t.head.map(md).join(" | ")} |`, `| ${t.head.map(() => "---").join(" | ")} |`);
    for (const row of t.rows) out.push(`| ${row.map(md).join(" | ")} |`);
    out.push("");
  }
  return `${out.join("\n").trimEnd()}\n`;
}

const esc = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

export function replayHtml(r: ReplayComparison): string {
  const body = tables(r).flatMap((t, i) => [
    i === 0 ? `<h1>${esc(t.title)}</h1>` : `<h2>${esc(t.title)}</h2>`,
    `<p>${esc(t.text)}</p>`,
    "<table>",
    `<thead><tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>`,
    "<tbody>",
    ...t.rows.map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`),
    "</tbody>",
    "</table>",
  ]);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(`Replay ${r.run}`)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}th{background:#f4f4f4}</style>
</head>
<body>
${body.join("\n")}
</body>
</html>
`;
}

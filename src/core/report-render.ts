/**
 * An experiment report as a document: sections of text and tables, written
 * out as Markdown or as a standalone HTML page (no scripts, everything
 * escaped). Both formats come from the same sections, so they say the same.
 */
import type { ExperimentReport, VariantReport } from "./report.js";
import type { Interval } from "./stats.js";

/** The shadow summary as the report carries it (src/store/shadow-results.ts). */
export interface ShadowLine {
  candidate: string;
  comparisons: number;
  primary_success_rate: number | null;
  candidate_success_rate: number | null;
  primary_latency_ms_mean: number | null;
  candidate_latency_ms_mean: number | null;
  rouge_l_mean: number | null;
  chrf_mean: number | null;
  tool_call_comparisons?: number;
  tool_names_match_rate?: number | null;
  tool_args_match_rate?: number | null;
  judge: { primary: number; candidate: number; tie: number; unparsed: number; failed: number };
}

/** Requests per variant and prompt version (src/store/report-queries.ts promptVersionSums). */
export interface PromptVersionLine {
  variant: string;
  prompt_version: string | null;
  requests: number;
  successes: number;
  thumbs: number;
  thumbs_up: number;
}

export type RenderableReport = ExperimentReport & { shadow?: ShadowLine[]; promptVersions?: PromptVersionLine[] };

interface Section {
  title: string;
  text: string[];
  table?: { head: string[]; rows: string[][] };
}

const shown = (x: number | null | undefined): x is number => typeof x === "number" && Number.isFinite(x);
const pct = (x: number | null | undefined, digits = 1) => (shown(x) ? `${(x * 100).toFixed(digits)} %` : "–");
const ms = (x: number | null | undefined) => (shown(x) ? `${Math.round(x)} ms` : "–");
const num = (x: number | null | undefined, digits = 3) => (shown(x) ? x.toFixed(digits) : "–");
const usd = (x: number | null | undefined) => (shown(x) ? `$${x.toFixed(6)}` : "–");
const day = (t: number) => new Date(t).toISOString().slice(0, 16).replace("T", " ");

function withInterval(i: Interval | null, f: (x: number) => string): string {
  if (!i || !Number.isFinite(i.estimate)) return "–";
  if (!Number.isFinite(i.lo) || !Number.isFinite(i.hi)) return f(i.estimate);
  return `${f(i.estimate)} [${f(i.lo)}, ${f(i.hi)}]`;
}

function signed(f: (x: number) => string): (x: number) => string {
  return (x) => (x > 0 ? `+${f(x)}` : f(x));
}

export function reportSections(r: RenderableReport): Section[] {
  const level = `${Math.round((1 - r.alpha) * 100)} %`;
  const sections: Section[] = [
    {
      title: `Experiment ${r.experiment}`,
      text: [
        `Route \`${r.route}\`, status ${r.status}, control \`${r.control}\`.`,
        `Traffic from ${day(r.window.from)} to ${day(r.window.to)} UTC; only requests assigned by hash count. Intervals at ${level}.`,
      ],
    },
  ];
  const decision = {
    go: "GO",
    no_go: "NO-GO",
    pending: "PENDING (not enough data yet)",
    no_criteria: "no criteria set",
  }[r.verdict.decision];
  sections.push({
    title: `Verdict: ${decision}`,
    text: [],
    ...(r.verdict.criteria.length > 0
      ? {
          table: {
            head: ["variant", "criterion", "observed", "n", "status"],
            rows: r.verdict.criteria.map((c) => [
              c.variant,
              `${c.metric} ${c.op} ${c.threshold}`,
              Array.isArray(c.observed) ? `[${num(c.observed[0], 4)}, ${num(c.observed[1], 4)}]` : num(c.observed, 4),
              String(c.n),
              c.status,
            ]),
          },
        }
      : {}),
  });
  sections.push({
    title: "Variants",
    text: ["Latency over successful answers; success excludes answers served by a route fallback."],
    table: {
      head: [
        "variant",
        "share",
        "requests",
        "success",
        "mean latency",
        "p50",
        "p95",
        "p99",
        "TTFT p95",
        "output tokens",
        "thumbs up",
        "stars",
        "cost / request",
        "preference win rate",
      ],
      rows: r.variants.map((v) => [
        v.isControl ? `${v.variant} (control)` : v.variant,
        pct(v.share, 0),
        String(v.requests),
        withInterval(v.successRate, (x) => pct(x)),
        withInterval(v.latencyMs.mean, ms),
        ms(v.latencyMs.p50),
        ms(v.latencyMs.p95),
        ms(v.latencyMs.p99),
        ms(v.ttftMs.p95),
        withInterval(v.tokens.outputMean, (x) => num(x, 0)),
        v.thumbsUp.n > 0 ? `${withInterval(v.thumbsUp.rate, (x) => pct(x))} of ${v.thumbsUp.n}` : "–",
        v.stars.n > 0 ? `${withInterval(v.stars.mean, (x) => num(x, 2))} of ${v.stars.n}` : "–",
        usd(v.costUsd.perRequest?.estimate),
        withInterval(v.preference.winRate, (x) => pct(x)),
      ]),
    },
  });
  const rows: string[][] = [];
  const line = (
    v: VariantReport,
    name: string,
    c: NonNullable<VariantReport["vsControl"]>["successRate"],
    f: (x: number) => string,
  ) => {
    if (!c) return;
    rows.push([
      v.variant,
      name,
      withInterval(c.difference, signed(f)),
      withInterval(c.sequential, signed(f)),
      c.lift
        ? withInterval(
            c.lift,
            signed((x) => pct(x)),
          )
        : "–",
    ]);
  };
  for (const v of r.variants) {
    if (!v.vsControl) continue;
    line(v, "success rate", v.vsControl.successRate, (x) => pct(x, 2));
    line(v, "mean latency", v.vsControl.meanLatencyMs, ms);
    line(v, "mean TTFT", v.vsControl.meanTtftMs, ms);
    line(v, "output tokens", v.vsControl.outputTokens, (x) => num(x, 1));
    line(v, "thumbs-up rate", v.vsControl.thumbsUpRate, (x) => pct(x, 2));
    line(v, "mean stars", v.vsControl.meanStars, (x) => num(x, 2));
    line(v, "cost / request", v.vsControl.costPerRequestUsd, usd);
  }
  sections.push({
    title: "Against the control (variant − control)",
    text: [
      "The fixed-sample interval is valid for one look only; the always-valid interval (mSPRT) may be checked every day.",
    ],
    table: { head: ["variant", "metric", `difference [${level}]`, "always-valid", "lift"], rows },
  });
  const srm = r.srm;
  sections.push(
    srm
      ? {
          title: `Sample ratio: ${srm.mismatch ? "MISMATCH — distrust the comparison" : "as configured"}`,
          text: [
            `First exposures since ${day(srm.since)} UTC against the configured split: chi-square ${num(srm.chiSquare, 3)} on ${srm.degreesOfFreedom} df, p = ${num(srm.pValue, 4)} (alarm below 0.001).`,
          ],
          table: {
            head: ["variant", "units", "expected share"],
            rows: Object.entries(srm.observed).map(([v, n]) => [v, String(n), pct(srm.expectedShares[v] ?? 0, 1)]),
          },
        }
      : {
          title: "Sample ratio: not checked",
          text: ["The split changed after this window ended, so the current shares say nothing about it."],
        },
  );
  if (r.leaderboard.length > 0) {
    sections.push({
      title: "Preference leaderboard (Bradley–Terry)",
      text: ["Elo scale: 400 points are 10:1 odds. Ties count half; 'both bad' is left out."],
      table: {
        head: ["rank", "variant", "score", "95 % bootstrap", "won–lost–tied"],
        rows: r.leaderboard.map((x, i) => [
          String(i + 1),
          x.item,
          num(x.score, 0),
          `[${num(x.lo, 0)}, ${num(x.hi, 0)}]`,
          `${x.wins}–${x.losses}–${x.ties}`,
        ]),
      },
    });
  }
  if (r.promptVersions && r.promptVersions.length > 0) {
    sections.push({
      title: "Prompt versions",
      text: ["The analysed requests of each variant by the prompt version that served them (from the request log)."],
      table: {
        head: ["variant", "prompt version", "requests", "success", "thumbs up (n)"],
        rows: r.promptVersions.map((p) => [
          p.variant,
          p.prompt_version ?? "–",
          String(p.requests),
          pct(p.requests > 0 ? p.successes / p.requests : null),
          p.thumbs > 0 ? `${pct(p.thumbs_up / p.thumbs)} (${p.thumbs})` : "–",
        ]),
      },
    });
  }
  if (r.shadow && r.shadow.length > 0) {
    sections.push({
      title: "Shadow comparisons",
      text: ["Similarity: ROUGE-L F1 over words and chrF (n = 6, β = 2), 0 to 1."],
      table: {
        head: [
          "candidate",
          "comparisons",
          "primary success",
          "candidate success",
          "primary latency",
          "candidate latency",
          "ROUGE-L",
          "chrF",
          "tool calls: same functions / same arguments (n)",
          "judge: primary / candidate / tie",
        ],
        rows: r.shadow.map((s) => [
          s.candidate,
          String(s.comparisons),
          pct(s.primary_success_rate),
          pct(s.candidate_success_rate),
          ms(s.primary_latency_ms_mean),
          ms(s.candidate_latency_ms_mean),
          num(s.rouge_l_mean),
          num(s.chrf_mean),
          s.tool_call_comparisons
            ? `${pct(s.tool_names_match_rate)} / ${pct(s.tool_args_match_rate)} (${s.tool_call_comparisons})`
            : "–",
          `${s.judge.primary} / ${s.judge.candidate} / ${s.judge.tie}`,
        ]),
      },
    });
  }
  return sections;
}

const mdCell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");

export function reportMarkdown(r: RenderableReport): string {
  const out: string[] = [];
  for (const [i, s] of reportSections(r).entries()) {
    out.push(`${i === 0 ? "#" : "##"} ${s.title}`, "");
    for (const t of s.text) out.push(t, "");
    if (s.table) {
      out.push(`| ${s.table.head.map(mdCell).join(" | ")} |`);
      out.push(`| ${s.table.head.map(() => "---").join(" | ")} |`);
      for (const row of s.table.rows) out.push(`| ${row.map(mdCell).join(" | ")} |`);
      out.push("");
    }
  }
  return `${out.join("\n").trimEnd()}\n`;
}

const esc = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
/** Inline `code` in the text, the one Markdown mark the sections use. */
const htmlText = (s: string) => esc(s).replace(/`([^`]*)`/g, "<code>$1</code>");

export function reportHtml(r: RenderableReport): string {
  const body: string[] = [];
  for (const [i, s] of reportSections(r).entries()) {
    body.push(i === 0 ? `<h1>${htmlText(s.title)}</h1>` : `<h2>${htmlText(s.title)}</h2>`);
    for (const t of s.text) body.push(`<p>${htmlText(t)}</p>`);
    if (s.table) {
      body.push(
        "<table>",
        `<thead><tr>${s.table.head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>`,
        "<tbody>",
      );
      for (const row of s.table.rows) body.push(`<tr>${row.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`);
      body.push("</tbody>", "</table>");
    }
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`Experiment ${r.experiment}`)}</title>
<style>
body { font: 14px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; display: block; overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; white-space: nowrap; }
th { background: #f4f4f4; }
code { background: #f4f4f4; padding: 0 0.2rem; }
</style>
</head>
<body>
${body.join("\n")}
</body>
</html>
`;
}

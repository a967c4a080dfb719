/**
 * The export options as users give them (CLI flags, query parameters), turned
 * into what the exporter takes, with a message naming the option when one is
 * wrong. One parser for both, so the two cannot drift apart.
 */
import {
  checkFeedbackFilter,
  DPO_SOURCES,
  type DpoSource,
  parseSplitRatios,
  type SplitRatios,
  type TurnFilter,
} from "./dataset.js";

export interface RawExportOptions {
  from?: string | undefined;
  to?: string | undefined;
  route?: string[] | undefined;
  variant?: string[] | undefined;
  model?: string[] | undefined;
  prompt?: string[] | undefined;
  adapter?: string[] | undefined;
  feedback?: string[] | undefined;
  minStars?: string | undefined;
  tag?: string[] | undefined;
  language?: string[] | undefined;
  split?: string | undefined;
  seed?: string | undefined;
  system?: string | undefined;
  sources?: string[] | undefined;
  promptFormat?: string | undefined;
}

export interface ParsedExportOptions {
  filter: TurnFilter;
  ratios: SplitRatios;
  seed: string;
  system: string | undefined;
  sources: DpoSource[];
  promptFormat: "messages" | "strings";
}

export class ExportOptionError extends Error {
  constructor(
    readonly option: string,
    problem: string,
  ) {
    super(problem);
  }
}

/** A date as YYYY-MM-DD (midnight UTC), an ISO date-time, or milliseconds since the epoch. */
export function parseTime(text: string, option: string): number {
  const t = /^\d+$/.test(text) ? Number(text) : /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(t)) {
    throw new ExportOptionError(option, `expected a date (2026-11-01), a date-time or milliseconds, got '${text}'`);
  }
  return t;
}

const list = (v: string[] | undefined) => {
  const out = (v ?? [])
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return out.length > 0 ? out : undefined;
};

export function parseExportOptions(kind: "sft" | "dpo", raw: RawExportOptions): ParsedExportOptions {
  const filter: TurnFilter = {
    from: raw.from === undefined ? undefined : parseTime(raw.from, "from"),
    to: raw.to === undefined ? undefined : parseTime(raw.to, "to"),
    routes: list(raw.route),
    variants: list(raw.variant),
    models: list(raw.model),
    prompts: list(raw.prompt),
    adapters: list(raw.adapter),
    feedback: list(raw.feedback),
    tags: list(raw.tag),
    languages: list(raw.language),
  };
  if (filter.from !== undefined && filter.to !== undefined && filter.from >= filter.to) {
    throw new ExportOptionError("to", "must be later than from");
  }
  for (const f of filter.feedback ?? []) {
    const problem = checkFeedbackFilter(f);
    if (problem) throw new ExportOptionError("feedback", problem);
  }
  if (raw.minStars !== undefined) {
    const n = Number(raw.minStars);
    if (!(n >= 1 && n <= 5))
      throw new ExportOptionError("min-stars", `expected a number from 1 to 5, got '${raw.minStars}'`);
    filter.minStars = n;
  }
  if (kind === "dpo") {
    // A pair's sources are feedback already; filtering pairs by feedback has no clear meaning.
    for (const [name, set] of [
      ["feedback", filter.feedback],
      ["tag", filter.tags],
      ["min-stars", filter.minStars],
    ] as const) {
      if (set !== undefined)
        throw new ExportOptionError(name, "applies to SFT exports only (DPO pairs come from feedback)");
    }
  }
  let ratios: SplitRatios;
  try {
    ratios = parseSplitRatios(raw.split ?? "80/10/10");
  } catch (e) {
    throw new ExportOptionError("split", (e as Error).message);
  }
  const sources = list(raw.sources) ?? [...DPO_SOURCES];
  for (const s of sources) {
    if (!(DPO_SOURCES as readonly string[]).includes(s)) {
      throw new ExportOptionError("sources", `unknown source '${s}' (expected ${DPO_SOURCES.join(", ")})`);
    }
  }
  const promptFormat = raw.promptFormat ?? "messages";
  if (promptFormat !== "messages" && promptFormat !== "strings") {
    throw new ExportOptionError("prompt-format", `expected messages or strings, got '${promptFormat}'`);
  }
  return {
    filter,
    ratios,
    seed: raw.seed ?? "switchyard",
    system: raw.system,
    sources: sources as DpoSource[],
    promptFormat,
  };
}

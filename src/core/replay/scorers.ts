/**
 * The deterministic scorers of an offline evaluation. Each gives 1 (pass) or
 * 0 (fail), or a similarity from 0 to 1, or null when it does not apply to the
 * item (no reference for `exact`, no schema for `schema`...). A failed call
 * scores 0 on every scorer that applies: the user would have got nothing.
 *
 *   exact     the answer equals the reference (surrounding whitespace ignored)
 *   contains  the answer contains every `contains` text, else the reference (case-insensitive)
 *   regex     the answer matches the item's `regex`, else the run's
 *   json      the answer is valid JSON (or a single ```json fenced block is)
 *   schema    that JSON satisfies the item's JSON Schema, else the run's (Ajv, draft-07 / 2019 keywords)
 *   chrf      chrF (n = 6, β = 2) against the reference: the shadow comparisons' metric
 *   rouge_l   ROUGE-L F1 over words against the reference, likewise
 * The judge (a model grading with a rubric) is core/replay/judge-grade.ts.
 */
import { Ajv, type ValidateFunction } from "ajv";
import { chrF, rougeL } from "../similarity.js";
import type { ReplayItem } from "./dataset.js";

export const DETERMINISTIC_SCORERS = ["exact", "contains", "regex", "json", "schema", "chrf", "rouge_l"] as const;
export const SCORERS = [...DETERMINISTIC_SCORERS, "judge"] as const;
export type ScorerName = (typeof SCORERS)[number];
/** Scorers whose scores are 0 or 1 (compared with McNemar's test); the rest are similarities (paired bootstrap). */
export const BINARY_SCORERS: ReadonlySet<string> = new Set(["exact", "contains", "regex", "json", "schema", "judge"]);

export type Scores = Partial<Record<ScorerName, number | null>>;

/** Settings that apply to every item of a run (an item's own fields win). */
export interface ScorerOptions {
  scorers: ScorerName[];
  regex?: string | undefined;
  schema?: Record<string, unknown> | boolean | undefined;
}

const ajv = new Ajv({ strict: false, allErrors: false });
const compiled = new Map<string, ValidateFunction | string>();

/** A compiled JSON Schema, or why it does not compile. */
export function compileSchema(schema: Record<string, unknown> | boolean): ValidateFunction | string {
  const key = JSON.stringify(schema);
  let v = compiled.get(key);
  if (v === undefined) {
    try {
      v = ajv.compile(schema);
    } catch (e) {
      v = `not a valid JSON Schema: ${(e as Error).message}`;
    }
    if (compiled.size > 1000) compiled.clear();
    compiled.set(key, v);
  }
  return v;
}

const FENCED = /^```(?:json)?\s*\n([\s\S]*?)\n```$/;

/** The answer's JSON value, or undefined when it holds none. */
export function answerJson(text: string): { value: unknown } | undefined {
  const t = text.trim();
  const body = FENCED.exec(t)?.[1] ?? t;
  try {
    return { value: JSON.parse(body) };
  } catch {
    return undefined;
  }
}

const bit = (b: boolean) => (b ? 1 : 0);

/** The scores of one answer (`output` null: the call failed). */
export function scoreAnswer(item: ReplayItem, output: string | null, opts: ScorerOptions): Scores {
  const out: Scores = {};
  const ref = item.reference;
  const regex = item.regex ?? opts.regex;
  const schema = item.schema ?? opts.schema;
  for (const s of opts.scorers) {
    switch (s) {
      case "exact":
        out.exact = ref === undefined ? null : output === null ? 0 : bit(output.trim() === ref.trim());
        break;
      case "contains": {
        const needles = item.contains ?? (ref === undefined ? undefined : [ref]);
        out.contains =
          needles === undefined
            ? null
            : output === null
              ? 0
              : bit(needles.every((n) => output.toLowerCase().includes(n.toLowerCase())));
        break;
      }
      case "regex":
        out.regex = regex === undefined ? null : output === null ? 0 : bit(new RegExp(regex).test(output));
        break;
      case "json":
        out.json = output === null ? 0 : bit(answerJson(output) !== undefined);
        break;
      case "schema": {
        if (schema === undefined) {
          out.schema = null;
          break;
        }
        const validate = compileSchema(schema);
        const parsed = output === null ? undefined : answerJson(output);
        out.schema =
          typeof validate === "string" ? null : parsed === undefined ? 0 : bit(validate(parsed.value) === true);
        break;
      }
      case "chrf":
        out.chrf = ref === undefined ? null : output === null ? 0 : chrF(ref, output);
        break;
      case "rouge_l":
        out.rouge_l = ref === undefined ? null : output === null ? 0 : rougeL(ref, output).f;
        break;
      case "judge":
        // Scored by the runner, which calls the judge model.
        break;
    }
  }
  return out;
}

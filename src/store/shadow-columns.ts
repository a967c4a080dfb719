/**
 * The column order shadow comparisons are queued and inserted in. Apart from
 * the queries (shadow-results.ts) because the SQLite log writer's thread
 * imports it, and that thread should not load Kysely for a list of names.
 */
import type { Insertable } from "kysely";
import type { ShadowResultTable } from "./schema.js";

export type ShadowRow = Insertable<ShadowResultTable>;

export const SHADOW_COLUMNS = [
  "id",
  "request_id",
  "experiment",
  "tenant",
  "created_at",
  "primary_variant",
  "candidate_variant",
  "candidate_backend",
  "candidate_model",
  "primary_status",
  "candidate_status",
  "primary_error",
  "candidate_error",
  "candidate_error_message",
  "primary_latency_ms",
  "candidate_latency_ms",
  "queued_ms",
  "primary_output",
  "candidate_output",
  "primary_length",
  "candidate_length",
  "candidate_input_tokens",
  "candidate_output_tokens",
  "candidate_cost_usd",
  "rouge_l",
  "chrf",
  "primary_tool_calls",
  "candidate_tool_calls",
  "tool_names_match",
  "tool_args_match",
  "judge_status",
  "judge_model",
  "judge_winner",
  "judge_reason",
  "judge_raw",
] as const satisfies readonly (keyof ShadowResultTable)[];

export type ShadowColumn = (typeof SHADOW_COLUMNS)[number];

export const shadowIndex = (c: ShadowColumn): number => SHADOW_COLUMNS.indexOf(c);

export function shadowValues(row: ShadowRow): unknown[] {
  return SHADOW_COLUMNS.map((c) => row[c] ?? null);
}

/** The request_log columns in insert order, shared by every log sink. */
import type { RequestLogTable } from "./schema.js";

export const REQUEST_LOG_COLUMNS = [
  "id",
  "created_at",
  "tenant",
  "key_id",
  "user_id",
  "session_id",
  "route",
  "experiment",
  "variant",
  "backend",
  "upstream_model",
  "prompt_version",
  "stream",
  "status",
  "error_code",
  "error_message",
  "finish_reason",
  "input_tokens",
  "output_tokens",
  "tokens_estimated",
  "cost_usd",
  "latency_ms",
  "ttft_ms",
  "served_by",
  "fallback_used",
  "attempts",
  "failures",
  "cache_hit",
  "unit_kind",
  "assigned_by",
  "endpoint",
  "adapter",
] as const satisfies readonly (keyof RequestLogTable)[];

/** Values for the NOT NULL columns a row may leave out. */
export const REQUEST_LOG_DEFAULTS: Partial<Record<(typeof REQUEST_LOG_COLUMNS)[number], number | string>> = {
  tokens_estimated: 0,
  fallback_used: 0,
  attempts: 0,
  cache_hit: 0,
  endpoint: "chat",
};

/** A row's values in column order, defaults filled in. */
export function toColumnValues(row: Partial<Record<(typeof REQUEST_LOG_COLUMNS)[number], unknown>>): unknown[] {
  const out = new Array<unknown>(REQUEST_LOG_COLUMNS.length);
  for (let i = 0; i < REQUEST_LOG_COLUMNS.length; i++) {
    const c = REQUEST_LOG_COLUMNS[i] as (typeof REQUEST_LOG_COLUMNS)[number];
    out[i] = row[c] ?? REQUEST_LOG_DEFAULTS[c] ?? null;
  }
  return out;
}

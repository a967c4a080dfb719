/**
 * A prompt's execution history: per version, what the request log and the
 * feedback say about the calls it served (calls, success, latency, tokens,
 * cost, thumbs-up rate). Read from those tables, never from a copy.
 */
import { sql } from "kysely";
import type { Db } from "./db.js";

export interface VersionHistory {
  prompt_version: string;
  version: number;
  calls: number;
  successes: number;
  success_rate: number | null;
  /** Over successful calls. */
  mean_latency_ms: number | null;
  mean_ttft_ms: number | null;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  thumbs: number;
  thumbs_up: number;
  thumbs_up_rate: number | null;
  first_at: number | null;
  last_at: number | null;
}

const SUCCESS = sql<number>`case when request_log.status = 200 and request_log.error_code is null then 1 else 0 end`;

export async function promptExecutionHistory(
  db: Db,
  prompt: string,
  tenant: string,
  window: { from?: number; to?: number } = {},
): Promise<VersionHistory[]> {
  const prefix = `${prompt}@`;
  // LIKE's _ would match any character in a name: the exact prefix is checked below.
  const pattern = `${prefix}%`;
  let calls = db
    .selectFrom("request_log")
    .select([
      "prompt_version",
      sql<number>`count(*)`.as("calls"),
      sql<number>`sum(${SUCCESS})`.as("successes"),
      sql<
        number | null
      >`sum(case when request_log.status = 200 and request_log.error_code is null then request_log.latency_ms else 0 end)`.as(
        "latency_sum",
      ),
      sql<number>`sum(case when request_log.ttft_ms is not null then 1 else 0 end)`.as("ttft_n"),
      sql<number | null>`sum(request_log.ttft_ms)`.as("ttft_sum"),
      sql<number | null>`sum(request_log.input_tokens)`.as("input_tokens"),
      sql<number | null>`sum(request_log.output_tokens)`.as("output_tokens"),
      sql<number | null>`sum(request_log.cost_usd)`.as("cost_usd"),
      sql<number>`min(request_log.created_at)`.as("first_at"),
      sql<number>`max(request_log.created_at)`.as("last_at"),
    ])
    .where("tenant", "=", tenant)
    .where("prompt_version", "like", pattern);
  if (window.from !== undefined) calls = calls.where("created_at", ">=", window.from);
  if (window.to !== undefined) calls = calls.where("created_at", "<", window.to);
  const rows = await calls.groupBy("prompt_version").execute();

  let thumbsQ = db
    .selectFrom("feedback")
    .innerJoin("request_log", "request_log.id", "feedback.request_id")
    .select([
      "request_log.prompt_version",
      sql<number>`count(*)`.as("thumbs"),
      sql<number>`sum(case when feedback.value = '"up"' then 1 else 0 end)`.as("thumbs_up"),
    ])
    .where("feedback.kind", "=", "thumbs")
    .where("feedback.tenant", "=", tenant)
    .where("request_log.tenant", "=", tenant)
    .where("request_log.prompt_version", "like", pattern);
  if (window.from !== undefined) thumbsQ = thumbsQ.where("request_log.created_at", ">=", window.from);
  if (window.to !== undefined) thumbsQ = thumbsQ.where("request_log.created_at", "<", window.to);
  const thumbs = new Map(
    (await thumbsQ.groupBy("request_log.prompt_version").execute()).map((r) => [
      r.prompt_version,
      { n: Number(r.thumbs), up: Number(r.thumbs_up) },
    ]),
  );

  const out: VersionHistory[] = [];
  for (const r of rows) {
    const key = r.prompt_version;
    if (!key?.startsWith(prefix) || !/^\d+$/.test(key.slice(prefix.length))) continue;
    const n = Number(r.calls);
    const ok = Number(r.successes);
    const ttftN = Number(r.ttft_n);
    const t = thumbs.get(key) ?? { n: 0, up: 0 };
    out.push({
      prompt_version: key,
      version: Number(key.slice(prefix.length)),
      calls: n,
      successes: ok,
      success_rate: n > 0 ? ok / n : null,
      mean_latency_ms: ok > 0 ? Number(r.latency_sum) / ok : null,
      mean_ttft_ms: ttftN > 0 ? Number(r.ttft_sum) / ttftN : null,
      input_tokens: Number(r.input_tokens ?? 0),
      output_tokens: Number(r.output_tokens ?? 0),
      cost_usd: Number(r.cost_usd ?? 0),
      thumbs: t.n,
      thumbs_up: t.up,
      thumbs_up_rate: t.n > 0 ? t.up / t.n : null,
      first_at: r.first_at === null ? null : Number(r.first_at),
      last_at: r.last_at === null ? null : Number(r.last_at),
    });
  }
  return out.sort((a, b) => a.version - b.version);
}

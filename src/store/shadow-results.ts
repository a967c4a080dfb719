/**
 * Shadow comparisons in the store: the admin API's queries (a summary per
 * candidate, aggregated in SQL, and the latest comparisons).
 */
import { type Selectable, sql } from "kysely";
import type { Db } from "./db.js";
import type { ShadowResultTable } from "./schema.js";

export interface ShadowSummary {
  candidate: string;
  comparisons: number;
  primary_success_rate: number | null;
  candidate_success_rate: number | null;
  primary_latency_ms_mean: number | null;
  candidate_latency_ms_mean: number | null;
  candidate_timeouts: number;
  primary_length_mean: number | null;
  candidate_length_mean: number | null;
  rouge_l_mean: number | null;
  chrf_mean: number | null;
  /** Comparisons where either answer called a tool, and the share of those that agreed on names, and on arguments too. */
  tool_call_comparisons: number;
  tool_names_match_rate: number | null;
  tool_args_match_rate: number | null;
  judged: number;
  judge: { primary: number; candidate: number; tie: number; unparsed: number; failed: number };
}

const rate = (n: number, d: number) => (d > 0 ? n / d : null);

/** Per candidate variant, computed by the database. */
export async function shadowSummary(db: Db, experiment: string, tenant: string): Promise<ShadowSummary[]> {
  const rows = await db
    .selectFrom("shadow_results")
    .select((eb) => [
      "candidate_variant",
      eb.fn.countAll<number>().as("n"),
      sql<number>`sum(case when primary_status = 200 then 1 else 0 end)`.as("primary_ok"),
      sql<number>`sum(case when candidate_status = 200 then 1 else 0 end)`.as("candidate_ok"),
      sql<number>`sum(case when candidate_error in ('SY_ERR_UPSTREAM_TIMEOUT', 'SY_ERR_SHADOW_TIMEOUT') then 1 else 0 end)`.as(
        "timeouts",
      ),
      eb.fn.avg<number>("primary_latency_ms").as("primary_latency"),
      eb.fn.avg<number>("candidate_latency_ms").as("candidate_latency"),
      eb.fn.avg<number>("primary_length").as("primary_length"),
      eb.fn.avg<number>("candidate_length").as("candidate_length"),
      eb.fn.avg<number>("rouge_l").as("rouge_l"),
      eb.fn.avg<number>("chrf").as("chrf"),
      eb.fn.count<number>("tool_names_match").as("tool_compared"),
      eb.fn.avg<number>("tool_names_match").as("tool_names"),
      eb.fn.avg<number>("tool_args_match").as("tool_args"),
      sql<number>`sum(case when judge_status is not null and judge_status <> 'shed' then 1 else 0 end)`.as("judged"),
      sql<number>`sum(case when judge_winner = 'primary' then 1 else 0 end)`.as("j_primary"),
      sql<number>`sum(case when judge_winner = 'candidate' then 1 else 0 end)`.as("j_candidate"),
      sql<number>`sum(case when judge_winner = 'tie' then 1 else 0 end)`.as("j_tie"),
      sql<number>`sum(case when judge_status = 'unparsed' then 1 else 0 end)`.as("j_unparsed"),
      sql<number>`sum(case when judge_status = 'error' then 1 else 0 end)`.as("j_failed"),
    ])
    .where("experiment", "=", experiment)
    .where("tenant", "=", tenant)
    .groupBy("candidate_variant")
    .orderBy("candidate_variant")
    .execute();
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return rows.map((r) => {
    const n = Number(r.n);
    return {
      candidate: r.candidate_variant,
      comparisons: n,
      primary_success_rate: rate(Number(r.primary_ok), n),
      candidate_success_rate: rate(Number(r.candidate_ok), n),
      primary_latency_ms_mean: num(r.primary_latency),
      candidate_latency_ms_mean: num(r.candidate_latency),
      candidate_timeouts: Number(r.timeouts),
      primary_length_mean: num(r.primary_length),
      candidate_length_mean: num(r.candidate_length),
      rouge_l_mean: num(r.rouge_l),
      chrf_mean: num(r.chrf),
      tool_call_comparisons: Number(r.tool_compared),
      tool_names_match_rate: num(r.tool_names),
      tool_args_match_rate: num(r.tool_args),
      judged: Number(r.judged),
      judge: {
        primary: Number(r.j_primary),
        candidate: Number(r.j_candidate),
        tie: Number(r.j_tie),
        unparsed: Number(r.j_unparsed),
        failed: Number(r.j_failed),
      },
    };
  });
}

export async function latestShadowResults(
  db: Db,
  experiment: string,
  tenant: string,
  limit: number,
): Promise<Selectable<ShadowResultTable>[]> {
  return db
    .selectFrom("shadow_results")
    .selectAll()
    .where("experiment", "=", experiment)
    .where("tenant", "=", tenant)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
}

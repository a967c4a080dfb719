/**
 * The experiment report's numbers, aggregated by the database: per variant
 * sums and counts, exact nearest-rank percentiles by window functions (one
 * sort per metric, all variants at once), feedback, preference picks between
 * the experiment's variants, and first exposures for the sample-ratio check.
 * Nothing here loads rows one by one into JavaScript.
 *
 * The analysed population: the tenant's requests of the experiment assigned by
 * hash (pins, overrides, pauses and the like are not randomised), between
 * `from` and `to`, client cancellations (499) left out.
 */
import { type Kysely, sql } from "kysely";
import type { FeedbackSums, Percentiles, PreferenceCount, VariantSums } from "../core/report.js";
import type { Db } from "./db.js";
import type { Database } from "./schema.js";

export interface ReportScope {
  experiment: string;
  route: string;
  tenant: string;
  from: number;
  to: number;
}

const PERCENTS = [50, 95, 99] as const;

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

function analysed(db: Db | Kysely<Database>, s: ReportScope) {
  return db
    .selectFrom("request_log")
    .where("experiment", "=", s.experiment)
    .where("tenant", "=", s.tenant)
    .where("assigned_by", "=", "hash")
    .where("created_at", ">=", s.from)
    .where("created_at", "<", s.to)
    .where("status", "<>", 499);
}

/** A success: status 200, no error, answered by the variant itself (not a route fallback). */
const SUCCESS = sql<number>`case when status = 200 and error_code is null and fallback_used = 0 then 1 else 0 end`;

export async function variantSums(db: Db, s: ReportScope): Promise<VariantSums[]> {
  const rows = await analysed(db, s)
    .select([
      "variant",
      sql<number>`count(*)`.as("n"),
      sql<number>`sum(${SUCCESS})`.as("ok"),
      // Latency of the successful answers only: a fast error is no fast answer.
      sql<number>`sum(case when ${SUCCESS} = 1 then latency_ms else 0 end)`.as("lat"),
      sql<number>`sum(case when ${SUCCESS} = 1 then latency_ms * latency_ms else 0 end)`.as("lat2"),
      sql<number>`count(ttft_ms)`.as("ttft_n"),
      sql<number>`sum(ttft_ms)`.as("ttft"),
      sql<number>`sum(input_tokens)`.as("tin"),
      sql<number>`sum(output_tokens)`.as("tout"),
      sql<number>`count(output_tokens)`.as("tok_n"),
      sql<number>`sum(cost_usd)`.as("cost"),
      sql<number>`sum(cost_usd * cost_usd)`.as("cost2"),
      sql<number>`count(cost_usd)`.as("cost_n"),
    ])
    .groupBy("variant")
    .execute();
  return rows
    .filter((r) => r.variant !== null)
    .map((r) => ({
      variant: r.variant as string,
      requests: num(r.n),
      successes: num(r.ok),
      latencySum: num(r.lat),
      latencySumSquares: num(r.lat2),
      ttftCount: num(r.ttft_n),
      ttftSum: num(r.ttft),
      inputTokens: num(r.tin),
      outputTokens: num(r.tout),
      tokenRequests: num(r.tok_n),
      costSum: num(r.cost),
      costSumSquares: num(r.cost2),
      costRequests: num(r.cost_n),
    }));
}

/**
 * Nearest-rank p50/p95/p99 of a column per variant, among successful answers
 * (latency) or answers with a value (TTFT): the value at rank ceil(q·n).
 */
export async function percentiles(
  db: Db,
  s: ReportScope,
  column: "latency_ms" | "ttft_ms",
): Promise<Map<string, Percentiles>> {
  const ranked = analysed(db, s)
    .where(column, "is not", null)
    .where(SUCCESS, "=", 1)
    .select([
      "variant",
      sql<number>`${sql.ref(column)}`.as("v"),
      sql<number>`row_number() over (partition by variant order by ${sql.ref(column)})`.as("rank"),
      sql<number>`count(*) over (partition by variant)`.as("n"),
    ]);
  const rows = await db
    .selectFrom(ranked.as("r"))
    .select(["r.variant", "r.v", "r.rank", "r.n"])
    // rank = ceil(q·n), in integers (portable): rank·100 ≥ Q·n > (rank − 1)·100 for Q = 100·q.
    .where((eb) =>
      eb.or(
        PERCENTS.map(
          (q) => sql<boolean>`r.rank * 100 >= ${sql.lit(q)} * r.n and (r.rank - 1) * 100 < ${sql.lit(q)} * r.n`,
        ),
      ),
    )
    .execute();
  const out = new Map<string, Percentiles>();
  for (const r of rows) {
    if (r.variant === null) continue;
    const p = out.get(r.variant) ?? { p50: null, p95: null, p99: null };
    const n = num(r.n);
    const rank = num(r.rank);
    for (const q of PERCENTS) {
      if (rank * 100 >= q * n && (rank - 1) * 100 < q * n) p[`p${q}`] = num(r.v);
    }
    out.set(r.variant, p);
  }
  return out;
}

export async function feedbackSums(db: Db, s: ReportScope): Promise<FeedbackSums[]> {
  const rows = await db
    .selectFrom("feedback as f")
    .innerJoin("request_log as l", "l.id", "f.request_id")
    .where("l.experiment", "=", s.experiment)
    .where("l.tenant", "=", s.tenant)
    .where("l.assigned_by", "=", "hash")
    .where("l.created_at", ">=", s.from)
    .where("l.created_at", "<", s.to)
    .where("f.kind", "in", ["thumbs", "stars"])
    .select([
      "l.variant",
      sql<number>`sum(case when f.kind = 'thumbs' and f.value = '"up"' then 1 else 0 end)`.as("ups"),
      sql<number>`sum(case when f.kind = 'thumbs' then 1 else 0 end)`.as("thumbs"),
      sql<number>`sum(case when f.kind = 'stars' then 1 else 0 end)`.as("sn"),
      sql<number>`sum(case when f.kind = 'stars' then cast(f.value as double precision) else 0 end)`.as("ss"),
      sql<number>`sum(case when f.kind = 'stars' then cast(f.value as double precision) * cast(f.value as double precision) else 0 end)`.as(
        "ss2",
      ),
    ])
    .groupBy("l.variant")
    .execute();
  return rows
    .filter((r) => r.variant !== null)
    .map((r) => ({
      variant: r.variant as string,
      thumbsUp: num(r.ups),
      thumbs: num(r.thumbs),
      starsN: num(r.sn),
      starsSum: num(r.ss),
      starsSumSquares: num(r.ss2),
    }));
}

/**
 * Preference picks between two of the route's variants in the window, from
 * any source (arena votes included): counted by (variant of the rated
 * request, variant of the other, pick). "Both bad" is left out.
 */
export async function preferencePicks(db: Db, s: ReportScope): Promise<PreferenceCount[]> {
  const rows = await db
    .selectFrom("feedback as f")
    .innerJoin("request_log as a", "a.id", "f.request_id")
    .innerJoin("request_log as b", "b.id", "f.other_request_id")
    .where("f.kind", "=", "preference")
    .where("f.tenant", "=", s.tenant)
    .where("a.route", "=", s.route)
    .where("b.route", "=", s.route)
    .where("a.created_at", ">=", s.from)
    .where("a.created_at", "<", s.to)
    .select(["a.variant as variant", "b.variant as other", PICK.as("pick"), sql<number>`count(*)`.as("n")])
    .groupBy(["a.variant", "b.variant", PICK])
    .execute();
  return rows
    .filter((r) => r.variant !== null && r.other !== null && r.variant !== r.other && r.pick !== "both_bad")
    .map((r) => ({
      variant: r.variant as string,
      other: r.other as string,
      pick: r.pick as PreferenceCount["pick"],
      n: num(r.n),
    }));
}

/** The pick inside a stored preference (JSON text written by JSON.stringify): LIKE works on both stores. */
const PICK = sql<string>`case when f.value like '%"pick":"this"%' then 'this' when f.value like '%"pick":"other"%' then 'other' when f.value like '%"pick":"tie"%' then 'tie' else 'both_bad' end`;

/** Units first exposed per variant since `since` (for the sample-ratio check). */
export async function exposuresSince(
  db: Db,
  experiment: string,
  since: number,
  to: number,
): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom("experiment_exposures")
    .select(["variant", sql<number>`count(*)`.as("n")])
    .where("experiment", "=", experiment)
    .where("first_at", ">=", since)
    .where("first_at", "<", to)
    .groupBy("variant")
    .execute();
  return new Map(rows.map((r) => [r.variant, num(r.n)]));
}

/** When the experiment's split last changed (its allocation), for the sample-ratio check's window. */
export async function lastSplitChange(db: Db, experiment: string): Promise<number | null> {
  const row = await db
    .selectFrom("experiment_events")
    .select(sql<number>`max(at)`.as("at"))
    .where("experiment", "=", experiment)
    .where("kind", "in", ["create", "weights", "weights+shadow", "promote", "bandit", "config"])
    .executeTakeFirst();
  return row?.at === null || row?.at === undefined ? null : Number(row.at);
}

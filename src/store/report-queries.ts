/**
 * The experiment report's numbers, aggregated by the database: per variant
 * sums and counts and latency sketches (core/sketch.ts), from the hourly
 * rollups for whole hours and from the request log for the hours at the
 * window's edges; feedback likewise; preference picks between the
 * experiment's variants; and first exposures for the sample-ratio check.
 * Nothing here loads rows one by one into JavaScript.
 *
 * The analysed population: the tenant's requests of the experiment assigned by
 * hash (pins, overrides, pauses and the like are not randomised), between
 * `from` and `to`, client cancellations (499) left out.
 */
import { type Kysely, sql } from "kysely";
import { emptySums, type FeedbackSums, type PreferenceCount, type VariantSums } from "../core/report.js";
import type { PromptVersionLine } from "../core/report-render.js";
import { mergeSketch, SKETCH_GAMMA, type Sketch } from "../core/sketch.js";
import type { Db } from "./db.js";
import type { Database } from "./schema.js";

export interface ReportScope {
  experiment: string;
  route: string;
  tenant: string;
  from: number;
  to: number;
}

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
      sql<number>`sum(ttft_ms * ttft_ms)`.as("ttft2"),
      sql<number>`sum(input_tokens)`.as("tin"),
      sql<number>`sum(output_tokens)`.as("tout"),
      sql<number>`sum(output_tokens * output_tokens)`.as("tout2"),
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
      ttftSumSquares: num(r.ttft2),
      inputTokens: num(r.tin),
      outputTokens: num(r.tout),
      outputTokensSumSquares: num(r.tout2),
      tokenRequests: num(r.tok_n),
      costSum: num(r.cost),
      costSumSquares: num(r.cost2),
      costRequests: num(r.cost_n),
    }));
}

/** Sketches (core/sketch.ts) of successful answers' latency or TTFT per variant, bucketed by the database. */
export async function sketches(db: Db, s: ReportScope, column: "latency_ms" | "ttft_ms"): Promise<Map<string, Sketch>> {
  const ref = sql.ref(column);
  const bucket = sql<string>`case when ${ref} > 0 then cast(cast(ceil(ln(${ref}) / ${sql.lit(Math.log(SKETCH_GAMMA))}) as integer) as text) else 'z' end`;
  const rows = await analysed(db, s)
    .where(column, "is not", null)
    .where(SUCCESS, "=", 1)
    .select(["variant", bucket.as("b"), sql<number>`count(*)`.as("n")])
    .groupBy(["variant", bucket])
    .execute();
  const out = new Map<string, Sketch>();
  for (const r of rows) {
    if (r.variant === null) continue;
    const sk = out.get(r.variant) ?? {};
    sk[String(r.b)] = (sk[String(r.b)] ?? 0) + num(r.n);
    out.set(r.variant, sk);
  }
  return out;
}

/** Request sums and sketches per variant from the hourly rollups of hours [fromHour, toHour). */
export async function rollupSums(
  db: Db,
  experiment: string,
  tenant: string,
  fromHour: number,
  toHour: number,
): Promise<{ sums: VariantSums[]; latency: Map<string, Sketch>; ttft: Map<string, Sketch> }> {
  const rows = await db
    .selectFrom("experiment_rollups")
    .selectAll()
    .where("experiment", "=", experiment)
    .where("tenant", "=", tenant)
    .where("hour", ">=", fromHour)
    .where("hour", "<", toHour)
    .execute();
  const sums = new Map<string, VariantSums>();
  const latency = new Map<string, Sketch>();
  const ttft = new Map<string, Sketch>();
  for (const r of rows) {
    const v = sums.get(r.variant) ?? emptySums(r.variant);
    v.requests += num(r.requests);
    v.successes += num(r.successes);
    v.latencySum += num(r.latency_sum);
    v.latencySumSquares += num(r.latency_sq);
    v.ttftCount += num(r.ttft_n);
    v.ttftSum += num(r.ttft_sum);
    v.ttftSumSquares += num(r.ttft_sq);
    v.inputTokens += num(r.input_tokens);
    v.outputTokens += num(r.output_tokens);
    v.outputTokensSumSquares += num(r.output_sq);
    v.tokenRequests += num(r.token_requests);
    v.costSum += num(r.cost_sum);
    v.costSumSquares += num(r.cost_sq);
    v.costRequests += num(r.cost_n);
    sums.set(r.variant, v);
    latency.set(r.variant, mergeSketch(latency.get(r.variant) ?? {}, JSON.parse(r.latency_sketch) as Sketch));
    ttft.set(r.variant, mergeSketch(ttft.get(r.variant) ?? {}, JSON.parse(r.ttft_sketch) as Sketch));
  }
  return { sums: [...sums.values()], latency, ttft };
}

/** Thumbs and stars per variant from the hourly feedback rollups of hours [fromHour, toHour). */
export async function feedbackRollupSums(
  db: Db,
  experiment: string,
  tenant: string,
  fromHour: number,
  toHour: number,
): Promise<FeedbackSums[]> {
  const rows = await db
    .selectFrom("experiment_feedback_rollups")
    .select([
      "variant",
      sql<number>`sum(thumbs_up)`.as("ups"),
      sql<number>`sum(thumbs)`.as("thumbs"),
      sql<number>`sum(stars_n)`.as("sn"),
      sql<number>`sum(stars_sum)`.as("ss"),
      sql<number>`sum(stars_sq)`.as("ss2"),
    ])
    .where("experiment", "=", experiment)
    .where("tenant", "=", tenant)
    .where("hour", ">=", fromHour)
    .where("hour", "<", toHour)
    .groupBy("variant")
    .execute();
  return rows.map((r) => ({
    variant: r.variant,
    thumbsUp: num(r.ups),
    thumbs: num(r.thumbs),
    starsN: num(r.sn),
    starsSum: num(r.ss),
    starsSumSquares: num(r.ss2),
  }));
}

export async function feedbackSums(db: Db, s: ReportScope): Promise<FeedbackSums[]> {
  // From the window's requests to their feedback (not the other way round): the window is
  // usually an edge hour, and the request log's index narrows it before any feedback is read.
  const rows = await db
    .selectFrom("request_log as l")
    .innerJoin("feedback as f", "f.request_id", "l.id")
    .where("l.experiment", "=", s.experiment)
    .where("l.tenant", "=", s.tenant)
    .where("l.assigned_by", "=", "hash")
    .where("l.created_at", ">=", s.from)
    .where("l.created_at", "<", s.to)
    .where("l.status", "<>", 499)
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
  tenant: string,
  since: number,
  to: number,
): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom("experiment_exposures")
    .select(["variant", sql<number>`count(*)`.as("n")])
    .where("experiment", "=", experiment)
    .where("tenant", "=", tenant)
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
    .where("kind", "in", ["create", "weights", "weights+shadow", "promote", "rollback", "bandit", "config"])
    .executeTakeFirst();
  return row?.at === null || row?.at === undefined ? null : Number(row.at);
}

/** Per variant and prompt version (`NAME@VERSION`, or null without a prompt): the analysed requests and their feedback. */
export type PromptVersionSums = PromptVersionLine;

/**
 * The analysed traffic split by prompt version within each variant, from the
 * log: a variant that follows a label serves every version the label pointed
 * at during the window, and this says how many requests each one got.
 */
export async function promptVersionSums(db: Db, s: ReportScope): Promise<PromptVersionSums[]> {
  const rows = await analysed(db, s)
    .select(["variant", "prompt_version", sql<number>`count(*)`.as("n"), sql<number>`sum(${SUCCESS})`.as("ok")])
    .where("prompt_version", "is not", null)
    .groupBy(["variant", "prompt_version"])
    .execute();
  if (rows.length === 0) return [];
  const fb = await db
    .selectFrom("feedback as f")
    .innerJoin("request_log as l", "l.id", "f.request_id")
    .where("l.experiment", "=", s.experiment)
    .where("l.tenant", "=", s.tenant)
    .where("f.tenant", "=", s.tenant)
    .where("l.assigned_by", "=", "hash")
    .where("l.created_at", ">=", s.from)
    .where("l.created_at", "<", s.to)
    .where("l.status", "<>", 499)
    .where("l.prompt_version", "is not", null)
    .where("f.kind", "=", "thumbs")
    .select([
      "l.variant",
      "l.prompt_version",
      sql<number>`count(*)`.as("n"),
      sql<number>`sum(case when f.value = '"up"' then 1 else 0 end)`.as("up"),
    ])
    .groupBy(["l.variant", "l.prompt_version"])
    .execute();
  const key = (v: string | null, p: string | null) => `${v}\u0000${p}`;
  const thumbs = new Map(fb.map((r) => [key(r.variant, r.prompt_version), { n: num(r.n), up: num(r.up) }]));
  return rows
    .map((r) => {
      const t = thumbs.get(key(r.variant, r.prompt_version)) ?? { n: 0, up: 0 };
      return {
        variant: r.variant ?? "",
        prompt_version: r.prompt_version,
        requests: num(r.n),
        successes: num(r.ok),
        thumbs: t.n,
        thumbs_up: t.up,
      };
    })
    .sort(
      (a, b) => a.variant.localeCompare(b.variant) || String(a.prompt_version).localeCompare(String(b.prompt_version)),
    );
}

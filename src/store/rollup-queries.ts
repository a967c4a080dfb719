/**
 * The rollups' queries through Kysely: a feedback write's share of its hour,
 * and a tenant's hourly route usage. Apart from rollups.ts, whose writer runs
 * on the SQLite log writer's thread, which should not load Kysely.
 */
import { sql } from "kysely";
import type { Sketch } from "../core/sketch.js";
import type { HourUsage } from "../core/usage.js";
import type { Db } from "./db.js";
import { hourOf } from "./rollups.js";

interface LoggedForRollup {
  status: number;
  experiment: string | null;
  tenant: string;
  variant: string | null;
  assigned_by: string | null;
  created_at: number;
}

/** What one thumbs or stars value adds to a feedback rollup (negated to take an old value out). */
function feedbackShare(kind: string, value: string, sign: 1 | -1) {
  const zero = { thumbs_up: 0, thumbs: 0, stars_n: 0, stars_sum: 0, stars_sq: 0 };
  if (kind === "thumbs") return { ...zero, thumbs: sign, thumbs_up: value === '"up"' ? sign : 0 };
  if (kind === "stars") {
    const stars = Number(value);
    if (!Number.isFinite(stars)) return zero;
    return { ...zero, stars_n: sign, stars_sum: sign * stars, stars_sq: sign * stars * stars };
  }
  return zero;
}

/**
 * Keeps the feedback rollup of the request's hour in line with a feedback
 * write: `before` is the value replaced (null for new feedback). Call inside
 * the feedback write's transaction.
 */
export async function rollUpFeedback(
  trx: Db,
  requestId: string,
  kind: string,
  before: string | null,
  after: string,
): Promise<void> {
  if (kind !== "thumbs" && kind !== "stars") return;
  const req = (await trx
    .selectFrom("request_log")
    .select(["status", "experiment", "tenant", "variant", "assigned_by", "created_at"])
    .where("id", "=", requestId)
    .executeTakeFirst()) as LoggedForRollup | undefined;
  // The same population as the request rollups: hash-assigned, client cancellations left out.
  if (!req?.experiment || !req.variant || req.assigned_by !== "hash" || Number(req.status) === 499) return;
  const add = feedbackShare(kind, after, 1);
  if (before !== null) {
    const minus = feedbackShare(kind, before, -1);
    for (const k of Object.keys(add) as (keyof typeof add)[]) add[k] += minus[k];
  }
  await trx
    .insertInto("experiment_feedback_rollups")
    .values({
      experiment: req.experiment,
      tenant: req.tenant,
      variant: req.variant,
      hour: hourOf(Number(req.created_at)),
      ...add,
    })
    .onConflict((oc) =>
      oc.columns(["experiment", "tenant", "variant", "hour"]).doUpdateSet({
        thumbs_up: sql`experiment_feedback_rollups.thumbs_up + excluded.thumbs_up`,
        thumbs: sql`experiment_feedback_rollups.thumbs + excluded.thumbs`,
        stars_n: sql`experiment_feedback_rollups.stars_n + excluded.stars_n`,
        stars_sum: sql`experiment_feedback_rollups.stars_sum + excluded.stars_sum`,
        stars_sq: sql`experiment_feedback_rollups.stars_sq + excluded.stars_sq`,
      }),
    )
    .execute();
}

/** The hourly usage rows of a tenant's routes in [from, to) (hours starting in it). */
export async function routeUsageHours(
  db: Db,
  tenant: string,
  from: number,
  to: number,
  route?: string,
): Promise<HourUsage[]> {
  let q = db
    .selectFrom("route_rollups")
    .selectAll()
    .where("tenant", "=", tenant)
    .where("hour", ">=", hourOf(from))
    .where("hour", "<", to);
  if (route !== undefined) q = q.where("route", "=", route);
  const rows = await q.execute();
  return rows.map((r) => ({
    route: r.route,
    hour: Number(r.hour),
    requests: Number(r.requests),
    errors: Number(r.errors),
    cancelled: Number(r.cancelled),
    costSum: Number(r.cost_sum),
    inputTokens: Number(r.input_tokens),
    outputTokens: Number(r.output_tokens),
    latencyN: Number(r.latency_n),
    latencySum: Number(r.latency_sum),
    latency: JSON.parse(r.latency_sketch) as Sketch,
  }));
}

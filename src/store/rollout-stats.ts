/**
 * What a rollout step's guardrails are evaluated on, aggregated by the
 * database: per arm, the step's hash-assigned requests (client cancellations
 * left out), their successes (status 200, no error, and answered by the
 * variant itself: an answer from a route fallback means the variant failed),
 * the nearest-rank p95 latency of the successful ones, and the thumbs and
 * stars given to them.
 */
import { sql } from "kysely";
import type { ArmStats, StepStats } from "../core/rollout.js";
import { nearestRankIndex } from "../core/stats.js";
import type { Db } from "./db.js";

/** 499: the client left; no fault of the variant's. */
const CLIENT_CLOSED = 499;

function inStep(db: Db, experiment: string, since: number, variant: string) {
  return db
    .selectFrom("request_log")
    .where("experiment", "=", experiment)
    .where("created_at", ">=", since)
    .where("variant", "=", variant)
    .where("assigned_by", "=", "hash")
    .where("status", "<>", CLIENT_CLOSED);
}

async function armStats(db: Db, experiment: string, since: number, variant: string): Promise<ArmStats> {
  const counts = await inStep(db, experiment, since, variant)
    .select((eb) => [
      eb.fn.countAll<number>().as("n"),
      sql<number>`coalesce(sum(case when status = 200 and error_code is null and fallback_used = 0 then 1 else 0 end), 0)`.as(
        "ok",
      ),
    ])
    .executeTakeFirstOrThrow();
  const successes = Number(counts.ok);
  let p95: number | null = null;
  if (successes > 0) {
    const row = await inStep(db, experiment, since, variant)
      .select("latency_ms")
      .where("status", "=", 200)
      .where("error_code", "is", null)
      .where("fallback_used", "=", 0)
      .orderBy("latency_ms")
      .limit(1)
      .offset(nearestRankIndex(successes, 0.95))
      .executeTakeFirst();
    p95 = row ? Number(row.latency_ms) : null;
  }
  const fb = await db
    .selectFrom("feedback as f")
    .innerJoin("request_log as l", "l.id", "f.request_id")
    .where("l.experiment", "=", experiment)
    .where("l.created_at", ">=", since)
    .where("l.variant", "=", variant)
    .where("l.assigned_by", "=", "hash")
    .where("l.status", "<>", CLIENT_CLOSED)
    .where("f.kind", "in", ["thumbs", "stars"])
    .select([
      sql<number>`coalesce(sum(case when f.kind = 'thumbs' and f.value = '"up"' then 1 else 0 end), 0)`.as("ups"),
      sql<number>`coalesce(sum(case when f.kind = 'thumbs' then 1 else 0 end), 0)`.as("thumbs"),
      sql<number>`coalesce(sum(case when f.kind = 'stars' then 1 else 0 end), 0)`.as("stars_n"),
      sql<number>`coalesce(sum(case when f.kind = 'stars' then cast(f.value as double precision) else 0 end), 0)`.as(
        "stars_sum",
      ),
      sql<number>`coalesce(sum(case when f.kind = 'stars' then cast(f.value as double precision) * cast(f.value as double precision) else 0 end), 0)`.as(
        "stars_sq",
      ),
    ])
    .executeTakeFirstOrThrow();
  return {
    requests: Number(counts.n),
    successes,
    p95LatencyMs: p95,
    thumbsUp: Number(fb.ups),
    thumbs: Number(fb.thumbs),
    stars: { n: Number(fb.stars_n), sum: Number(fb.stars_sum), sumSquares: Number(fb.stars_sq) },
  };
}

export async function stepStats(
  db: Db,
  experiment: string,
  since: number,
  control: string,
  candidate: string,
): Promise<StepStats> {
  return {
    candidate: await armStats(db, experiment, since, candidate),
    control: await armStats(db, experiment, since, control),
  };
}

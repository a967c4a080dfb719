/**
 * A bandit's rewards per variant, counted by the database over the
 * experiment's hash-assigned requests (client cancellations left out):
 * success — answered by the variant itself (no fallback) with status 200 and
 * no error; thumbs — thumbs-up among
 * the thumbs given on them.
 */
import { sql } from "kysely";
import type { ArmReward } from "../core/bandit.js";
import type { BanditConfig } from "../core/config/schema.js";
import type { Db } from "./db.js";

export async function banditRewards(
  db: Db,
  experiment: string,
  variants: string[],
  reward: BanditConfig["reward"],
): Promise<ArmReward[]> {
  const counts = new Map<string, { successes: number; failures: number }>();
  if (reward === "success") {
    const rows = await db
      .selectFrom("request_log")
      .select((eb) => [
        "variant",
        sql<number>`coalesce(sum(case when status = 200 and error_code is null and fallback_used = 0 then 1 else 0 end), 0)`.as(
          "ok",
        ),
        eb.fn.countAll<number>().as("n"),
      ])
      .where("experiment", "=", experiment)
      .where("assigned_by", "=", "hash")
      .where("status", "<>", 499)
      .groupBy("variant")
      .execute();
    for (const r of rows) {
      if (r.variant !== null) counts.set(r.variant, { successes: Number(r.ok), failures: Number(r.n) - Number(r.ok) });
    }
  } else {
    const rows = await db
      .selectFrom("feedback as f")
      .innerJoin("request_log as l", "l.id", "f.request_id")
      .select([
        "l.variant",
        sql<number>`coalesce(sum(case when f.value = '"up"' then 1 else 0 end), 0)`.as("ups"),
        sql<number>`count(*)`.as("n"),
      ])
      .where("l.experiment", "=", experiment)
      .where("l.assigned_by", "=", "hash")
      .where("f.kind", "=", "thumbs")
      .groupBy("l.variant")
      .execute();
    for (const r of rows) {
      if (r.variant !== null)
        counts.set(r.variant, { successes: Number(r.ups), failures: Number(r.n) - Number(r.ups) });
    }
  }
  return variants.map((variant) => ({ variant, ...(counts.get(variant) ?? { successes: 0, failures: 0 }) }));
}

/**
 * What a key or a tenant has spent since a time (a budget period's start, a
 * whole hour), read from the hourly rollups the log writer keeps: a few dozen
 * rows for a month, whatever the traffic. Rows still queued in a replica's
 * memory are not in it yet.
 */
import type { Db } from "./db.js";
import { hourOf } from "./rollups.js";

export async function keySpend(db: Db, keyId: string, from: number): Promise<number> {
  const row = await db
    .selectFrom("key_rollups")
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("cost_sum"), eb.lit(0)).as("usd"))
    .where("key_id", "=", keyId)
    .where("hour", ">=", hourOf(from))
    .executeTakeFirst();
  return Number(row?.usd ?? 0);
}

export async function tenantSpend(db: Db, tenant: string, from: number): Promise<number> {
  const row = await db
    .selectFrom("route_rollups")
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>("cost_sum"), eb.lit(0)).as("usd"))
    .where("tenant", "=", tenant)
    .where("hour", ">=", hourOf(from))
    .executeTakeFirst();
  return Number(row?.usd ?? 0);
}

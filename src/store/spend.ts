/**
 * What keys or tenants have spent since a time (a budget period's start, a
 * whole hour), read from the hourly rollups the log writer keeps: a few dozen
 * rows per key or tenant for a month, whatever the traffic. Rows still queued
 * in a replica's memory are not in it yet.
 */
import type { Db } from "./db.js";
import { hourOf } from "./rollups.js";

const CHUNK = 500;

/** Spend by key id, for the ids that spent anything. */
export async function keySpend(db: Db, keyIds: string[], from: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < keyIds.length; i += CHUNK) {
    const rows = await db
      .selectFrom("key_rollups")
      .select((eb) => ["key_id", eb.fn.sum<number>("cost_sum").as("usd")])
      .where("key_id", "in", keyIds.slice(i, i + CHUNK))
      .where("hour", ">=", hourOf(from))
      .groupBy("key_id")
      .execute();
    for (const r of rows) out.set(r.key_id, Number(r.usd ?? 0));
  }
  return out;
}

/** Spend by tenant, for the tenants that spent anything. */
export async function tenantSpend(db: Db, tenants: string[], from: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < tenants.length; i += CHUNK) {
    const rows = await db
      .selectFrom("route_rollups")
      .select((eb) => ["tenant", eb.fn.sum<number>("cost_sum").as("usd")])
      .where("tenant", "in", tenants.slice(i, i + CHUNK))
      .where("hour", ">=", hourOf(from))
      .groupBy("tenant")
      .execute();
    for (const r of rows) out.set(r.tenant, Number(r.usd ?? 0));
  }
  return out;
}

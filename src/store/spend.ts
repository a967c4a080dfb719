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
export const keySpend = (db: Db, keyIds: string[], from: number) => spendBy(db, "key_rollups", "key_id", keyIds, from);

/** Spend by tenant, for the tenants that spent anything. */
export const tenantSpend = (db: Db, tenants: string[], from: number) =>
  spendBy(db, "route_rollups", "tenant", tenants, from);

async function spendBy(
  db: Db,
  table: "key_rollups" | "route_rollups",
  column: "key_id" | "tenant",
  ids: string[],
  from: number,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows = (await (db as any)
      .selectFrom(table)
      .select((eb: any) => [column, eb.fn.sum("cost_sum").as("usd")])
      .where(column, "in", ids.slice(i, i + CHUNK))
      .where("hour", ">=", hourOf(from))
      .groupBy(column)
      .execute()) as Record<string, unknown>[];
    for (const r of rows) out.set(String(r[column]), Number(r.usd ?? 0));
  }
  return out;
}

// Frozen in time: never import application code here, never edit after release.
import type { Kysely } from "kysely";

/**
 * Limits and a spend budget of a key's own (null: the tenant's apply), and the
 * hourly spend of each key, which budgets are checked against.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("api_keys").addColumn("requests_per_minute", "integer").execute();
  await db.schema.alterTable("api_keys").addColumn("tokens_per_minute", "integer").execute();
  await db.schema.alterTable("api_keys").addColumn("budget_usd", "double precision").execute();
  // day, week or month (calendar periods in UTC); set with budget_usd.
  await db.schema.alterTable("api_keys").addColumn("budget_period", "varchar(16)").execute();

  await db.schema
    .createTable("key_rollups")
    .addColumn("key_id", "varchar(64)", (c) => c.notNull())
    .addColumn("tenant", "varchar(128)", (c) => c.notNull())
    .addColumn("hour", "bigint", (c) => c.notNull())
    .addColumn("requests", "integer", (c) => c.notNull())
    .addColumn("cost_sum", "double precision", (c) => c.notNull())
    .addColumn("tokens", "double precision", (c) => c.notNull())
    .addPrimaryKeyConstraint("key_rollups_pk", ["key_id", "hour"])
    .execute();
  // A tenant's spend is a range of its hours; route_rollups' key starts with the route.
  await db.schema.createIndex("route_rollups_tenant_hour").on("route_rollups").columns(["tenant", "hour"]).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("route_rollups_tenant_hour").execute();
  await db.schema.dropTable("key_rollups").execute();
  for (const column of ["budget_period", "budget_usd", "tokens_per_minute", "requests_per_minute"]) {
    await db.schema.alterTable("api_keys").dropColumn(column).execute();
  }
}

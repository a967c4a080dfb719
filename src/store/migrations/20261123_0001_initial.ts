// Frozen in time: never import application code here, never edit after release.
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("request_log")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("tenant", "varchar(128)", (c) => c.notNull())
    .addColumn("key_id", "varchar(64)")
    .addColumn("user_id", "varchar(256)")
    .addColumn("session_id", "varchar(256)")
    .addColumn("route", "varchar(256)", (c) => c.notNull())
    .addColumn("experiment", "varchar(256)")
    .addColumn("variant", "varchar(256)")
    .addColumn("backend", "varchar(256)")
    .addColumn("upstream_model", "varchar(256)")
    .addColumn("prompt_version", "varchar(256)")
    .addColumn("stream", "integer", (c) => c.notNull())
    .addColumn("status", "integer", (c) => c.notNull())
    .addColumn("error_code", "varchar(128)")
    .addColumn("error_message", "text")
    .addColumn("finish_reason", "varchar(64)")
    .addColumn("input_tokens", "integer")
    .addColumn("output_tokens", "integer")
    .addColumn("tokens_estimated", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("cost_usd", "double precision")
    .addColumn("latency_ms", "double precision", (c) => c.notNull())
    .addColumn("ttft_ms", "double precision")
    .addColumn("served_by", "integer")
    .addColumn("fallback_used", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("failures", "text")
    .addColumn("cache_hit", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex("request_log_created_at").on("request_log").column("created_at").execute();
  await db.schema.createIndex("request_log_route_created").on("request_log").columns(["route", "created_at"]).execute();
  await db.schema
    .createIndex("request_log_tenant_created")
    .on("request_log")
    .columns(["tenant", "created_at"])
    .execute();

  await db.schema
    .createTable("api_keys")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("tenant", "varchar(128)", (c) => c.notNull())
    .addColumn("role", "varchar(16)", (c) => c.notNull())
    .addColumn("name", "varchar(256)")
    .addColumn("key_hash", "varchar(64)", (c) => c.notNull().unique())
    .addColumn("key_prefix", "varchar(32)", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("revoked_at", "bigint")
    .execute();
  await db.schema.createIndex("api_keys_tenant").on("api_keys").column("tenant").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("api_keys").execute();
  await db.schema.dropTable("request_log").execute();
}

// Frozen in time: never import application code here, never edit after release.
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("experiments")
    .addColumn("name", "varchar(256)", (c) => c.primaryKey())
    .addColumn("route", "varchar(256)", (c) => c.notNull())
    .addColumn("hash_key", "varchar(256)", (c) => c.notNull())
    .addColumn("status", "varchar(16)", (c) => c.notNull())
    .addColumn("control", "varchar(256)", (c) => c.notNull())
    .addColumn("weights", "text", (c) => c.notNull())
    .addColumn("allocation", "text", (c) => c.notNull())
    .addColumn("winner", "varchar(256)")
    // JSON: the shadow settings, or null.
    .addColumn("shadow", "text")
    // JSON: the rollout's settings and state ({config, state}), or null.
    .addColumn("rollout", "text")
    // JSON: the bandit's settings and state ({config, state}), or null.
    .addColumn("bandit", "text")
    // JSON: {criteria, minRequests} for the report's GO / NO-GO verdict.
    .addColumn("verdict", "text")
    // 'config' when declared in the config file, 'api' when created through the admin API.
    .addColumn("source", "varchar(16)", (c) => c.notNull())
    // The config file's definition last applied, so an unchanged file does not undo API changes.
    .addColumn("config_hash", "varchar(64)")
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("experiment_pins")
    .addColumn("experiment", "varchar(256)", (c) => c.notNull())
    .addColumn("user_id", "varchar(256)", (c) => c.notNull())
    .addColumn("variant", "varchar(256)", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("experiment_pins_pk", ["experiment", "user_id"])
    .execute();

  await db.schema
    .createTable("experiment_exposures")
    .addColumn("experiment", "varchar(256)", (c) => c.notNull())
    .addColumn("tenant", "varchar(128)", (c) => c.notNull())
    .addColumn("unit_kind", "varchar(16)", (c) => c.notNull())
    .addColumn("unit_id", "varchar(256)", (c) => c.notNull())
    .addColumn("variant", "varchar(256)", (c) => c.notNull())
    .addColumn("request_id", "varchar(64)", (c) => c.notNull())
    .addColumn("first_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("experiment_exposures_pk", ["experiment", "tenant", "unit_kind", "unit_id"])
    .execute();
  // Covers the sample-ratio count: exposures per variant within a time range.
  await db.schema
    .createIndex("experiment_exposures_by_time")
    .on("experiment_exposures")
    .columns(["experiment", "tenant", "first_at", "variant"])
    .execute();

  await db.schema
    .createTable("experiment_events")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("experiment", "varchar(256)", (c) => c.notNull())
    .addColumn("at", "bigint", (c) => c.notNull())
    .addColumn("kind", "varchar(32)", (c) => c.notNull())
    // A key id, 'config', or the automatic rollout.
    .addColumn("actor", "varchar(64)", (c) => c.notNull())
    .addColumn("detail", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("experiment_events_by_experiment")
    .on("experiment_events")
    .columns(["experiment", "at"])
    .execute();

  await db.schema
    .createTable("shadow_results")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("request_id", "varchar(64)", (c) => c.notNull())
    .addColumn("experiment", "varchar(256)", (c) => c.notNull())
    .addColumn("tenant", "varchar(128)", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("primary_variant", "varchar(256)", (c) => c.notNull())
    .addColumn("candidate_variant", "varchar(256)", (c) => c.notNull())
    .addColumn("candidate_backend", "varchar(256)", (c) => c.notNull())
    .addColumn("candidate_model", "varchar(256)", (c) => c.notNull())
    .addColumn("primary_status", "integer", (c) => c.notNull())
    .addColumn("candidate_status", "integer", (c) => c.notNull())
    .addColumn("primary_error", "varchar(128)")
    .addColumn("candidate_error", "varchar(128)")
    .addColumn("candidate_error_message", "text")
    .addColumn("primary_latency_ms", "double precision", (c) => c.notNull())
    .addColumn("candidate_latency_ms", "double precision", (c) => c.notNull())
    .addColumn("queued_ms", "double precision", (c) => c.notNull())
    .addColumn("primary_output", "text")
    .addColumn("candidate_output", "text")
    .addColumn("primary_length", "integer")
    .addColumn("candidate_length", "integer")
    .addColumn("candidate_input_tokens", "integer")
    .addColumn("candidate_output_tokens", "integer")
    .addColumn("candidate_cost_usd", "double precision")
    .addColumn("rouge_l", "double precision")
    .addColumn("chrf", "double precision")
    // ok, unparsed, error or shed; null when no judge ran.
    .addColumn("judge_status", "varchar(16)")
    .addColumn("judge_model", "varchar(256)")
    .addColumn("judge_winner", "varchar(16)")
    .addColumn("judge_reason", "text")
    .addColumn("judge_raw", "text")
    .execute();
  await db.schema
    .createIndex("shadow_results_by_experiment")
    .on("shadow_results")
    .columns(["experiment", "created_at"])
    .execute();

  // Hourly sums of each experiment's hash-assigned requests (client cancellations left out),
  // written by the log writer with the rows, so reports read hours instead of requests.
  await db.schema
    .createTable("experiment_rollups")
    .addColumn("experiment", "varchar(256)", (c) => c.notNull())
    .addColumn("tenant", "varchar(128)", (c) => c.notNull())
    .addColumn("variant", "varchar(256)", (c) => c.notNull())
    .addColumn("hour", "bigint", (c) => c.notNull())
    .addColumn("requests", "integer", (c) => c.notNull())
    .addColumn("successes", "integer", (c) => c.notNull())
    .addColumn("latency_sum", "double precision", (c) => c.notNull())
    .addColumn("latency_sq", "double precision", (c) => c.notNull())
    .addColumn("ttft_n", "integer", (c) => c.notNull())
    .addColumn("ttft_sum", "double precision", (c) => c.notNull())
    .addColumn("ttft_sq", "double precision", (c) => c.notNull())
    .addColumn("input_tokens", "double precision", (c) => c.notNull())
    .addColumn("output_tokens", "double precision", (c) => c.notNull())
    .addColumn("output_sq", "double precision", (c) => c.notNull())
    .addColumn("token_requests", "integer", (c) => c.notNull())
    .addColumn("cost_sum", "double precision", (c) => c.notNull())
    .addColumn("cost_sq", "double precision", (c) => c.notNull())
    .addColumn("cost_n", "integer", (c) => c.notNull())
    // JSON sketches (core/sketch.ts) of successful answers' latency and of TTFT.
    .addColumn("latency_sketch", "text", (c) => c.notNull())
    .addColumn("ttft_sketch", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("experiment_rollups_pk", ["experiment", "tenant", "variant", "hour"])
    .execute();
  // Hourly usage of every route (all traffic, experiment or not), for the dashboard's charts.
  await db.schema
    .createTable("route_rollups")
    .addColumn("route", "varchar(256)", (c) => c.notNull())
    .addColumn("tenant", "varchar(128)", (c) => c.notNull())
    .addColumn("hour", "bigint", (c) => c.notNull())
    .addColumn("requests", "integer", (c) => c.notNull())
    .addColumn("errors", "integer", (c) => c.notNull())
    .addColumn("cancelled", "integer", (c) => c.notNull())
    .addColumn("cost_sum", "double precision", (c) => c.notNull())
    .addColumn("input_tokens", "double precision", (c) => c.notNull())
    .addColumn("output_tokens", "double precision", (c) => c.notNull())
    .addColumn("latency_n", "integer", (c) => c.notNull())
    .addColumn("latency_sum", "double precision", (c) => c.notNull())
    .addColumn("latency_sketch", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("route_rollups_pk", ["route", "tenant", "hour"])
    .execute();
  // Hourly sums of thumbs and stars on those requests (by the hour of the request), kept by each feedback write.
  await db.schema
    .createTable("experiment_feedback_rollups")
    .addColumn("experiment", "varchar(256)", (c) => c.notNull())
    .addColumn("tenant", "varchar(128)", (c) => c.notNull())
    .addColumn("variant", "varchar(256)", (c) => c.notNull())
    .addColumn("hour", "bigint", (c) => c.notNull())
    .addColumn("thumbs_up", "integer", (c) => c.notNull())
    .addColumn("thumbs", "integer", (c) => c.notNull())
    .addColumn("stars_n", "integer", (c) => c.notNull())
    .addColumn("stars_sum", "double precision", (c) => c.notNull())
    .addColumn("stars_sq", "double precision", (c) => c.notNull())
    .addPrimaryKeyConstraint("experiment_feedback_rollups_pk", ["experiment", "tenant", "variant", "hour"])
    .execute();

  await db.schema.alterTable("request_log").addColumn("unit_kind", "varchar(16)").execute();
  await db.schema.alterTable("request_log").addColumn("assigned_by", "varchar(16)").execute();
  await db.schema
    .createIndex("request_log_experiment_created")
    .on("request_log")
    .columns(["experiment", "created_at"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("request_log_experiment_created").execute();
  await db.schema.alterTable("request_log").dropColumn("assigned_by").execute();
  await db.schema.alterTable("request_log").dropColumn("unit_kind").execute();
  await db.schema.dropTable("route_rollups").execute();
  await db.schema.dropTable("experiment_feedback_rollups").execute();
  await db.schema.dropTable("experiment_rollups").execute();
  await db.schema.dropTable("shadow_results").execute();
  await db.schema.dropTable("experiment_events").execute();
  await db.schema.dropTable("experiment_exposures").execute();
  await db.schema.dropTable("experiment_pins").execute();
  await db.schema.dropTable("experiments").execute();
}

// Frozen in time: never import application code here, never edit after release.
import type { Kysely } from "kysely";

/**
 * Prompts: immutable versions, movable labels with their history, workbench
 * runs, and offline-evaluation (replay) runs with their items and per-item
 * results. JSON is text, timestamps are ms since the epoch (bigint).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("prompts")
    .addColumn("name", "varchar(128)", (c) => c.primaryKey())
    // Bumped by every new version and label move: what replicas poll to know when to reload.
    .addColumn("revision", "integer", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("prompt_versions")
    .addColumn("prompt", "varchar(128)", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    // JSON: {description?, variables, template}.
    .addColumn("content", "text", (c) => c.notNull())
    .addColumn("content_hash", "varchar(64)", (c) => c.notNull())
    .addColumn("author", "varchar(256)", (c) => c.notNull())
    .addColumn("message", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("prompt_versions_pk", ["prompt", "version"])
    .execute();
  await db.schema
    .createTable("prompt_labels")
    .addColumn("prompt", "varchar(128)", (c) => c.notNull())
    .addColumn("label", "varchar(64)", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("updated_by", "varchar(256)", (c) => c.notNull())
    .addPrimaryKeyConstraint("prompt_labels_pk", ["prompt", "label"])
    .execute();
  await db.schema
    .createTable("prompt_label_events")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("prompt", "varchar(128)", (c) => c.notNull())
    .addColumn("label", "varchar(64)", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    // null when the label was new.
    .addColumn("previous_version", "integer")
    .addColumn("at", "bigint", (c) => c.notNull())
    .addColumn("actor", "varchar(256)", (c) => c.notNull())
    .addColumn("message", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("prompt_label_events_prompt_at")
    .on("prompt_label_events")
    .columns(["prompt", "label", "at"])
    .execute();
  // Execution history per prompt version is read from the request log itself.
  await db.schema
    .createIndex("request_log_prompt_version")
    .on("request_log")
    .columns(["prompt_version", "created_at"])
    .execute();

  await db.schema
    .createTable("workbench_runs")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("tenant", "varchar(128)", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("actor", "varchar(256)", (c) => c.notNull())
    .addColumn("title", "text")
    // JSON: {variables, messages}.
    .addColumn("input", "text", (c) => c.notNull())
    // JSON: [{route, variant, prompt?, backend, model, status, output, latency_ms, tokens, cost_usd, error?}].
    .addColumn("results", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("workbench_runs_tenant_created")
    .on("workbench_runs")
    .columns(["tenant", "created_at"])
    .execute();

  await db.schema
    .createTable("replay_runs")
    .addColumn("id", "varchar(128)", (c) => c.primaryKey())
    .addColumn("tenant", "varchar(128)", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    // JSON: where the items came from ({file} or {log: filters}).
    .addColumn("source", "text", (c) => c.notNull())
    // JSON: the candidate variants, as "route/variant".
    .addColumn("candidates", "text", (c) => c.notNull())
    // JSON: the scorers and their settings.
    .addColumn("scorers", "text", (c) => c.notNull())
    .addColumn("item_count", "integer", (c) => c.notNull())
    .addColumn("status", "varchar(16)", (c) => c.notNull())
    .execute();
  await db.schema
    .createTable("replay_items")
    .addColumn("run_id", "varchar(128)", (c) => c.notNull())
    .addColumn("idx", "integer", (c) => c.notNull())
    // JSON: {messages, reference?, schema?, variables?, id?}.
    .addColumn("item", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("replay_items_pk", ["run_id", "idx"])
    .execute();
  await db.schema
    .createTable("replay_results")
    .addColumn("run_id", "varchar(128)", (c) => c.notNull())
    .addColumn("idx", "integer", (c) => c.notNull())
    .addColumn("candidate", "varchar(256)", (c) => c.notNull())
    .addColumn("status", "integer", (c) => c.notNull())
    .addColumn("output", "text")
    .addColumn("error", "text")
    .addColumn("latency_ms", "double precision", (c) => c.notNull())
    .addColumn("input_tokens", "integer")
    .addColumn("output_tokens", "integer")
    .addColumn("cost_usd", "double precision")
    .addColumn("prompt_version", "varchar(256)")
    // JSON: {scorer name: score 0..1 or null when it could not score}.
    .addColumn("scores", "text", (c) => c.notNull())
    // The judge's raw verdict text, when a judge scored the item.
    .addColumn("judge_raw", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("replay_results_pk", ["run_id", "idx", "candidate"])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ["replay_results", "replay_items", "replay_runs", "workbench_runs"])
    await db.schema.dropTable(t).execute();
  await db.schema.dropIndex("request_log_prompt_version").execute();
  for (const t of ["prompt_label_events", "prompt_labels", "prompt_versions", "prompts"])
    await db.schema.dropTable(t).execute();
}

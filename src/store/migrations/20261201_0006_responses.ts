// Frozen in time: never import application code here, never edit after release.
import type { Kysely } from "kysely";

/** Responses API answers kept for `previous_response_id`, item references and `GET /v1/responses/:id`. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("responses")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("tenant", "varchar(128)", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("route", "varchar(256)", (c) => c.notNull())
    // JSON: the chat messages up to and including the answer (instructions left out).
    .addColumn("messages", "text", (c) => c.notNull())
    // JSON: the response object as the client received it.
    .addColumn("response", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("responses_tenant_created").on("responses").columns(["tenant", "created_at"]).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("responses").execute();
}

// Frozen in time: never import application code here, never edit after release.
import type { Kysely } from "kysely";

/** Which inbound API a logged call came through: chat, embeddings, ... (rows before this were all chat). */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("request_log")
    .addColumn("endpoint", "varchar(32)", (c) => c.notNull().defaultTo("chat"))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("request_log").dropColumn("endpoint").execute();
}

// Frozen in time: never import application code here, never edit after release.
import type { Kysely } from "kysely";

/** The LoRA adapter a llama-cpp call ran with (by its config name); null for the base model and other backends. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("request_log").addColumn("adapter", "text").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("request_log").dropColumn("adapter").execute();
}

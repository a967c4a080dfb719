// Frozen in time: never import application code here, never edit after release.
import type { Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("feedback")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("request_id", "varchar(64)", (c) => c.notNull())
    .addColumn("tenant", "varchar(128)", (c) => c.notNull())
    // '' when nobody is named: a unique key over a NULL would not deduplicate.
    .addColumn("user_key", "varchar(256)", (c) => c.notNull())
    .addColumn("kind", "varchar(16)", (c) => c.notNull())
    .addColumn("value", "text", (c) => c.notNull())
    .addColumn("other_request_id", "varchar(64)")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("feedback_request_user_kind")
    .on("feedback")
    .columns(["request_id", "user_key", "kind"])
    .unique()
    .execute();
  await db.schema.createIndex("feedback_tenant_created").on("feedback").columns(["tenant", "created_at"]).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("feedback").execute();
}

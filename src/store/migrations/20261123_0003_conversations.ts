// Frozen in time: never import application code here, never edit after release.
// (Edited once, before any PostgreSQL store existed, to give PostgreSQL its own key and index.)
import { type Kysely, PostgresAdapter, sql } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .createTable("conversations")
    .addColumn("tenant", "varchar(128)", (c) => c.notNull())
    // The session id: chosen by the client (x-switchyard-session), so unique only within a tenant.
    .addColumn("id", "varchar(256)", (c) => c.notNull())
    .addColumn("title", "text")
    .addColumn("user_id", "varchar(256)")
    .addColumn("route", "varchar(256)")
    // The newest answer: the active branch is the path from the root to it.
    .addColumn("leaf_id", "varchar(80)")
    .addColumn("message_count", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("conversations_pk", ["tenant", "id"])
    .execute();
  await db.schema
    .createIndex("conversations_tenant_updated")
    .on("conversations")
    .columns(["tenant", "updated_at"])
    .execute();

  await db.schema
    .createTable("conversation_messages")
    // The full-text index refers to rows by this key; an explicit INTEGER PRIMARY KEY keeps it
    // stable through VACUUM, which may renumber an implicit rowid.
    .addColumn("seq", postgres ? "bigserial" : "integer", (c) => c.primaryKey())
    .addColumn("id", "varchar(80)", (c) => c.notNull().unique())
    .addColumn("tenant", "varchar(128)", (c) => c.notNull())
    .addColumn("conversation_id", "varchar(256)", (c) => c.notNull())
    .addColumn("parent_id", "varchar(80)")
    .addColumn("depth", "integer", (c) => c.notNull())
    .addColumn("hash", "varchar(64)", (c) => c.notNull())
    .addColumn("role", "varchar(16)", (c) => c.notNull())
    // The whole message as JSON (content parts, tool calls); `text` is its searchable text.
    .addColumn("message", "text", (c) => c.notNull())
    .addColumn("text", "text", (c) => c.notNull())
    // The request that first sent this message, or that produced this answer. Message ids
    // start with it ("<request id>.<n>"), so a request's messages are a primary-key range.
    .addColumn("request_id", "varchar(64)")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("conversation_messages_child")
    .on("conversation_messages")
    .columns(["tenant", "conversation_id", "parent_id", "hash"])
    .execute();

  if (postgres) {
    // PostgreSQL's full-text index: a tsvector kept by the database itself, with the 'simple'
    // configuration (no stemming, any language), like SQLite's default tokenizer below.
    await sql`ALTER TABLE conversation_messages ADD COLUMN text_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED`.execute(
      db,
    );
    await sql`CREATE INDEX conversation_messages_tsv ON conversation_messages USING gin (text_tsv)`.execute(db);
    return;
  }
  // SQLite full-text index over the messages' text, kept in step by triggers.
  await sql`CREATE VIRTUAL TABLE conversation_messages_fts USING fts5(text, content='conversation_messages', content_rowid='seq')`.execute(
    db,
  );
  await sql`CREATE TRIGGER conversation_messages_fts_insert AFTER INSERT ON conversation_messages BEGIN
    INSERT INTO conversation_messages_fts(rowid, text) VALUES (new.seq, new.text);
  END`.execute(db);
  await sql`CREATE TRIGGER conversation_messages_fts_delete AFTER DELETE ON conversation_messages BEGIN
    INSERT INTO conversation_messages_fts(conversation_messages_fts, rowid, text) VALUES ('delete', old.seq, old.text);
  END`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter))
    await sql`DROP TABLE conversation_messages_fts`.execute(db);
  await db.schema.dropTable("conversation_messages").execute();
  await db.schema.dropTable("conversations").execute();
}

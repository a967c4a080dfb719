// Frozen in time: never import application code here, never edit after release.
import { type Kysely, PostgresAdapter, sql } from "kysely";

/**
 * SQLite: the log writer now adds each batch's new messages to the full-text
 * index in one statement (a per-row trigger cost about four times as much per
 * message), so the insert trigger goes. The delete trigger stays: anything that
 * deletes messages keeps the index in step. PostgreSQL's tsvector column is
 * unaffected.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return;
  await sql`DROP TRIGGER IF EXISTS conversation_messages_fts_insert`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) return;
  await sql`CREATE TRIGGER conversation_messages_fts_insert AFTER INSERT ON conversation_messages BEGIN
    INSERT INTO conversation_messages_fts(rowid, text) VALUES (new.seq, new.text);
  END`.execute(db);
}

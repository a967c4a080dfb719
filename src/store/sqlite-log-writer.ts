/**
 * Writes request-log batches to a SQLite connection: one prepared INSERT per
 * table, one transaction per batch, and each answered turn's new messages added
 * to its conversation. Used by the writer thread for SQLite files and in-thread
 * for an in-memory database (which a thread cannot share). Synchronous by
 * nature (better-sqlite3): never call it on the main thread for a file.
 */
import type BetterSqlite3 from "better-sqlite3";
import type { ConversationTurn } from "../core/conversation.js";
import { type BatchResult, EXPOSURE_COLUMNS, type LogBatch, planTurn, withSimilarity } from "./log-batch.js";
import { REQUEST_LOG_COLUMNS } from "./request-log-columns.js";
import { RollupBatch, rollupWriter } from "./rollups.js";
import { SHADOW_COLUMNS } from "./shadow-columns.js";

export function sqliteLogWriter(db: BetterSqlite3.Database): (batch: LogBatch) => BatchResult {
  const insertRow = db.prepare(
    `INSERT INTO request_log (${REQUEST_LOG_COLUMNS.join(", ")}) VALUES (${REQUEST_LOG_COLUMNS.map(() => "?").join(", ")})`,
  );
  const conversations = conversationWriter(db);
  const storeTurn = conversations.store;
  const insertExposure = db.prepare(
    `INSERT INTO experiment_exposures (${EXPOSURE_COLUMNS.join(", ")}) VALUES (${EXPOSURE_COLUMNS.map(() => "?").join(", ")}) ON CONFLICT DO NOTHING`,
  );

  const insertShadow = db.prepare(
    `INSERT INTO shadow_results (${SHADOW_COLUMNS.join(", ")}) VALUES (${SHADOW_COLUMNS.map(() => "?").join(", ")})`,
  );
  const storeShadow = (values: unknown[]) => insertShadow.run(values);

  const storeRollups = rollupWriter(db);

  const writeAll = db.transaction((batch: LogBatch) => {
    const rollups = new RollupBatch();
    const indexed = conversations.lastSeq(batch);
    for (let i = 0; i < batch.rows.length; i++) {
      const row = batch.rows[i] as unknown[];
      insertRow.run(row);
      rollups.add(row);
      const turn = batch.turns[i];
      if (turn) storeTurn(turn);
    }
    conversations.indexSince(indexed);
    storeRollups(rollups);
    for (const e of batch.exposures) insertExposure.run(e);
    for (const s of batch.shadows) storeShadow(s);
  });
  // Called inside writeEach's transaction, each of these is a savepoint: a failure undoes only itself.
  const insertOne = db.transaction((values: unknown[]) => insertRow.run(values));
  const storeOne = db.transaction((turn: ConversationTurn) => storeTurn(turn));
  const exposeOne = db.transaction((values: unknown[]) => insertExposure.run(values));
  const shadowOne = db.transaction((values: unknown[]) => storeShadow(values));
  const rollupOne = db.transaction((rollups: RollupBatch) => storeRollups(rollups));
  const writeEach = db.transaction((batch: LogBatch): BatchResult => {
    const result: BatchResult = { rejected: 0, turnsRejected: 0 };
    const rollups = new RollupBatch();
    const indexed = conversations.lastSeq(batch);
    for (let i = 0; i < batch.rows.length; i++) {
      try {
        insertOne(batch.rows[i] as unknown[]);
        rollups.add(batch.rows[i] as unknown[]);
      } catch (e) {
        result.rejected++;
        result.error ??= (e as Error).message;
      }
      const turn = batch.turns[i];
      if (!turn) continue;
      try {
        storeOne(turn);
      } catch (e) {
        result.turnsRejected++;
        result.error ??= (e as Error).message;
      }
    }
    // Unlike a refused row, failing rollups (or the search index) would leave the stored
    // rows uncounted (or unfindable) for good: fail the whole batch so it is retried.
    conversations.indexSince(indexed);
    rollupOne(rollups);
    for (const e of batch.exposures) {
      try {
        exposeOne(e);
      } catch (err) {
        result.error ??= (err as Error).message;
      }
    }
    for (const s of batch.shadows) {
      try {
        shadowOne(s);
      } catch (err) {
        result.error ??= (err as Error).message;
      }
    }
    return result;
  });

  return (input) => {
    // Scored before the transaction: the write lock is never held while texts are compared.
    const batch = input.shadows.length > 0 ? { ...input, shadows: input.shadows.map(withSimilarity) } : input;
    try {
      // IMMEDIATE: the batch's first statement reads (lastSeq); a deferred transaction holding
      // a read could not wait for the write lock and would fail at once when the main thread writes.
      writeAll.immediate(batch);
      return { rejected: 0, turnsRejected: 0 };
    } catch (batchError) {
      // A busy, full or failing database is no fault of the rows: the batch goes back to the
      // queue whole. Only a value the database refuses is worth finding row by row.
      if (!refusesAValue(batchError)) throw batchError;
      try {
        return writeEach.immediate(batch);
      } catch {
        throw batchError;
      }
    }
  };
}

function refusesAValue(e: unknown): boolean {
  if (e instanceof TypeError || e instanceof RangeError) return true; // a value better-sqlite3 cannot bind
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG)/.test(code);
}

interface ConversationWriter {
  /** Stores one turn: its new messages, and the conversation's leaf moved to the answer. */
  store(t: ConversationTurn): void;
  /** The newest message's key before a batch; undefined when the batch has no turn. */
  lastSeq(batch: LogBatch): number | undefined;
  /**
   * Adds the messages stored after `seq` to the full-text index: once per batch,
   * inside its transaction, because a per-row trigger cost about four times as
   * much per message (migration 0012).
   */
  indexSince(seq: number | undefined): void;
}

function conversationWriter(db: BetterSqlite3.Database): ConversationWriter {
  const findChild = db
    .prepare(
      `SELECT id FROM conversation_messages
       WHERE tenant = ? AND conversation_id = ? AND parent_id IS ? AND hash = ?
       ORDER BY created_at DESC LIMIT 1`,
    )
    .pluck();
  // Positional parameters: binding by name costs a property lookup per column on every message.
  const insertMessage = db.prepare(
    `INSERT INTO conversation_messages
       (id, tenant, conversation_id, parent_id, depth, hash, role, message, text, request_id, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const upsertConversation = db.prepare(
    `INSERT INTO conversations (tenant, id, title, user_id, route, leaf_id, message_count, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (tenant, id) DO UPDATE SET
       title = coalesce(conversations.title, excluded.title),
       user_id = coalesce(excluded.user_id, conversations.user_id),
       route = excluded.route,
       leaf_id = excluded.leaf_id,
       message_count = conversations.message_count + excluded.message_count,
       updated_at = max(conversations.updated_at, excluded.updated_at)`,
  );

  const newestSeq = db.prepare("SELECT coalesce(max(seq), 0) FROM conversation_messages").pluck();
  const indexNew = db.prepare(
    "INSERT INTO conversation_messages_fts (rowid, text) SELECT seq, text FROM conversation_messages WHERE seq > ?",
  );

  return {
    store: (t) => {
      const plan = planTurn(
        t,
        (parent, hash) => findChild.get(t.tenant, t.session, parent, hash) as string | undefined,
      );
      for (const m of plan.messages) {
        insertMessage.run(
          m.id,
          m.tenant,
          m.conversation_id,
          m.parent_id,
          m.depth,
          m.hash,
          m.role,
          m.message,
          m.text,
          m.request_id,
          m.created_at,
        );
      }
      const c = plan.conversation;
      upsertConversation.run(
        c.tenant,
        c.id,
        c.title,
        c.user_id,
        c.route,
        c.leaf_id,
        c.message_count,
        c.created_at,
        c.updated_at,
      );
    },
    lastSeq: (batch) => (batch.turns.some((t) => t) ? (newestSeq.get() as number) : undefined),
    indexSince: (seq) => {
      if (seq !== undefined) indexNew.run(seq);
    },
  };
}

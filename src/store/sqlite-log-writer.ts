/**
 * Writes request-log batches to a SQLite connection: one prepared INSERT per
 * table, one transaction per batch, and each answered turn's new messages added
 * to its conversation. Used by the writer thread for SQLite files and in-thread
 * for an in-memory database (which a thread cannot share). Synchronous by
 * nature (better-sqlite3): never call it on the main thread for a file.
 */
import type BetterSqlite3 from "better-sqlite3";
import { type ConversationTurn, conversationTitle, messageHash, messageText } from "../core/conversation.js";
import { chrF, rougeL } from "../core/similarity.js";
import { REQUEST_LOG_COLUMNS } from "./request-log-columns.js";
import { RollupBatch, rollupWriter } from "./rollups.js";
import { SHADOW_COLUMNS, shadowIndex } from "./shadow-results.js";

export interface LogBatch {
  /** Each row's values in REQUEST_LOG_COLUMNS order. */
  rows: unknown[][];
  /** Per row, the conversation turn to store with it, or null. */
  turns: (ConversationTurn | null)[];
  /** Experiment exposures in EXPOSURE_COLUMNS order; a unit already recorded is left as it is. */
  exposures: unknown[][];
  /** Shadow comparisons in SHADOW_COLUMNS order; their similarity is computed here, off the main thread. */
  shadows: unknown[][];
}

export const EXPOSURE_COLUMNS = [
  "experiment",
  "tenant",
  "unit_kind",
  "unit_id",
  "variant",
  "request_id",
  "first_at",
] as const;

/**
 * `rejected`: rows the database refused (a value it cannot store), left out so
 * one bad row cannot block every later one; `turnsRejected` likewise for
 * conversation turns. Throws only when nothing could be written.
 */
export interface BatchResult {
  rejected: number;
  turnsRejected: number;
  error?: string;
}

export function sqliteLogWriter(db: BetterSqlite3.Database): (batch: LogBatch) => BatchResult {
  const insertRow = db.prepare(
    `INSERT INTO request_log (${REQUEST_LOG_COLUMNS.join(", ")}) VALUES (${REQUEST_LOG_COLUMNS.map(() => "?").join(", ")})`,
  );
  const storeTurn = conversationWriter(db);
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
    for (let i = 0; i < batch.rows.length; i++) {
      const row = batch.rows[i] as unknown[];
      insertRow.run(row);
      rollups.add(row);
      const turn = batch.turns[i];
      if (turn) storeTurn(turn);
    }
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
    // Unlike a refused row, failing rollups would leave the stored rows uncounted for good:
    // fail the whole batch so it is retried.
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
      writeAll(batch);
      return { rejected: 0, turnsRejected: 0 };
    } catch (batchError) {
      // A busy, full or failing database is no fault of the rows: the batch goes back to the
      // queue whole. Only a value the database refuses is worth finding row by row.
      if (!refusesAValue(batchError)) throw batchError;
      try {
        return writeEach(batch);
      } catch {
        throw batchError;
      }
    }
  };
}

const PRIMARY_OUTPUT = shadowIndex("primary_output");
const CANDIDATE_OUTPUT = shadowIndex("candidate_output");
const ROUGE_L = shadowIndex("rouge_l");
const CHRF = shadowIndex("chrf");

/** Fills in the lexical similarity of the two answers when both exist. */
function withSimilarity(values: unknown[]): unknown[] {
  const primary = values[PRIMARY_OUTPUT];
  const candidate = values[CANDIDATE_OUTPUT];
  if (typeof primary !== "string" || typeof candidate !== "string" || values[ROUGE_L] != null) return values;
  const out = [...values];
  out[ROUGE_L] = rougeL(primary, candidate).f;
  out[CHRF] = chrF(primary, candidate);
  return out;
}

function refusesAValue(e: unknown): boolean {
  if (e instanceof TypeError || e instanceof RangeError) return true; // a value better-sqlite3 cannot bind
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG)/.test(code);
}

/**
 * Stores one turn: walks the conversation's tree along the messages it already
 * holds, inserts the rest and the answer, and moves the conversation's leaf to
 * the answer. See core/conversation.ts for why a tree.
 */
function conversationWriter(db: BetterSqlite3.Database): (t: ConversationTurn) => void {
  const findChild = db
    .prepare(
      `SELECT id FROM conversation_messages
       WHERE tenant = ? AND conversation_id = ? AND parent_id IS ? AND hash = ?
       ORDER BY created_at DESC LIMIT 1`,
    )
    .pluck();
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

  return (t) => {
    let parent: string | null = null;
    let depth = 0;
    let inserted = 0;
    let matching = true;
    const store = (id: string, m: (typeof t.messages)[number], hash: string) => {
      insertMessage.run(
        id,
        t.tenant,
        t.session,
        parent,
        depth,
        hash,
        m.role,
        JSON.stringify(m),
        messageText(m),
        t.requestId,
        t.createdAt,
      );
      parent = id;
      depth++;
      inserted++;
    };
    for (let i = 0; i < t.messages.length; i++) {
      const m = t.messages[i] as (typeof t.messages)[number];
      const hash = messageHash(m);
      if (matching) {
        const found = findChild.get(t.tenant, t.session, parent, hash) as string | undefined;
        if (found !== undefined) {
          parent = found;
          depth++;
          continue;
        }
        matching = false;
      }
      store(`${t.requestId}.${i}`, m, hash);
    }
    // Every answer is its own message, even one equal to an earlier answer: feedback is per request.
    store(`${t.requestId}.answer`, t.answer, messageHash(t.answer));
    upsertConversation.run(
      t.tenant,
      t.session,
      conversationTitle(t.messages),
      t.user,
      t.route,
      parent,
      inserted,
      t.createdAt,
      t.createdAt,
    );
  };
}

/**
 * Writes request-log batches to PostgreSQL: multi-row INSERTs (rows, messages,
 * exposures, shadows), one transaction per batch, with the hourly rollups and
 * each answered turn's conversation in the same transaction. Several replicas
 * write at once: exposures are first-writer-wins by their key, a rollup row is
 * locked (FOR UPDATE) while its sketch is merged, and exposures, conversations
 * and rollups are each written in their keys' order, so two writers wait on
 * each other rather than deadlock.
 */
import { type RawBuilder, sql } from "kysely";
import type { ConversationTurn } from "../core/conversation.js";
import { mergeSketch, type Sketch } from "../core/sketch.js";
import type { Db } from "./db.js";
import {
  type BatchResult,
  EXPOSURE_COLUMNS,
  type LogBatch,
  type NewMessage,
  planTurn,
  type TurnPlan,
  withSimilarity,
} from "./log-batch.js";
import { REQUEST_LOG_COLUMNS } from "./request-log-columns.js";
import { type RequestRollup, RollupBatch, type RouteRollup } from "./rollups.js";
import { SHADOW_COLUMNS } from "./shadow-columns.js";

// PostgreSQL binds at most 65 535 parameters per statement.
const MAX_PARAMETERS = 65_000;
const ROWS_PER_INSERT = 1_000;

type Row = Record<string, unknown>;

const named = (columns: readonly string[], values: unknown[]): Row => {
  const out: Row = {};
  for (let i = 0; i < columns.length; i++) out[columns[i] as string] = values[i];
  return out;
};

async function insertMany(trx: Db, table: string, rows: Row[], onConflictDoNothing = false): Promise<void> {
  const columns = rows[0] ? Object.keys(rows[0]).length : 1;
  const step = Math.max(1, Math.min(ROWS_PER_INSERT, Math.floor(MAX_PARAMETERS / columns)));
  for (let i = 0; i < rows.length; i += step) {
    let q = (trx as any).insertInto(table).values(rows.slice(i, i + step));
    if (onConflictDoNothing) q = q.onConflict((oc: { doNothing(): unknown }) => oc.doNothing());
    await q.execute();
  }
}

export function postgresLogWriter(db: Db): (batch: LogBatch) => Promise<BatchResult> {
  const writeAll = (batch: LogBatch) =>
    db.transaction().execute(async (trx) => {
      const rollups = new RollupBatch();
      for (const r of batch.rows) rollups.add(r);
      await insertMany(
        trx,
        "request_log",
        batch.rows.map((r) => named(REQUEST_LOG_COLUMNS, r)),
      );
      await storeTurns(
        trx,
        batch.turns.filter((t): t is ConversationTurn => t !== null),
      );
      await storeRollups(trx, rollups);
      await insertMany(trx, "experiment_exposures", sortedExposures(batch.exposures), true);
      await insertMany(
        trx,
        "shadow_results",
        batch.shadows.map((s) => named(SHADOW_COLUMNS, s)),
      );
    });

  // One by one, each in its own savepoint: a refused value undoes only itself.
  const writeEach = (batch: LogBatch) =>
    db.transaction().execute(async (trx): Promise<BatchResult> => {
      const result: BatchResult = { rejected: 0, turnsRejected: 0 };
      const rollups = new RollupBatch();
      const alone = async (work: () => Promise<void>): Promise<string | null> => {
        await sql`SAVEPOINT one`.execute(trx);
        try {
          await work();
          await sql`RELEASE SAVEPOINT one`.execute(trx);
          return null;
        } catch (e) {
          // A lost lock race or a cancelled statement is no fault of this row: the batch is retried whole.
          if (!refusesAValue(e)) throw e;
          await sql`ROLLBACK TO SAVEPOINT one`.execute(trx);
          return (e as Error).message;
        }
      };
      for (let i = 0; i < batch.rows.length; i++) {
        const row = batch.rows[i] as unknown[];
        const refused = await alone(() => insertMany(trx, "request_log", [named(REQUEST_LOG_COLUMNS, row)]));
        if (refused === null) rollups.add(row);
        else {
          result.rejected++;
          result.error ??= refused;
        }
        const turn = batch.turns[i];
        if (!turn) continue;
        const turnRefused = await alone(() => storeTurns(trx, [turn]));
        if (turnRefused !== null) {
          result.turnsRejected++;
          result.error ??= turnRefused;
        }
      }
      // Unlike a refused row, failing rollups would leave the stored rows uncounted for good:
      // fail the whole batch so it is retried.
      await storeRollups(trx, rollups);
      for (const e of sortedExposures(batch.exposures)) {
        const refused = await alone(() => insertMany(trx, "experiment_exposures", [e], true));
        if (refused !== null) result.error ??= refused;
      }
      for (const s of batch.shadows) {
        const refused = await alone(() => insertMany(trx, "shadow_results", [named(SHADOW_COLUMNS, s)]));
        if (refused !== null) result.error ??= refused;
      }
      return result;
    });

  return async (input) => {
    const batch = input.shadows.length > 0 ? { ...input, shadows: input.shadows.map(withSimilarity) } : input;
    try {
      await writeAll(batch);
      return { rejected: 0, turnsRejected: 0 };
    } catch (batchError) {
      // A down or failing database is no fault of the rows: the batch goes back to the queue
      // whole. Only a value the database refuses is worth finding row by row.
      if (!refusesAValue(batchError)) throw batchError;
      try {
        return await writeEach(batch);
      } catch {
        throw batchError;
      }
    }
  };
}

/** Exposures in their key's order: two replicas inserting the same units then wait on each other in one order, never in a cycle. */
function sortedExposures(exposures: unknown[][]): Row[] {
  const key = (e: unknown[]) => e.slice(0, 4).join("\u0000");
  return [...exposures]
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
    .map((e) => named(EXPOSURE_COLUMNS, e));
}

/** SQLSTATE classes 22 (data exception: a value out of range, too long, malformed) and 23 (a constraint). */
function refusesAValue(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && /^2[23]/.test(code);
}

type ConversationRow = TurnPlan["conversation"];

/**
 * Stores turns in a few statements whatever their number: the stored trees of
 * the batch's conversations are read in one query, every turn is planned in
 * memory (turns of one conversation in the batch see each other's messages),
 * then all new messages are one INSERT and all conversations one upsert.
 */
async function storeTurns(trx: Db, turns: ConversationTurn[]): Promise<void> {
  if (turns.length === 0) return;
  const childKey = (tenant: string, session: string, parent: string | null, hash: string) =>
    `${tenant}\u0000${session}\u0000${parent ?? ""}\u0000${hash}`;
  const tree = new Map<string, string>();
  const sessionsByTenant = new Map<string, Set<string>>();
  for (const t of turns) sessionsByTenant.set(t.tenant, (sessionsByTenant.get(t.tenant) ?? new Set()).add(t.session));
  for (const [tenant, sessions] of sessionsByTenant) {
    const stored = await trx
      .selectFrom("conversation_messages")
      .select(["conversation_id", "parent_id", "hash", "id"])
      .where("tenant", "=", tenant)
      .where("conversation_id", "in", [...sessions])
      .orderBy("created_at")
      .orderBy("seq")
      .execute();
    // Later rows overwrite earlier ones: the newest child with that content wins, as in SQLite's writer.
    for (const m of stored) tree.set(childKey(tenant, m.conversation_id, m.parent_id, m.hash), m.id);
  }
  const messages: NewMessage[] = [];
  const conversations = new Map<string, ConversationRow>();
  for (const t of turns) {
    const plan = planTurn(t, (parent, hash) => tree.get(childKey(t.tenant, t.session, parent, hash)));
    for (const m of plan.messages) tree.set(childKey(t.tenant, t.session, m.parent_id, m.hash), m.id);
    messages.push(...plan.messages);
    const key = `${t.tenant}\u0000${t.session}`;
    const earlier = conversations.get(key);
    conversations.set(key, earlier ? laterTurn(earlier, plan.conversation) : plan.conversation);
  }
  await insertMany(trx, "conversation_messages", messages as unknown as Row[]);
  // In key order, like the rollups: concurrent replicas lock the same conversations in one order.
  const rows = [...conversations.values()].sort((a, b) => {
    const x = `${a.tenant}\u0000${a.id}`;
    const y = `${b.tenant}\u0000${b.id}`;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    await trx
      .insertInto("conversations")
      .values(rows.slice(i, i + ROWS_PER_INSERT))
      .onConflict((oc) =>
        oc.columns(["tenant", "id"]).doUpdateSet({
          title: sql`coalesce(conversations.title, excluded.title)`,
          user_id: sql`coalesce(excluded.user_id, conversations.user_id)`,
          route: sql`excluded.route`,
          // Another replica may commit an older turn after a newer one: the leaf stays on the newest.
          leaf_id: sql`case when excluded.updated_at >= conversations.updated_at then excluded.leaf_id else conversations.leaf_id end`,
          message_count: sql`conversations.message_count + excluded.message_count`,
          updated_at: sql`greatest(conversations.updated_at, excluded.updated_at)`,
        }),
      )
      .execute();
  }
}

/** Two turns of one conversation in one batch as one upsert: what applying them in order would leave. */
function laterTurn(earlier: ConversationRow, later: ConversationRow): ConversationRow {
  return {
    ...later,
    title: earlier.title ?? later.title,
    user_id: later.user_id ?? earlier.user_id,
    message_count: earlier.message_count + later.message_count,
    created_at: Math.min(earlier.created_at, later.created_at),
    updated_at: Math.max(earlier.updated_at, later.updated_at),
  };
}

const byKey = <T>(key: (r: T) => string) => {
  return (a: T, b: T) => {
    const x = key(a);
    const y = key(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };
};

/** Adds a batch's rollups; inside the batch's transaction. */
async function storeRollups(trx: Db, batch: RollupBatch): Promise<void> {
  const keys = batch.keys();
  if (keys.length > 0) {
    await trx
      .insertInto("key_rollups")
      .values(
        keys.map((r) => ({
          key_id: r.keyId,
          tenant: r.tenant,
          hour: r.hour,
          requests: r.requests,
          cost_sum: r.costSum,
          tokens: r.tokens,
        })),
      )
      .onConflict((oc) =>
        oc.columns(["key_id", "hour"]).doUpdateSet({
          requests: sql`key_rollups.requests + excluded.requests`,
          cost_sum: sql`key_rollups.cost_sum + excluded.cost_sum`,
          tokens: sql`key_rollups.tokens + excluded.tokens`,
        }),
      )
      .execute();
  }
  const routeKey = (r: RouteRollup) => `${r.route}\u0000${r.tenant}\u0000${r.hour}`;
  for (const r of [...batch.routes()].sort(byKey(routeKey))) {
    await addToRollup(
      trx,
      "route_rollups",
      { route: r.route, tenant: r.tenant, hour: r.hour },
      {
        requests: r.requests,
        errors: r.errors,
        cancelled: r.cancelled,
        cost_sum: r.costSum,
        input_tokens: r.inputTokens,
        output_tokens: r.outputTokens,
        latency_n: r.latencyN,
        latency_sum: r.latencySum,
      },
      { latency_sketch: r.latency },
    );
  }
  const experimentKey = (r: RequestRollup) => `${r.experiment}\u0000${r.tenant}\u0000${r.variant}\u0000${r.hour}`;
  for (const r of [...batch.values()].sort(byKey(experimentKey))) {
    await addToRollup(
      trx,
      "experiment_rollups",
      { experiment: r.experiment, tenant: r.tenant, variant: r.variant, hour: r.hour },
      {
        requests: r.requests,
        successes: r.successes,
        latency_sum: r.latencySum,
        latency_sq: r.latencySq,
        ttft_n: r.ttftN,
        ttft_sum: r.ttftSum,
        ttft_sq: r.ttftSq,
        input_tokens: r.inputTokens,
        output_tokens: r.outputTokens,
        output_sq: r.outputSq,
        token_requests: r.tokenRequests,
        cost_sum: r.costSum,
        cost_sq: r.costSq,
        cost_n: r.costN,
      },
      { latency_sketch: r.latency, ttft_sketch: r.ttft },
    );
  }
}

/**
 * Adds sums and sketches to one rollup row: inserted when new, else locked
 * (FOR UPDATE) while its stored sketches are merged with these in JavaScript.
 */
async function addToRollup(
  trx: Db,
  table: "route_rollups" | "experiment_rollups",
  key: Record<string, string | number>,
  sums: Record<string, number>,
  sketches: Record<string, Sketch>,
): Promise<void> {
  const db = trx as any; // the two tables share this shape, not one Kysely type
  const json = (m: Record<string, Sketch>) =>
    Object.fromEntries(Object.entries(m).map(([c, v]) => [c, JSON.stringify(v)]));
  const inserted = await db
    .insertInto(table)
    .values({ ...key, ...sums, ...json(sketches) })
    .onConflict((oc: any) => oc.columns(Object.keys(key)).doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) return;
  const where = (q: any) => Object.entries(key).reduce((acc, [c, v]) => acc.where(c, "=", v), q);
  const old = (await where(db.selectFrom(table).select(Object.keys(sketches)))
    .forUpdate()
    .executeTakeFirstOrThrow()) as Record<string, string>;
  const merged: Record<string, Sketch> = {};
  for (const [c, v] of Object.entries(sketches)) merged[c] = mergeSketch(JSON.parse(old[c] as string) as Sketch, v);
  await where(db.updateTable(table).set({ ...added(table, sums), ...json(merged) })).execute();
}

/** `SET column = table.column + value` for each sum. */
function added<T extends Record<string, number>>(table: string, sums: T): Record<keyof T, RawBuilder<number>> {
  const out = {} as Record<keyof T, RawBuilder<number>>;
  for (const [column, value] of Object.entries(sums) as [keyof T & string, number][]) {
    out[column] = sql<number>`${sql.ref(`${table}.${column}`)} + ${value}`;
  }
  return out;
}

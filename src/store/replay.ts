/**
 * Replay runs in the store: the run (its source, candidates and scorers), its
 * items (so a resumed run replays exactly the same dataset), and one result
 * row per (item, candidate), written as soon as it is scored: a result row is
 * what resuming skips, so nothing already scored is sent again.
 */
import { messageText } from "../core/conversation.js";
import { passesFilter, type RatedTurn, type TurnFilter } from "../core/dataset.js";
import type { ReplayItem } from "../core/replay/dataset.js";
import type { Scores } from "../core/replay/scorers.js";
import { type Db, writeTransaction } from "./db.js";
import { ratedTurnPages } from "./rated-turns.js";
import type { ReplayResultTable, ReplayRunTable } from "./schema.js";

export interface ReplaySettings {
  candidates: string[];
  scorers: {
    scorers: string[];
    regex?: string | undefined;
    schema?: Record<string, unknown> | boolean | undefined;
    /** route/variant of the judge model, when the judge scores. */
    judge?: string | undefined;
    rubric?: string | undefined;
    /** NAME@VERSION of the registry prompt the rubric was rendered from, when it came from one. */
    rubricPrompt?: string | undefined;
  };
}

export interface StoredRun extends ReplaySettings {
  id: string;
  tenant: string;
  createdAt: number;
  updatedAt: number;
  source: Record<string, unknown>;
  itemCount: number;
  status: string;
}

/** A result row as the runner writes and reads it: the row, with its scores parsed. */
export type StoredResult = Omit<ReplayResultTable, "run_id" | "scores"> & { scores: Scores };

export class ReplayRunExists extends Error {}

const ITEMS_PER_INSERT = 200;

export async function createRun(
  db: Db,
  run: { id: string; tenant: string; source: Record<string, unknown>; settings: ReplaySettings; items: ReplayItem[] },
): Promise<void> {
  const now = Date.now();
  await writeTransaction(db, async (trx) => {
    const existing = await trx.selectFrom("replay_runs").select("id").where("id", "=", run.id).executeTakeFirst();
    if (existing)
      throw new ReplayRunExists(`a replay run '${run.id}' exists already (resume it, or choose another --run)`);
    await trx
      .insertInto("replay_runs")
      .values({
        id: run.id,
        tenant: run.tenant,
        created_at: now,
        updated_at: now,
        source: JSON.stringify(run.source),
        candidates: JSON.stringify(run.settings.candidates),
        scorers: JSON.stringify(run.settings.scorers),
        item_count: run.items.length,
        status: "running",
      })
      .execute();
    for (let i = 0; i < run.items.length; i += ITEMS_PER_INSERT) {
      await trx
        .insertInto("replay_items")
        .values(
          run.items
            .slice(i, i + ITEMS_PER_INSERT)
            .map((item, k) => ({ run_id: run.id, idx: i + k, item: JSON.stringify(item) })),
        )
        .execute();
    }
  });
}

function runOf(r: ReplayRunTable): StoredRun {
  return {
    id: r.id,
    tenant: r.tenant,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    source: JSON.parse(r.source),
    candidates: JSON.parse(r.candidates),
    scorers: JSON.parse(r.scorers),
    itemCount: Number(r.item_count),
    status: r.status,
  };
}

export async function loadRun(db: Db, id: string): Promise<StoredRun | undefined> {
  const r = await db.selectFrom("replay_runs").selectAll().where("id", "=", id).executeTakeFirst();
  return r ? runOf(r) : undefined;
}

export async function listRuns(db: Db, tenant: string, limit = 100): Promise<StoredRun[]> {
  const rows = await db
    .selectFrom("replay_runs")
    .selectAll()
    .where("tenant", "=", tenant)
    .orderBy("created_at", "desc")
    .limit(limit)
    .execute();
  return rows.map(runOf);
}

export async function loadItems(db: Db, runId: string): Promise<ReplayItem[]> {
  const rows = await db
    .selectFrom("replay_items")
    .select(["idx", "item"])
    .where("run_id", "=", runId)
    .orderBy("idx")
    .execute();
  return rows.map((r) => JSON.parse(r.item) as ReplayItem);
}

/** "idx\0candidate" of every result stored. */
export async function doneKeys(db: Db, runId: string): Promise<Set<string>> {
  const rows = await db.selectFrom("replay_results").select(["idx", "candidate"]).where("run_id", "=", runId).execute();
  return new Set(rows.map((r) => resultKey(Number(r.idx), r.candidate)));
}

export function resultKey(idx: number, candidate: string): string {
  return `${idx}\u0000${candidate}`;
}

export async function insertResult(db: Db, runId: string, r: StoredResult): Promise<void> {
  await db
    .insertInto("replay_results")
    .values({ run_id: runId, ...r, scores: JSON.stringify(r.scores) })
    .execute();
}

export async function loadResults(db: Db, runId: string): Promise<StoredResult[]> {
  const rows = await db.selectFrom("replay_results").selectAll().where("run_id", "=", runId).orderBy("idx").execute();
  return rows.map((r) => ({
    idx: Number(r.idx),
    candidate: r.candidate,
    status: Number(r.status),
    output: r.output,
    error: r.error,
    latency_ms: Number(r.latency_ms),
    input_tokens: r.input_tokens === null ? null : Number(r.input_tokens),
    output_tokens: r.output_tokens === null ? null : Number(r.output_tokens),
    cost_usd: r.cost_usd === null ? null : Number(r.cost_usd),
    prompt_version: r.prompt_version,
    scores: JSON.parse(r.scores) as Scores,
    judge_raw: r.judge_raw,
    created_at: Number(r.created_at),
  }));
}

export async function countResults(db: Db, runId: string): Promise<number> {
  const r = await db
    .selectFrom("replay_results")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("run_id", "=", runId)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

export async function setRunStatus(db: Db, runId: string, status: string): Promise<void> {
  await db.updateTable("replay_runs").set({ status, updated_at: Date.now() }).where("id", "=", runId).execute();
}

/**
 * A dataset from the log: every stored answer that passes the export filter
 * (the language filter aside), as an item whose messages are the conversation
 * before the answer and whose reference is the user's correction when one was
 * given, else the answer that was served. Items are in time order, up to `limit`.
 */
export async function itemsFromLog(db: Db, tenant: string, filter: TurnFilter, limit: number): Promise<ReplayItem[]> {
  const turns: RatedTurn[] = [];
  for await (const page of ratedTurnPages(db, tenant)) {
    for (const t of page) if (passesFilter(t, filter) && t.prompt.length > 0) turns.push(t);
  }
  turns.sort((a, b) => a.createdAt - b.createdAt || a.requestId.localeCompare(b.requestId));
  return turns.slice(0, limit).map((t) => ({
    id: t.requestId,
    messages: t.prompt,
    reference: t.feedback.correction ?? messageText(t.answer),
  }));
}

/** Feedback rows: one per (request, user, kind), replaced when given again. */
import type { Selectable } from "kysely";
import { type Db, writeTransaction } from "./db.js";
import { rollUpFeedback } from "./rollup-queries.js";
import type { FeedbackTable, RequestLogTable } from "./schema.js";

export type LoggedRequest = Pick<
  Selectable<RequestLogTable>,
  | "id"
  | "tenant"
  | "user_id"
  | "route"
  | "variant"
  | "backend"
  | "upstream_model"
  | "prompt_version"
  | "latency_ms"
  | "status"
  | "assigned_by"
>;

export async function findLoggedRequest(db: Db, id: string): Promise<LoggedRequest | undefined> {
  return db
    .selectFrom("request_log")
    .select([
      "id",
      "tenant",
      "user_id",
      "route",
      "variant",
      "backend",
      "upstream_model",
      "prompt_version",
      "latency_ms",
      "status",
      "assigned_by",
    ])
    .where("id", "=", id)
    .executeTakeFirst();
}

export type FeedbackRow = Selectable<FeedbackTable>;

/** Inserts or replaces; says which, and returns the row as stored (committed when this resolves). */
export async function upsertFeedback(
  db: Db,
  row: Omit<FeedbackRow, "created_at" | "updated_at">,
  now = Date.now(),
): Promise<{ created: boolean; row: FeedbackRow }> {
  return writeTransaction(db, async (trx) => {
    const existing = await trx
      .selectFrom("feedback")
      .selectAll()
      .where("request_id", "=", row.request_id)
      .where("user_key", "=", row.user_key)
      .where("kind", "=", row.kind)
      .executeTakeFirst();
    await rollUpFeedback(trx, row.request_id, row.kind, existing?.value ?? null, row.value);
    if (existing) {
      await trx
        .updateTable("feedback")
        .set({ value: row.value, other_request_id: row.other_request_id, updated_at: now })
        .where("id", "=", existing.id)
        .execute();
      return {
        created: false,
        row: { ...existing, value: row.value, other_request_id: row.other_request_id, updated_at: now },
      };
    }
    const stored = { ...row, created_at: now, updated_at: now };
    await trx.insertInto("feedback").values(stored).execute();
    return { created: true, row: stored };
  });
}

export async function feedbackForRequest(db: Db, tenant: string, requestId: string): Promise<FeedbackRow[]> {
  return db
    .selectFrom("feedback")
    .selectAll()
    .where("tenant", "=", tenant)
    .where("request_id", "=", requestId)
    .orderBy("created_at")
    .execute();
}

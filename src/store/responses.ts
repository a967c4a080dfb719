/**
 * Responses API answers, kept so a later request can continue from one
 * (`previous_response_id`), point at one of its items, or read it back. Always
 * within one tenant: another tenant's id reads as unknown.
 */
import type { ChatMessage } from "../core/openai-types.js";
import type { Db } from "./db.js";

export interface StoredResponse {
  id: string;
  tenant: string;
  createdAt: number;
  route: string;
  /** The chat messages up to and including the answer. */
  messages: ChatMessage[];
  /** The response object as answered. */
  response: Record<string, unknown>;
}

export async function saveResponse(db: Db, r: StoredResponse): Promise<void> {
  await db
    .insertInto("responses")
    .values({
      id: r.id,
      tenant: r.tenant,
      created_at: r.createdAt,
      route: r.route,
      messages: JSON.stringify(r.messages),
      response: JSON.stringify(r.response),
    })
    .execute();
}

export async function getResponse(db: Db, tenant: string, id: string): Promise<StoredResponse | undefined> {
  const row = await db
    .selectFrom("responses")
    .selectAll()
    .where("id", "=", id)
    .where("tenant", "=", tenant)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id,
    tenant: row.tenant,
    createdAt: row.created_at,
    route: row.route,
    messages: JSON.parse(row.messages) as ChatMessage[],
    response: JSON.parse(row.response) as Record<string, unknown>,
  };
}

/** True when there was such a response to delete. */
export async function deleteResponse(db: Db, tenant: string, id: string): Promise<boolean> {
  const res = await db.deleteFrom("responses").where("id", "=", id).where("tenant", "=", tenant).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

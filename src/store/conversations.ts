/**
 * Reading conversations back: list (newest first, or by relevance to a
 * full-text search), one conversation's active branch or whole tree, and
 * several at once for export. Always within one tenant.
 */
import { sql } from "kysely";
import type { StoredConversation } from "../core/conversation.js";
import { ftsQuery, searchWords } from "../core/conversation.js";
import type { ChatMessage } from "../core/openai-types.js";
import { type Db, dialectOf } from "./db.js";

export interface ConversationSummary {
  id: string;
  title: string | null;
  user_id: string | null;
  route: string | null;
  message_count: number;
  created_at: number;
  updated_at: number;
  /** With a search: the best-matching passage, matches in [brackets]. */
  snippet?: string;
}

export interface ListOptions {
  tenant: string;
  /** Full-text search; results ordered by relevance. */
  search?: string | undefined;
  user?: string | undefined;
  /** Only conversations after this one in newest-first order: the next page (not with a search). */
  after?: { updated_at: number; id: string } | undefined;
  limit: number;
}

const SUMMARY_COLUMNS = ["id", "title", "user_id", "route", "message_count", "created_at", "updated_at"] as const;

export async function listConversations(db: Db, o: ListOptions): Promise<ConversationSummary[]> {
  const match = o.search === undefined ? null : ftsQuery(o.search);
  if (match === null) {
    let q = db.selectFrom("conversations").select(SUMMARY_COLUMNS).where("tenant", "=", o.tenant);
    if (o.user !== undefined) q = q.where("user_id", "=", o.user);
    const after = o.after;
    if (after) {
      q = q.where((eb) =>
        eb.or([
          eb("updated_at", "<", after.updated_at),
          eb.and([eb("updated_at", "=", after.updated_at), eb("id", "<", after.id)]),
        ]),
      );
    }
    return q.orderBy("updated_at", "desc").orderBy("id", "desc").limit(o.limit).execute();
  }
  // Matching messages by relevance, then their conversations, each once in order of its best match.
  const hits =
    dialectOf(db) === "postgres" ? await postgresHits(db, o) : await sqliteHits(db, o.tenant, match, o.limit);
  const best = new Map<string, string>();
  for (const h of hits) if (!best.has(h.conversation_id)) best.set(h.conversation_id, h.snippet);
  if (best.size === 0) return [];
  let q = db
    .selectFrom("conversations")
    .select(SUMMARY_COLUMNS)
    .where("tenant", "=", o.tenant)
    .where("id", "in", [...best.keys()]);
  if (o.user !== undefined) q = q.where("user_id", "=", o.user);
  const rows = await q.execute();
  const rank = new Map([...best.keys()].map((id, i) => [id, i]));
  return rows
    .sort((a, b) => (rank.get(a.id) ?? 0) - (rank.get(b.id) ?? 0))
    .slice(0, o.limit)
    .map((r) => ({ ...r, snippet: best.get(r.id) ?? "" }));
}

interface Hit {
  conversation_id: string;
  snippet: string;
}

const hitLimit = (limit: number) => Math.max(limit * 20, 1000);

async function sqliteHits(db: Db, tenant: string, match: string, limit: number): Promise<Hit[]> {
  const hits = await sql<Hit>`
    SELECT m.conversation_id AS conversation_id,
           snippet(conversation_messages_fts, 0, '[', ']', '…', 16) AS snippet
    FROM conversation_messages_fts
    JOIN conversation_messages m ON m.seq = conversation_messages_fts.rowid
    WHERE conversation_messages_fts MATCH ${match} AND m.tenant = ${tenant}
    ORDER BY conversation_messages_fts.rank
    LIMIT ${hitLimit(limit)}`.execute(db);
  return hits.rows;
}

/** A word as one quoted tsquery lexeme matching as a prefix: quotes doubled, backslashes escaped. */
const prefixLexeme = (word: string) => `'${word.replaceAll("\\", "\\\\").replaceAll("'", "''")}':*`;

/**
 * The same search over PostgreSQL's tsvector: every word must appear (a
 * trailing `*` matches it as a prefix), each word taken as plain text so no
 * character in it is an operator.
 */
async function postgresHits(db: Db, o: ListOptions): Promise<Hit[]> {
  const parts = searchWords(o.search ?? "").map((w) =>
    w.prefix ? sql`to_tsquery('simple', ${prefixLexeme(w.word)})` : sql`plainto_tsquery('simple', ${w.word})`,
  );
  const query = sql.join(parts, sql` && `);
  const hits = await sql<Hit>`
    SELECT m.conversation_id AS conversation_id,
           ts_headline('simple', m.text, q.query, 'StartSel=[, StopSel=], MaxWords=16, MinWords=4, MaxFragments=1, FragmentDelimiter=…') AS snippet
    FROM conversation_messages m, (SELECT ${query} AS query) q
    WHERE m.text_tsv @@ q.query AND m.tenant = ${o.tenant}
    ORDER BY ts_rank(m.text_tsv, q.query) DESC
    LIMIT ${hitLimit(o.limit)}`.execute(db);
  return hits.rows;
}

/** The ids among these that name no conversation of the tenant. */
export async function missingConversations(db: Db, tenant: string, ids: string[]): Promise<string[]> {
  const found = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db
      .selectFrom("conversations")
      .select("id")
      .where("tenant", "=", tenant)
      .where("id", "in", ids.slice(i, i + 500))
      .execute();
    for (const r of rows) found.add(r.id);
  }
  return ids.filter((id) => !found.has(id));
}

export type Branches = "active" | "all";

export interface StoredMessage {
  id: string;
  parent_id: string | null;
  role: string;
  message: ChatMessage;
  request_id: string | null;
  created_at: number;
}

/**
 * One conversation: its active branch (root to the newest answer) or, with
 * "all", every message of every branch in tree order (parents first).
 */
export type ConversationWithMessages = Omit<StoredConversation, "messages"> & { messages: StoredMessage[] };

export async function getConversation(
  db: Db,
  tenant: string,
  id: string,
  branches: Branches = "active",
): Promise<ConversationWithMessages | undefined> {
  const c = await db
    .selectFrom("conversations")
    .selectAll()
    .where("tenant", "=", tenant)
    .where("id", "=", id)
    .executeTakeFirst();
  if (!c) return undefined;
  const rows = await db
    .selectFrom("conversation_messages")
    .select(["id", "parent_id", "role", "message", "request_id", "created_at", "depth"])
    .where("tenant", "=", tenant)
    .where("conversation_id", "=", id)
    .orderBy("depth")
    .orderBy("created_at")
    .orderBy("id")
    .execute();
  let chosen = rows;
  if (branches === "active") {
    const byId = new Map(rows.map((r) => [r.id, r]));
    const path: typeof rows = [];
    for (let r = c.leaf_id ? byId.get(c.leaf_id) : undefined; r; r = r.parent_id ? byId.get(r.parent_id) : undefined) {
      path.push(r);
    }
    chosen = path.reverse();
  }
  return {
    id: c.id,
    title: c.title,
    user: c.user_id,
    route: c.route,
    created_at: c.created_at,
    updated_at: c.updated_at,
    messages: chosen.map((r) => ({
      id: r.id,
      parent_id: r.parent_id,
      role: r.role,
      message: JSON.parse(r.message) as ChatMessage,
      request_id: r.request_id,
      created_at: r.created_at,
    })),
  };
}

/** The JSON shape of a conversation in the API and in exports: each message as sent, with where it sits. */
export function conversationJson(c: ConversationWithMessages) {
  return {
    object: "conversation",
    id: c.id,
    title: c.title,
    user: c.user,
    route: c.route,
    created_at: c.created_at,
    updated_at: c.updated_at,
    messages: c.messages.map((m) => ({
      id: m.id,
      parent_id: m.parent_id,
      request_id: m.request_id,
      created_at: m.created_at,
      message: m.message,
    })),
  };
}

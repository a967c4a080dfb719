/**
 * Answered turns with their feedback, read from the store a page of
 * conversations at a time so an export of millions never holds them all.
 */
import { NO_FEEDBACK, type RatedTurn, type TurnFeedback } from "../core/dataset.js";
import type { ChatMessage } from "../core/openai-types.js";
import type { Db } from "./db.js";

const CONVERSATIONS_PER_PAGE = 200;
/** SQLite allows 32766 bound parameters; stay far below with IN lists. */
const IDS_PER_QUERY = 500;

interface MessageRow {
  id: string;
  conversation_id: string;
  parent_id: string | null;
  message: string;
  request_id: string | null;
  created_at: number;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Every answered turn of a tenant, a page at a time, in conversation order then time order. */
export async function* ratedTurnPages(db: Db, tenant: string): AsyncGenerator<RatedTurn[]> {
  let after = "";
  for (;;) {
    const ids = await db
      .selectFrom("conversations")
      .select("id")
      .where("tenant", "=", tenant)
      .where("id", ">", after)
      .orderBy("id")
      .limit(CONVERSATIONS_PER_PAGE)
      .execute();
    if (ids.length === 0) return;
    after = ids[ids.length - 1]?.id as string;
    const messages = await messagesOf(
      db,
      tenant,
      ids.map((r) => r.id),
    );
    yield await turnsFrom(db, tenant, messages, null);
  }
}

/** The turns of these requests (those with a stored answer), in no particular order. */
export async function turnsOfRequests(db: Db, tenant: string, requestIds: string[]): Promise<RatedTurn[]> {
  const out: RatedTurn[] = [];
  for (const part of chunks([...new Set(requestIds)], IDS_PER_QUERY)) {
    const answers = await db
      .selectFrom("conversation_messages")
      .select("conversation_id")
      .distinct()
      .where("tenant", "=", tenant)
      .where(
        "id",
        "in",
        part.map((id) => `${id}.answer`),
      )
      .execute();
    const messages = await messagesOf(
      db,
      tenant,
      answers.map((a) => a.conversation_id),
    );
    out.push(...(await turnsFrom(db, tenant, messages, new Set(part))));
  }
  return out;
}

async function messagesOf(db: Db, tenant: string, conversationIds: string[]): Promise<MessageRow[]> {
  const out: MessageRow[] = [];
  for (const part of chunks(conversationIds, IDS_PER_QUERY)) {
    out.push(
      ...(await db
        .selectFrom("conversation_messages")
        .select(["id", "conversation_id", "parent_id", "message", "request_id", "created_at"])
        .where("tenant", "=", tenant)
        .where("conversation_id", "in", part)
        .orderBy("conversation_id")
        .orderBy("created_at")
        .orderBy("id")
        .execute()),
    );
  }
  return out;
}

/** Builds each answer's turn: the path to it is its prompt; its log row and feedback complete it. */
async function turnsFrom(
  db: Db,
  tenant: string,
  rows: MessageRow[],
  onlyRequests: Set<string> | null,
): Promise<RatedTurn[]> {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const answers = rows.filter(
    (r) => r.id.endsWith(".answer") && r.request_id !== null && (!onlyRequests || onlyRequests.has(r.request_id)),
  );
  const requestIds = answers.map((a) => a.request_id as string);
  const logged = new Map<
    string,
    {
      created_at: number;
      route: string;
      variant: string | null;
      upstream_model: string | null;
      prompt_version: string | null;
      adapter: string | null;
    }
  >();
  const feedback = new Map<string, TurnFeedback>();
  for (const part of chunks(requestIds, IDS_PER_QUERY)) {
    const logRows = await db
      .selectFrom("request_log")
      .select(["id", "created_at", "route", "variant", "upstream_model", "prompt_version", "adapter"])
      .where("id", "in", part)
      .execute();
    for (const r of logRows) logged.set(r.id, r);
    const fbRows = await db
      .selectFrom("feedback")
      .select(["request_id", "kind", "value", "updated_at"])
      .where("tenant", "=", tenant)
      .where("request_id", "in", part)
      .orderBy("updated_at")
      .execute();
    for (const f of fbRows) fold(feedback, f);
  }
  const parsed = new Map<string, ChatMessage>();
  const messageOf = (r: MessageRow): ChatMessage => {
    let m = parsed.get(r.id);
    if (!m) {
      m = JSON.parse(r.message) as ChatMessage;
      parsed.set(r.id, m);
    }
    return m;
  };
  const out: RatedTurn[] = [];
  for (const a of answers) {
    const prompt: ChatMessage[] = [];
    for (
      let p = a.parent_id ? byId.get(a.parent_id) : undefined;
      p;
      p = p.parent_id ? byId.get(p.parent_id) : undefined
    ) {
      prompt.push(messageOf(p));
    }
    prompt.reverse();
    const requestId = a.request_id as string;
    const log = logged.get(requestId);
    const fb = feedback.get(requestId);
    out.push({
      conversationId: a.conversation_id,
      requestId,
      createdAt: log?.created_at ?? a.created_at,
      route: log?.route ?? null,
      variant: log?.variant ?? null,
      model: log?.upstream_model ?? null,
      promptVersion: log?.prompt_version ?? null,
      adapter: log?.adapter ?? null,
      prompt,
      answer: messageOf(a),
      feedback: fb ? { ...fb, tags: [...new Set(fb.tags)] } : NO_FEEDBACK,
    });
  }
  return out;
}

/** Adds one feedback row to its request's folded feedback (rows arrive oldest first). */
function fold(
  into: Map<string, TurnFeedback & { starSum?: number; starCount?: number }>,
  f: { request_id: string; kind: string; value: string },
): void {
  let fb = into.get(f.request_id);
  if (!fb) {
    fb = { ...NO_FEEDBACK, tags: [], starSum: 0, starCount: 0 };
    into.set(f.request_id, fb);
  }
  const value = JSON.parse(f.value) as unknown;
  switch (f.kind) {
    case "thumbs":
      if (value === "up") fb.ups++;
      else fb.downs++;
      break;
    case "stars":
      fb.starSum = (fb.starSum ?? 0) + (value as number);
      fb.starCount = (fb.starCount ?? 0) + 1;
      fb.stars = fb.starSum / fb.starCount;
      break;
    case "tags":
      fb.tags.push(...(value as string[]));
      break;
    case "correction":
      fb.correction = value as string;
      break;
    case "comment":
      fb.comments++;
      break;
  }
}

export interface PreferencePick {
  requestId: string;
  otherRequestId: string;
  pick: "this" | "other" | "tie" | "both_bad";
}

/** Every preference given in a tenant (arena picks), oldest first. */
export async function preferencePicks(db: Db, tenant: string): Promise<PreferencePick[]> {
  const rows = await db
    .selectFrom("feedback")
    .select(["request_id", "value"])
    .where("tenant", "=", tenant)
    .where("kind", "=", "preference")
    .orderBy("created_at")
    .execute();
  return rows.map((r) => {
    const v = JSON.parse(r.value) as { other_request_id: string; pick: PreferencePick["pick"] };
    return { requestId: r.request_id, otherRequestId: v.other_request_id, pick: v.pick };
  });
}

/** Requests that carry or receive a preference: the `preference` feedback filter. */
export async function requestsWithPreference(db: Db, tenant: string): Promise<Set<string>> {
  const picks = await preferencePicks(db, tenant);
  return new Set(picks.flatMap((p) => [p.requestId, p.otherRequestId]));
}

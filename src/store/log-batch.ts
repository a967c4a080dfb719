/**
 * What every request-log writer (SQLite's, PostgreSQL's) is given and answers,
 * and the parts of writing a batch that do not depend on the database: the
 * shadow answers' similarity and where a conversation turn joins its tree.
 */
import { type ConversationTurn, conversationTitle, messageHash, messageText } from "../core/conversation.js";
import { chrF, rougeL } from "../core/similarity.js";
import type { ConversationMessageTable, ConversationTable } from "./schema.js";
import { shadowIndex } from "./shadow-columns.js";

export interface LogBatch {
  /** Each row's values in REQUEST_LOG_COLUMNS order. */
  rows: unknown[][];
  /** Per row, the conversation turn to store with it, or null. */
  turns: (ConversationTurn | null)[];
  /** Experiment exposures in EXPOSURE_COLUMNS order; a unit already recorded is left as it is. */
  exposures: unknown[][];
  /** Shadow comparisons in SHADOW_COLUMNS order; their similarity is computed by the writer, off the request path. */
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

const PRIMARY_OUTPUT = shadowIndex("primary_output");
const CANDIDATE_OUTPUT = shadowIndex("candidate_output");
const ROUGE_L = shadowIndex("rouge_l");
const CHRF = shadowIndex("chrf");

/** Fills in the lexical similarity of the two answers when both exist. */
export function withSimilarity(values: unknown[]): unknown[] {
  const primary = values[PRIMARY_OUTPUT];
  const candidate = values[CANDIDATE_OUTPUT];
  if (typeof primary !== "string" || typeof candidate !== "string" || values[ROUGE_L] != null) return values;
  const out = [...values];
  out[ROUGE_L] = rougeL(primary, candidate).f;
  out[CHRF] = chrF(primary, candidate);
  return out;
}

/** A conversation message to insert: its row without the generated key. */
export type NewMessage = Omit<ConversationMessageTable, "seq"> & { request_id: string };

export interface TurnPlan {
  messages: NewMessage[];
  /** The conversation's row, upserted: `message_count` is the number of messages this turn adds. */
  conversation: Omit<ConversationTable, "message_count"> & { message_count: number };
}

/**
 * Where one turn joins its conversation's tree: walks down from the root along
 * the messages already stored (`findChild` gives the newest stored child of a
 * parent with that content hash), and plans the rest and the answer as new
 * messages, the answer becoming the conversation's leaf. See
 * core/conversation.ts for why a tree.
 */
export function planTurn(
  t: ConversationTurn,
  findChild: (parent: string | null, hash: string) => string | undefined,
): TurnPlan {
  const messages: NewMessage[] = [];
  let parent: string | null = null;
  let depth = 0;
  let matching = true;
  const add = (id: string, m: ConversationTurn["answer"], hash: string) => {
    messages.push({
      id,
      tenant: t.tenant,
      conversation_id: t.session,
      parent_id: parent,
      depth,
      hash,
      role: m.role,
      message: JSON.stringify(m),
      text: messageText(m),
      request_id: t.requestId,
      created_at: t.createdAt,
    });
    parent = id;
    depth++;
  };
  for (let i = 0; i < t.messages.length; i++) {
    const m = t.messages[i] as ConversationTurn["answer"];
    const hash = messageHash(m);
    if (matching) {
      const found = findChild(parent, hash);
      if (found !== undefined) {
        parent = found;
        depth++;
        continue;
      }
      matching = false;
    }
    add(`${t.requestId}.${i}`, m, hash);
  }
  // Every answer is its own message, even one equal to an earlier answer: feedback is per request.
  add(`${t.requestId}.answer`, t.answer, messageHash(t.answer));
  return {
    messages,
    conversation: {
      tenant: t.tenant,
      id: t.session,
      title: conversationTitle(t.messages),
      user_id: t.user,
      route: t.route,
      leaf_id: (messages[messages.length - 1] as NewMessage).id,
      message_count: messages.length,
      created_at: t.createdAt,
      updated_at: t.createdAt,
    },
  };
}

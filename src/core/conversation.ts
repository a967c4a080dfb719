/**
 * Conversations as Switchyard stores them: a tree of messages per session.
 * Chat clients resend the whole history with every turn; a turn is stored by
 * walking the tree along the messages it already holds (matched by content
 * hash) and adding only what is new, then the answer. A regenerated answer or
 * an edited message becomes a sibling branch rather than a duplicate history.
 */
import { createHash } from "node:crypto";
import type { ChatMessage } from "./openai-types.js";

/** One answered request, as handed to the store after the answer went out. */
export interface ConversationTurn {
  tenant: string;
  session: string;
  user: string | null;
  route: string;
  requestId: string;
  createdAt: number;
  /** The request's messages, as the client sent them (history included). */
  messages: ChatMessage[];
  /** The assistant's answer (the first choice). */
  answer: ChatMessage;
}

/** The fields that make two messages the same message; order fixed so the hash is stable. */
export function messageHash(m: ChatMessage): string {
  const canonical = JSON.stringify([
    m.role,
    m.content ?? null,
    m.name ?? null,
    m.tool_calls ?? null,
    m.tool_call_id ?? null,
  ]);
  return createHash("sha256").update(canonical).digest("hex").slice(0, 32);
}

/** Plain text of a message, for search and Markdown: text parts joined, other parts named. */
export function messageText(m: ChatMessage): string {
  const parts: string[] = [];
  if (typeof m.content === "string") parts.push(m.content);
  else if (Array.isArray(m.content)) {
    for (const p of m.content) {
      if (typeof p.text === "string") parts.push(p.text);
      else parts.push(`[${String(p.type)}]`);
    }
  }
  if (Array.isArray(m.tool_calls)) {
    for (const call of m.tool_calls as Array<{ function?: { name?: unknown; arguments?: unknown } }>) {
      parts.push(`[tool call ${String(call.function?.name ?? "?")}(${String(call.function?.arguments ?? "")})]`);
    }
  }
  if (typeof m.refusal === "string") parts.push(m.refusal);
  return parts.join("\n");
}

const TITLE_CHARS = 80;

/** The first user message's first line, shortened: what a conversation list shows. */
export function conversationTitle(messages: ChatMessage[]): string | null {
  const first = messages.find((m) => m.role === "user");
  if (!first) return null;
  const line = messageText(first).trim().split("\n")[0]?.trim() ?? "";
  if (line === "") return null;
  return line.length > TITLE_CHARS ? `${line.slice(0, TITLE_CHARS - 1)}…` : line;
}

/**
 * A user's search text as an FTS5 query: every word must appear, each taken
 * literally (quoted), so punctuation or FTS5 operators in the text cannot make
 * the query invalid. A trailing `*` on a word keeps its prefix meaning.
 */
export function ftsQuery(text: string): string | null {
  const words = text.split(/\s+/).filter((w) => w !== "" && w !== "*");
  if (words.length === 0) return null;
  return words
    .map((w) => {
      const prefix = w.endsWith("*");
      const bare = prefix ? w.slice(0, -1) : w;
      return `"${bare.replaceAll('"', '""')}"${prefix ? "*" : ""}`;
    })
    .join(" ");
}

export interface StoredConversation {
  id: string;
  title: string | null;
  user: string | null;
  route: string | null;
  created_at: number;
  updated_at: number;
  messages: Array<{ id: string; role: string; message: ChatMessage; request_id: string | null; created_at: number }>;
}

/** A conversation as Markdown: a title, then each message under its role. */
export function conversationMarkdown(c: StoredConversation): string {
  const lines = [`# ${c.title ?? "Untitled conversation"}`, ""];
  const meta = [`id \`${c.id}\``, `started ${new Date(c.created_at).toISOString()}`];
  if (c.user) meta.push(`user \`${c.user}\``);
  if (c.route) meta.push(`route \`${c.route}\``);
  lines.push(`_${meta.join(" · ")}_`, "");
  for (const m of c.messages) {
    lines.push(`## ${m.role}`, "", messageText(m.message), "");
  }
  return lines.join("\n");
}

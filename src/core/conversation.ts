/**
 * Conversations as Switchyard stores them: a tree of messages per session.
 * Chat clients resend the whole history with every turn; a turn is stored by
 * walking the tree along the messages it already holds (matched by content
 * hash) and adding only what is new, then the answer. A regenerated answer or
 * an edited message becomes a sibling branch rather than a duplicate history.
 */
import crypto from "node:crypto";
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

/**
 * The fields that make two messages the same message, in a normal form: a
 * client resends an earlier answer in whatever shape its SDK rebuilt it (text
 * parts instead of a string, null content instead of "", tool calls with more
 * or fewer fields), and each such variation must still match.
 */
export function messageHash(m: ChatMessage): string {
  const canonical = JSON.stringify([
    m.role,
    normalContent(m.content),
    m.name ?? null,
    normalToolCalls(m.tool_calls),
    m.tool_call_id ?? null,
  ]);
  return sha256Hex(canonical).slice(0, 32);
}

// crypto.hash (Node 20.12+) is one call instead of three objects: twice as fast on a short
// message, and the log writer hashes every message it stores.
// Read from the module object, not imported by name: an older Node 20 has no such export.
const sha256Hex: (s: string) => string =
  typeof crypto.hash === "function"
    ? (s) => crypto.hash("sha256", s, "hex")
    : (s) => crypto.createHash("sha256").update(s).digest("hex");

function normalContent(content: ChatMessage["content"] | undefined): unknown {
  if (content === null || content === undefined || content === "") return "";
  if (typeof content === "string") return content;
  if (content.every((p) => p.type === "text" && typeof p.text === "string")) return content.map((p) => p.text).join("");
  return content.map((p) => sortKeys(p));
}

function normalToolCalls(calls: unknown): unknown {
  if (!Array.isArray(calls) || calls.length === 0) return null;
  return calls.map((c: { id?: unknown; type?: unknown; function?: { name?: unknown; arguments?: unknown } }) => [
    c.id ?? null,
    c.type ?? "function",
    c.function?.name ?? null,
    c.function?.arguments ?? null,
  ]);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v !== "object" || v === null) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
  );
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

/** A user's search text as words, each taken literally; a trailing `*` makes one a prefix. */
export function searchWords(text: string): { word: string; prefix: boolean }[] {
  return text
    .split(/\s+/)
    .filter((w) => w !== "" && w !== "*")
    .map((w) => (w.endsWith("*") ? { word: w.slice(0, -1), prefix: true } : { word: w, prefix: false }));
}

/**
 * A user's search text as an FTS5 query: every word must appear, each taken
 * literally (quoted), so punctuation or FTS5 operators in the text cannot make
 * the query invalid. A trailing `*` on a word keeps its prefix meaning.
 */
export function ftsQuery(text: string): string | null {
  const words = searchWords(text);
  if (words.length === 0) return null;
  return words.map((w) => `"${w.word.replaceAll('"', '""')}"${w.prefix ? "*" : ""}`).join(" ");
}

export interface StoredConversation {
  id: string;
  title: string | null;
  user: string | null;
  route: string | null;
  created_at: number;
  updated_at: number;
  messages: Array<{
    id: string;
    parent_id?: string | null;
    role: string;
    message: ChatMessage;
    request_id: string | null;
    created_at: number;
  }>;
}

/** A conversation as Markdown: a title, then each message under its role. */
export function conversationMarkdown(c: StoredConversation): string {
  const lines = [`# ${c.title ?? "Untitled conversation"}`, ""];
  const meta = [`id \`${c.id}\``, `started ${new Date(c.created_at).toISOString()}`];
  if (c.user) meta.push(`user \`${c.user}\``);
  if (c.route) meta.push(`route \`${c.route}\``);
  lines.push(`_${meta.join(" · ")}_`, "");
  let previous: string | null = null;
  for (const m of c.messages) {
    // With every branch shown, a message that does not follow the one above says what it answers.
    const branch = m.parent_id !== undefined && m.parent_id !== previous && previous !== null;
    lines.push(branch ? `## ${m.role} (another branch, after \`${m.parent_id}\`)` : `## ${m.role}`, "");
    lines.push(messageText(m.message), "");
    previous = m.id;
  }
  return lines.join("\n");
}

/**
 * A replay dataset: one item per line of a JSONL file, or one per logged
 * answer chosen with the export filters.
 *
 *   {"messages": [{"role": "user", "content": "2+2?"}], "reference": "4"}
 *   {"messages": [...], "schema": {"type": "object", "required": ["answer"]}}
 *   {"messages": [...], "contains": ["refund"], "regex": "^\\d+$", "variables": {"product": "X"}}
 *
 * An SFT row (`{"messages": [..., {"role": "assistant", ...}]}`, what
 * `switchyard export sft` writes) is an item too: its last assistant message
 * becomes the reference and is not sent.
 */
import { z } from "zod";
import { messageText } from "../conversation.js";
import type { ChatMessage } from "../openai-types.js";
import { compileSchema } from "./scorers.js";

const message = z.looseObject({
  role: z.enum(["system", "user", "assistant", "tool", "developer"]),
  content: z.unknown(),
});

export const replayItemSchema = z.strictObject({
  /** Your own id for the item, echoed in the results. */
  id: z.union([z.string(), z.number()]).optional(),
  messages: z.array(message).min(1, "needs at least one message"),
  /** The answer wanted: exact, contains (without `contains`), and the similarity scorers compare with it. */
  reference: z.string().optional(),
  /** A JSON Schema the answer (parsed as JSON) must satisfy. */
  schema: z.union([z.record(z.string(), z.unknown()), z.boolean()]).optional(),
  /** Texts the answer must contain (case-insensitive); the reference when absent. */
  contains: z.union([z.string(), z.array(z.string())]).optional(),
  /** A regular expression (JavaScript syntax) the answer must match. */
  regex: z.string().optional(),
  /** Variables for a candidate whose variant has a prompt. */
  variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

export interface ReplayItem {
  id?: string | number | undefined;
  messages: ChatMessage[];
  reference?: string | undefined;
  schema?: Record<string, unknown> | boolean | undefined;
  contains?: string[] | undefined;
  regex?: string | undefined;
  variables?: Record<string, string> | undefined;
}

/** One parsed JSONL line, or what is wrong with it. */
export function parseReplayLine(line: string, lineNo: number): ReplayItem | string {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (e) {
    return `line ${lineNo}: not JSON (${(e as Error).message})`;
  }
  const r = replayItemSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    return `line ${lineNo}: ${i?.path.map(String).join(".") || "(item)"}: ${i?.message ?? "invalid"}`;
  }
  const v = r.data;
  let messages = v.messages as ChatMessage[];
  let reference = v.reference;
  const last = messages[messages.length - 1] as ChatMessage;
  if (reference === undefined && last.role === "assistant" && messages.length > 1) {
    reference = messageText(last);
    messages = messages.slice(0, -1);
  }
  if (messages[messages.length - 1]?.role === "assistant") {
    return `line ${lineNo}: messages: ends with an assistant message; the last message must be the one to answer`;
  }
  if (v.regex !== undefined) {
    try {
      new RegExp(v.regex);
    } catch (e) {
      return `line ${lineNo}: regex: ${(e as Error).message}`;
    }
  }
  if (v.schema !== undefined) {
    const c = compileSchema(v.schema);
    if (typeof c === "string") return `line ${lineNo}: schema: ${c}`;
  }
  return {
    ...(v.id !== undefined ? { id: v.id } : {}),
    messages,
    ...(reference !== undefined ? { reference } : {}),
    ...(v.schema !== undefined ? { schema: v.schema } : {}),
    ...(v.contains !== undefined ? { contains: Array.isArray(v.contains) ? v.contains : [v.contains] } : {}),
    ...(v.regex !== undefined ? { regex: v.regex } : {}),
    ...(v.variables !== undefined
      ? { variables: Object.fromEntries(Object.entries(v.variables).map(([k, x]) => [k, String(x)])) }
      : {}),
  };
}

/** Every item of a JSONL text (blank lines skipped), or every problem found, each naming its line. */
export function parseReplayJsonl(text: string): { ok: true; items: ReplayItem[] } | { ok: false; problems: string[] } {
  const items: ReplayItem[] = [];
  const problems: string[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const r = parseReplayLine(line, i + 1);
    if (typeof r === "string") problems.push(r);
    else items.push(r);
  }
  if (problems.length > 0) return { ok: false, problems };
  if (items.length === 0) return { ok: false, problems: ["the file has no items"] };
  return { ok: true, items };
}

/**
 * Fine-tuning datasets from answered, rated traffic: what an example is, which
 * split a conversation falls in, what a feedback filter keeps, redaction, and
 * the summary. Pure: the store supplies the turns, the CLI and API write rows.
 */
import { createHash } from "node:crypto";
import type { franc as Franc } from "franc-min";
import { messageText } from "./conversation.js";
import type { ChatMessage } from "./openai-types.js";

/** An answered request with its conversation up to the answer, and what users said about it. */
export interface RatedTurn {
  conversationId: string;
  requestId: string;
  createdAt: number;
  route: string | null;
  variant: string | null;
  model: string | null;
  /** `NAME@VERSION` of the prompt the variant sent, when it had one. */
  promptVersion?: string | null;
  /** The LoRA adapter a local model answered with (request_log.adapter); null or absent for none. */
  adapter?: string | null;
  /** The messages the answer replied to (the conversation's path before it). */
  prompt: ChatMessage[];
  answer: ChatMessage;
  feedback: TurnFeedback;
}

/** Every user's feedback on one answer, folded together. */
export interface TurnFeedback {
  ups: number;
  downs: number;
  /** Mean of the users' stars, or null when nobody rated. */
  stars: number | null;
  tags: string[];
  /** The newest correction given. */
  correction: string | null;
  comments: number;
}

/** Where a DPO pair comes from. */
export const DPO_SOURCES = ["preference", "correction", "votes"] as const;
export type DpoSource = (typeof DPO_SOURCES)[number];

export const NO_FEEDBACK: TurnFeedback = { ups: 0, downs: 0, stars: null, tags: [], correction: null, comments: 0 };

/** "Up" only when someone voted up and nobody down (and the reverse): a split vote is neither. */
export function thumbsOf(f: TurnFeedback): "up" | "down" | null {
  if (f.ups > 0 && f.downs === 0) return "up";
  if (f.downs > 0 && f.ups === 0) return "down";
  return null;
}

// ── splits ─────────────────────────────────────────────────────────────────

export const SPLITS = ["train", "validation", "test"] as const;
export type Split = (typeof SPLITS)[number];

/** Shares of train, validation and test; they sum to 1. */
export type SplitRatios = [number, number, number];

/** "80/10/10", "80,10,10" or "0.8,0.1,0.1": three non-negative numbers, normalised to sum 1. */
export function parseSplitRatios(text: string): SplitRatios {
  const parts = text.split(/[/,:]/).map((p) => p.trim());
  const [train, validation, test] = parts.map(Number);
  if (
    parts.length !== 3 ||
    parts.some((p) => p === "" || !Number.isFinite(Number(p)) || Number(p) < 0) ||
    train === undefined ||
    validation === undefined ||
    test === undefined
  ) {
    throw new Error(`expected three non-negative numbers for train/validation/test, like 80/10/10 (got '${text}')`);
  }
  const sum = train + validation + test;
  if (sum <= 0) throw new Error(`the split ratios must not all be 0 (got '${text}')`);
  return [train / sum, validation / sum, test / sum];
}

/**
 * The split of a conversation: the first 52 bits of SHA-256(seed + ":" +
 * conversation id) as a number in [0, 1), against the cumulative ratios. The
 * same on every run and machine, and every example of a conversation lands in
 * the same split, so no conversation is both trained on and tested on.
 */
export function splitOf(conversationId: string, ratios: SplitRatios, seed: string): Split {
  const digest = createHash("sha256").update(`${seed}:${conversationId}`).digest();
  const x = (digest.readUIntBE(0, 6) * 16 + (digest.readUInt8(6) >> 4)) / 2 ** 52;
  if (x < ratios[0]) return "train";
  if (x < ratios[0] + ratios[1]) return "validation";
  return "test";
}

// ── filters ────────────────────────────────────────────────────────────────

export interface TurnFilter {
  from?: number | undefined;
  to?: number | undefined;
  routes?: string[] | undefined;
  variants?: string[] | undefined;
  models?: string[] | undefined;
  /** Prompt versions: `NAME@VERSION` for one version, `NAME` for any version of that prompt. */
  prompts?: string[] | undefined;
  /** LoRA adapters of a llama-cpp backend; "none" matches answers of the base model. */
  adapters?: string[] | undefined;
  /** "thumbs:up", "thumbs:down", or a kind alone ("correction", "comment", "stars", "tags", "thumbs") meaning it was given. */
  feedback?: string[] | undefined;
  minStars?: number | undefined;
  /** Any of these tags. */
  tags?: string[] | undefined;
  /** ISO 639-3 codes ("eng", "fra"), as detected from the user's messages; "und" when undetermined. */
  languages?: string[] | undefined;
}

const FEEDBACK_FILTERS = new Set([
  "thumbs",
  "thumbs:up",
  "thumbs:down",
  "stars",
  "tags",
  "comment",
  "correction",
  "preference",
]);

/** The filter's problem, naming the part; undefined when it is valid. */
export function checkFeedbackFilter(f: string): string | undefined {
  if (FEEDBACK_FILTERS.has(f)) return undefined;
  return `unknown feedback filter '${f}' (expected one of ${[...FEEDBACK_FILTERS].join(", ")})`;
}

/** Whether a logged `NAME@VERSION` is the version `want` names, or any version of the prompt `want` names. */
export function matchesPrompt(logged: string | null, want: string): boolean {
  if (logged === null) return false;
  return want.includes("@") ? logged === want : logged.startsWith(`${want}@`);
}

/** Whether a turn passes every part of the filter except the language (which costs a detection). */
export function passesFilter(t: RatedTurn, f: TurnFilter, hasPreference = false): boolean {
  if (f.from !== undefined && t.createdAt < f.from) return false;
  if (f.to !== undefined && t.createdAt >= f.to) return false;
  if (f.routes && !f.routes.includes(t.route ?? "")) return false;
  if (f.variants && !f.variants.includes(t.variant ?? "")) return false;
  if (f.models && !f.models.includes(t.model ?? "")) return false;
  if (f.prompts && !f.prompts.some((p) => matchesPrompt(t.promptVersion ?? null, p))) return false;
  if (f.adapters && !f.adapters.includes(t.adapter ?? "none")) return false;
  const fb = t.feedback;
  if (f.minStars !== undefined && (fb.stars === null || fb.stars < f.minStars)) return false;
  if (f.tags && !fb.tags.some((tag) => f.tags?.includes(tag))) return false;
  for (const want of f.feedback ?? []) {
    const ok =
      want === "thumbs"
        ? fb.ups + fb.downs > 0
        : want === "thumbs:up"
          ? thumbsOf(fb) === "up"
          : want === "thumbs:down"
            ? thumbsOf(fb) === "down"
            : want === "stars"
              ? fb.stars !== null
              : want === "tags"
                ? fb.tags.length > 0
                : want === "comment"
                  ? fb.comments > 0
                  : want === "correction"
                    ? fb.correction !== null
                    : want === "preference"
                      ? hasPreference
                      : false;
    if (!ok) return false;
  }
  return true;
}

let franc: typeof Franc | undefined;

/**
 * Loads the language detector (franc's trigram tables): exports call it first,
 * so a gateway that never exports never holds them.
 */
export async function loadLanguageDetector(): Promise<void> {
  franc ??= (await import("franc-min")).franc;
}

/**
 * The language of the user's side of an example (ISO 639-3, "und" when too
 * short to tell). Needs `loadLanguageDetector` to have run.
 */
export function languageOf(prompt: ChatMessage[]): string {
  if (!franc) throw new Error("languageOf called before loadLanguageDetector");
  const text = prompt
    .filter((m) => m.role === "user")
    .map(messageText)
    .join("\n");
  // 400 characters tell the language as well as more, at a third of the cost of 2 000 (~130 µs).
  // Under 40 characters franc's trigram guesses are mostly wrong ("What is 2+2?" came out Italian),
  // so such short text is "und".
  return franc(text.slice(0, 400), { minLength: 40 });
}

// ── redaction ──────────────────────────────────────────────────────────────

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
// Phone-number candidates: an optional +, then digits with spaces, dots, dashes or brackets between
// groups; ends on a digit so trailing punctuation stays. looksLikePhone then decides.
const PHONE_CANDIDATE = /(?<![\w+.-])\+?\(?\d(?:[\s.\-()]{0,2}\d){6,16}(?![\w.-]\d)/g;

/**
 * A candidate is a phone number when it has 8 to 15 digits and either starts
 * with + (international form) or is split into groups by separators: a bare
 * run of digits is more often an id, an amount or a timestamp. Dates
 * (2026-11-23, 23.11.2026) and IPv4 addresses are not phone numbers.
 */
function looksLikePhone(s: string): boolean {
  const digits = s.replace(/\D/g, "").length;
  if (digits < 8 || digits > 15) return false;
  if (/^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{4}$/.test(s)) return false;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(s)) return false;
  return s.startsWith("+") || /[\s.\-()]/.test(s);
}

export function redactText(text: string): string {
  return text.replace(EMAIL, "[EMAIL]").replace(PHONE_CANDIDATE, (m) => (looksLikePhone(m) ? "[PHONE]" : m));
}

/** The message with e-mail addresses and phone numbers replaced in its text, parts and tool-call arguments. */
export function redactMessage(m: ChatMessage): ChatMessage {
  const out: ChatMessage = { ...m };
  if (typeof m.content === "string") out.content = redactText(m.content);
  else if (Array.isArray(m.content)) {
    out.content = m.content.map((p) => (typeof p.text === "string" ? { ...p, text: redactText(p.text) } : p));
  }
  if (Array.isArray(m.tool_calls)) {
    out.tool_calls = m.tool_calls.map((c: { function?: { arguments?: unknown } }) =>
      typeof c.function?.arguments === "string"
        ? { ...c, function: { ...c.function, arguments: redactText(c.function.arguments) } }
        : c,
    );
  }
  return out;
}

// ── examples ───────────────────────────────────────────────────────────────

export interface ExampleOptions {
  /** Put this system message first (replacing one already there). */
  system?: string | undefined;
  redact?: boolean | undefined;
}

/** The message list of an example: system prompt applied, redacted if asked. */
export function exampleMessages(messages: ChatMessage[], o: ExampleOptions): ChatMessage[] {
  let out = messages;
  if (o.system !== undefined) {
    const rest = out[0]?.role === "system" ? out.slice(1) : out;
    out = [{ role: "system", content: o.system }, ...rest];
  }
  return o.redact ? out.map(redactMessage) : out;
}

/** A row's identity for de-duplication: equal rows give equal keys. */
export function rowKey(row: unknown): string {
  return createHash("sha256").update(JSON.stringify(row)).digest("base64url").slice(0, 16);
}

/** A message for a JSONL row: role and content, plus tool calls and names when present. */
export function trainingMessage(m: ChatMessage): ChatMessage {
  const out: ChatMessage = { role: m.role, content: m.content };
  if (m.name !== undefined) out.name = m.name;
  if (m.tool_calls !== undefined) out.tool_calls = m.tool_calls;
  if (m.tool_call_id !== undefined) out.tool_call_id = m.tool_call_id;
  return out;
}

/** The prompt as one string (for `--prompt-format strings`): each message as "role: text". */
export function promptAsText(prompt: ChatMessage[]): string {
  if (prompt.length === 1 && prompt[0]?.role === "user") return messageText(prompt[0]);
  return prompt.map((m) => `${m.role}: ${messageText(m)}`).join("\n\n");
}

// ── summary ────────────────────────────────────────────────────────────────

export interface ExportSummary {
  kind: "sft" | "dpo";
  rows: number;
  splits: Record<Split, number>;
  languages: Record<string, number>;
  /** SFT: thumbs up/down/none, with stars, corrected. DPO: rows per source. */
  feedback: Record<string, number>;
  duplicates_dropped: number;
  /** Turns or pairs left out, per reason. */
  skipped: Record<string, number>;
}

export function emptySummary(kind: "sft" | "dpo"): ExportSummary {
  return {
    kind,
    rows: 0,
    splits: { train: 0, validation: 0, test: 0 },
    languages: {},
    feedback: {},
    duplicates_dropped: 0,
    skipped: {},
  };
}

export function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

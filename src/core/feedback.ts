/**
 * What feedback may say, checked before anything is stored. Pure: the server
 * looks the request up and writes; this only decides whether the body makes
 * sense and what exactly is kept.
 *
 * | kind       | value                                                        |
 * |------------|--------------------------------------------------------------|
 * | thumbs     | "up" or "down"                                               |
 * | stars      | an integer 1–5                                               |
 * | comment    | a non-empty string (≤ 10 000 characters)                     |
 * | tags       | 1–32 distinct non-empty strings (≤ 64 characters each)       |
 * | correction | the answer the user wanted: a non-empty string (≤ 100 000)   |
 * | preference | { other_request_id, pick: "this" | "other" | "tie" | "both_bad" } |
 */
import type { BodyProblem } from "./validate-chat.js";

export const FEEDBACK_KINDS = ["thumbs", "stars", "comment", "tags", "correction", "preference"] as const;
export type FeedbackKind = (typeof FEEDBACK_KINDS)[number];
export const PREFERENCE_PICKS = ["this", "other", "tie", "both_bad"] as const;

export type FeedbackValue =
  | { kind: "thumbs"; value: "up" | "down" }
  | { kind: "stars"; value: number }
  | { kind: "comment"; value: string }
  | { kind: "tags"; value: string[] }
  | { kind: "correction"; value: string }
  | { kind: "preference"; value: { other_request_id: string; pick: (typeof PREFERENCE_PICKS)[number] } };

export type FeedbackInput = FeedbackValue & { requestId: string; user: string | undefined };

const LIMITS = { comment: 10_000, correction: 100_000, tag: 64, tags: 32, user: 256 } as const;

function nonEmptyString(v: unknown, max: number, path: string): BodyProblem | undefined {
  if (typeof v !== "string" || v.trim() === "") return { path, problem: "expected a non-empty string" };
  if (v.length > max) return { path, problem: `must be at most ${max} characters (got ${v.length})` };
  return undefined;
}

/** Either the normalised feedback or the first problem, naming the field. */
export function parseFeedback(body: unknown): FeedbackInput | BodyProblem {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { path: "(body)", problem: "expected a JSON object" };
  }
  const b = body as Record<string, unknown>;
  if (typeof b.request_id !== "string" || b.request_id === "") {
    return { path: "request_id", problem: "expected the x-switchyard-request-id of the answer" };
  }
  if (typeof b.kind !== "string" || !(FEEDBACK_KINDS as readonly string[]).includes(b.kind)) {
    return { path: "kind", problem: `expected one of ${FEEDBACK_KINDS.join(", ")}` };
  }
  if (b.user !== undefined && (typeof b.user !== "string" || b.user.length > LIMITS.user)) {
    return { path: "user", problem: `expected a string of at most ${LIMITS.user} characters` };
  }
  const user = (b.user as string | undefined) || undefined;
  const base = { requestId: b.request_id, user };
  const v = b.value;
  switch (b.kind as FeedbackKind) {
    case "thumbs":
      if (v !== "up" && v !== "down") return { path: "value", problem: 'expected "up" or "down"' };
      return { ...base, kind: "thumbs", value: v };
    case "stars":
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 5) {
        return { path: "value", problem: "expected an integer from 1 to 5" };
      }
      return { ...base, kind: "stars", value: v };
    case "comment": {
      const p = nonEmptyString(v, LIMITS.comment, "value");
      return p ?? { ...base, kind: "comment", value: v as string };
    }
    case "correction": {
      const p = nonEmptyString(v, LIMITS.correction, "value");
      return p ?? { ...base, kind: "correction", value: v as string };
    }
    case "tags": {
      if (!Array.isArray(v) || v.length === 0 || v.length > LIMITS.tags) {
        return { path: "value", problem: `expected a list of 1 to ${LIMITS.tags} tags` };
      }
      for (const [i, t] of v.entries()) {
        const p = nonEmptyString(t, LIMITS.tag, `value[${i}]`);
        if (p) return p;
      }
      return { ...base, kind: "tags", value: [...new Set(v as string[])] };
    }
    case "preference": {
      if (typeof v !== "object" || v === null || Array.isArray(v)) {
        return {
          path: "value",
          problem: 'expected { "other_request_id": "...", "pick": "this" | "other" | "tie" | "both_bad" }',
        };
      }
      const o = v as Record<string, unknown>;
      if (typeof o.other_request_id !== "string" || o.other_request_id === "") {
        return { path: "value.other_request_id", problem: "expected the request id of the other answer" };
      }
      if (o.other_request_id === b.request_id) {
        return { path: "value.other_request_id", problem: "must differ from request_id" };
      }
      if (typeof o.pick !== "string" || !(PREFERENCE_PICKS as readonly string[]).includes(o.pick)) {
        return { path: "value.pick", problem: `expected one of ${PREFERENCE_PICKS.join(", ")}` };
      }
      return {
        ...base,
        kind: "preference",
        value: { other_request_id: o.other_request_id, pick: o.pick as (typeof PREFERENCE_PICKS)[number] },
      };
    }
  }
}

export function isBodyProblem(v: FeedbackInput | BodyProblem): v is BodyProblem {
  return "problem" in v;
}

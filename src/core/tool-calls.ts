/**
 * Comparing the tool calls of two answers to the same request (a shadow
 * candidate against the primary): which functions each called, and with what
 * arguments. Order does not matter (parallel calls come in any order), nor does
 * the formatting of the arguments' JSON (key order, spaces).
 */
import type { ChatMessage } from "./openai-types.js";
import { stableJson } from "./stable-json.js";

export interface ToolCallComparison {
  primary_tool_calls: number;
  candidate_tool_calls: number;
  /** 1 when both called the same functions (as a multiset), 0 when not; null when neither called any. */
  tool_names_match: number | null;
  /** 1 when both made the same calls with equal arguments, 0 when not; null when neither called any. */
  tool_args_match: number | null;
}

interface Call {
  name: string;
  args: string;
}

/** An answer's tool calls, each with its arguments in a canonical JSON form. */
export function toolCallsOf(message: ChatMessage | null | undefined): Call[] {
  const calls = message?.tool_calls;
  if (!Array.isArray(calls)) return [];
  return calls.map((c: { function?: { name?: unknown; arguments?: unknown } }) => ({
    name: String(c?.function?.name ?? ""),
    args: canonicalJson(c?.function?.arguments),
  }));
}

/** JSON text with object keys sorted, so equal arguments compare equal; text that is not JSON stays as it is. */
export function canonicalJson(text: unknown): string {
  if (typeof text !== "string") return JSON.stringify(text ?? null);
  try {
    return stableJson(JSON.parse(text));
  } catch {
    return text;
  }
}

const sameMultiset = (a: string[], b: string[]) => {
  if (a.length !== b.length) return false;
  const x = [...a].sort();
  const y = [...b].sort();
  return x.every((v, i) => v === y[i]);
};

export function compareToolCalls(primary: Call[], candidate: Call[]): ToolCallComparison {
  const none = primary.length === 0 && candidate.length === 0;
  return {
    primary_tool_calls: primary.length,
    candidate_tool_calls: candidate.length,
    tool_names_match: none
      ? null
      : Number(
          sameMultiset(
            primary.map((c) => c.name),
            candidate.map((c) => c.name),
          ),
        ),
    tool_args_match: none
      ? null
      : Number(
          sameMultiset(
            primary.map((c) => JSON.stringify([c.name, c.args])),
            candidate.map((c) => JSON.stringify([c.name, c.args])),
          ),
        ),
  };
}

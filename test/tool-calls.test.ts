/** Comparing two answers' tool calls, as shadow comparisons do. */
import { describe, expect, it } from "vitest";
import { canonicalJson, compareToolCalls, toolCallsOf } from "../src/core/tool-calls.js";

const answer = (...calls: Array<[string, string]>) => ({
  role: "assistant" as const,
  content: null,
  tool_calls: calls.map(([name, args], i) => ({ id: `c${i}`, type: "function", function: { name, arguments: args } })),
});

describe("compareToolCalls", () => {
  it("agrees on the same calls in another order with other JSON formatting", () => {
    const a = toolCallsOf(answer(["w", '{"city":"Oslo","d":[1,{"b":2,"a":1}]}'], ["t", "{}"]));
    const b = toolCallsOf(answer(["t", "{ }"], ["w", '{"d":[1,{"a":1,"b":2}],  "city":"Oslo"}']));
    expect(compareToolCalls(a, b)).toEqual({
      primary_tool_calls: 2,
      candidate_tool_calls: 2,
      tool_names_match: 1,
      tool_args_match: 1,
    });
  });

  it("tells names from arguments, counts repeats, and leaves answers without calls uncompared", () => {
    expect(
      compareToolCalls(toolCallsOf(answer(["w", '{"c":1}'])), toolCallsOf(answer(["w", '{"c":2}']))),
    ).toMatchObject({
      tool_names_match: 1,
      tool_args_match: 0,
    });
    expect(
      compareToolCalls(toolCallsOf(answer(["w", "{}"], ["w", "{}"])), toolCallsOf(answer(["w", "{}"]))),
    ).toMatchObject({
      tool_names_match: 0,
      tool_args_match: 0,
    });
    expect(
      compareToolCalls(toolCallsOf(answer(["w", "{}"])), toolCallsOf({ role: "assistant", content: "text" })),
    ).toMatchObject({
      primary_tool_calls: 1,
      candidate_tool_calls: 0,
      tool_names_match: 0,
    });
    expect(compareToolCalls([], [])).toMatchObject({ tool_names_match: null, tool_args_match: null });
  });

  it("keeps arguments that are not JSON as they are", () => {
    expect(canonicalJson("{not json")).toBe("{not json");
    expect(canonicalJson('{"b":1,"a":2}')).toBe('{"a":2,"b":1}');
  });
});

/**
 * Function tools of another API (Anthropic's custom tools, the Responses API's
 * flat function tools) as chat completions' `tools`: one place that checks the
 * list and each definition's name, so both inbound APIs refuse alike.
 */
import { isObject } from "../core/openai-shape.js";
import { errors } from "../errors.js";

export interface ChatFunctionTool {
  type: "function";
  function: Record<string, unknown>;
}

/** What a definition says, read by the API's own `read`; `parameters` is its JSON schema. */
export interface FunctionDefinition {
  name: unknown;
  description?: unknown;
  parameters?: unknown;
  strict?: unknown;
}

/**
 * The chat tools for `tools`, or undefined when there are none. `read` turns
 * one definition of the API into its parts, throwing for a kind of tool the
 * translation does not carry.
 */
export function chatTools(
  tools: unknown,
  read: (tool: Record<string, unknown>, at: string) => FunctionDefinition,
): ChatFunctionTool[] | undefined {
  if (tools == null) return undefined;
  if (!Array.isArray(tools)) throw errors.invalidBody("tools", "expected an array");
  if (tools.length === 0) return undefined;
  return tools.map((t, i) => {
    const at = `tools[${i}]`;
    if (!isObject(t)) throw errors.invalidBody(at, "expected an object");
    const def = read(t, at);
    if (typeof def.name !== "string" || def.name === "") {
      throw errors.invalidBody(`${at}.name`, "expected a non-empty string");
    }
    const fn: Record<string, unknown> = { name: def.name };
    if (typeof def.description === "string") fn.description = def.description;
    if (def.parameters != null) fn.parameters = def.parameters;
    if (typeof def.strict === "boolean") fn.strict = def.strict;
    return { type: "function", function: fn };
  });
}

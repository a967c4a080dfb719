/**
 * OpenAI `tools`, `tool_choice`, `parallel_tool_calls` and `response_format` →
 * Anthropic `tools`, `tool_choice` and `output_config`, as pure functions.
 *
 * JSON mode (`json_object`) has no Anthropic equivalent without a schema, so it
 * is asked for as a call of one forced tool, `JSON_OBJECT_TOOL`, whose input is
 * any object; response.ts and stream.ts turn that call back into the answer's
 * text. A JSON schema (`json_schema`) maps to Anthropic's own structured output.
 */
import { isObject } from "../../core/openai-shape.js";
import type { ChatRequest } from "../../core/openai-types.js";
import { errors } from "../../errors.js";
import type { AnthropicRequest, AnthropicTool, AnthropicToolChoice } from "./types.js";

/** The forced tool that carries a JSON-mode answer; its input becomes the message text. */
export const JSON_OBJECT_TOOL = "json_object";

type ToolFields = Pick<AnthropicRequest, "tools" | "tool_choice" | "output_config">;

/** Anthropic's tool fields for a request, or none when it asks for no tools and no JSON. */
export function toAnthropicTools(body: ChatRequest): ToolFields {
  const out: ToolFields = {};
  const tools = translateToolDefinitions(body.tools);
  const format = body.response_format;
  const json = jsonFormat(format);
  if (json === "object") {
    if (tools.length > 0) {
      throw untranslatable("'response_format' json_object together with 'tools' (JSON mode is a forced tool call)");
    }
    out.tools = [
      {
        name: JSON_OBJECT_TOOL,
        description: "Respond with the answer as a JSON object.",
        input_schema: { type: "object" },
      },
    ];
    out.tool_choice = { type: "tool", name: JSON_OBJECT_TOOL };
    return out;
  }
  if (json) out.output_config = { format: { type: "json_schema", schema: json.schema } };
  if (tools.length === 0) {
    // A choice that asks for a tool call with no tool to call cannot be honoured.
    if (body.tool_choice === "required" || isObject(body.tool_choice)) {
      throw untranslatable("'tool_choice' that requires a tool when 'tools' is empty");
    }
    return out;
  }
  out.tools = tools;
  const choice = translateToolChoice(body.tool_choice, tools);
  if (body.parallel_tool_calls === false && choice.type !== "none") choice.disable_parallel_tool_use = true;
  out.tool_choice = choice;
  return out;
}

function translateToolDefinitions(tools: unknown): AnthropicTool[] {
  if (tools == null) return [];
  if (!Array.isArray(tools)) throw errors.invalidBody("tools", "expected an array");
  return tools.map((tool, i) => {
    const where = `tools[${i}]`;
    if (!isObject(tool)) throw errors.invalidBody(where, "expected an object");
    if (tool.type !== "function") {
      throw untranslatable(`'${String(tool.type)}' tools (${where}.type; only function tools are translated)`);
    }
    const fn = tool.function;
    if (!isObject(fn) || typeof fn.name !== "string" || fn.name === "") {
      throw errors.invalidBody(`${where}.function.name`, "expected a non-empty string");
    }
    if (fn.parameters != null && !isObject(fn.parameters)) {
      throw errors.invalidBody(`${where}.function.parameters`, "expected a JSON schema object");
    }
    const out: AnthropicTool = {
      name: fn.name,
      // OpenAI lets a function take no parameters; Anthropic always wants a schema.
      input_schema: (fn.parameters as Record<string, unknown> | undefined) ?? { type: "object", properties: {} },
    };
    if (typeof fn.description === "string" && fn.description !== "") out.description = fn.description;
    if (fn.strict === true) out.strict = true;
    return out;
  });
}

function translateToolChoice(choice: unknown, tools: AnthropicTool[]): AnthropicToolChoice {
  if (choice == null || choice === "auto") return { type: "auto" };
  if (choice === "none") return { type: "none" };
  if (choice === "required") return { type: "any" };
  if (isObject(choice) && choice.type === "function" && isObject(choice.function)) {
    const name = choice.function.name;
    if (typeof name !== "string" || !tools.some((t) => t.name === name)) {
      throw errors.invalidBody("tool_choice.function.name", `names no tool in 'tools' (got ${JSON.stringify(name)})`);
    }
    return { type: "tool", name };
  }
  throw untranslatable(`'tool_choice' ${JSON.stringify(choice)} (translated: "auto", "none", "required", a function)`);
}

/** "object" for JSON mode, the schema for structured output, undefined for plain text. */
function jsonFormat(format: unknown): "object" | { schema: Record<string, unknown> } | undefined {
  if (format == null) return undefined;
  if (!isObject(format)) throw errors.invalidBody("response_format", "expected an object");
  switch (format.type) {
    case "text":
      return undefined;
    case "json_object":
      return "object";
    case "json_schema": {
      const spec = format.json_schema;
      if (!isObject(spec) || !isObject(spec.schema)) {
        throw errors.invalidBody("response_format.json_schema.schema", "expected a JSON schema object");
      }
      return { schema: spec.schema };
    }
    default:
      throw untranslatable(`'response_format' of type ${JSON.stringify(format.type)}`);
  }
}

function untranslatable(what: string) {
  return errors.untranslatable("anthropic", what);
}

/** True when the answer arrives as a call of `JSON_OBJECT_TOOL` and must be read back as text. */
export function asksForJsonObject(body: ChatRequest): boolean {
  return isObject(body.response_format) && body.response_format.type === "json_object";
}

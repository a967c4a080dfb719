/**
 * OpenAI Responses request (`POST /v1/responses`, what the Vercel AI SDK's
 * default OpenAI provider and `client.responses` send) → the chat request
 * Switchyard routes. Shapes: platform.openai.com/docs/api-reference/responses.
 *
 * `previous_response_id` and `item_reference` items are served from
 * Switchyard's own store (`lookup`), so they work over any backend. What the
 * translation cannot carry is refused with a 400 naming the field.
 */
import { isObject } from "../../core/openai-shape.js";
import type { ChatContentPart, ChatMessage, ChatRequest } from "../../core/openai-types.js";
import { typeName } from "../../core/validate-chat.js";
import { errors } from "../../errors.js";
import type { StoredResponse } from "../../store/responses.js";
import { chatTools } from "../inbound-tools.js";
import { responseIdOfItem } from "./ids.js";

const API = "OpenAI Responses API";

export interface ResponsesRequest {
  /** The chat request to route: the history (from the previous response) and the new input. */
  chat: ChatRequest;
  /** What the client asked for, echoed in the response object. */
  echo: Record<string, unknown>;
  /** False when the client asked the response not to be kept (`store: false`). */
  store: boolean;
  /** The response this one continues, if any. */
  previousResponseId: string | null;
  /** The instructions, sent as the first system message and not kept for a continuation. */
  instructions: string | null;
}

/** Loads a stored response of the caller's tenant by id. */
export type ResponseLookup = (id: string) => Promise<StoredResponse | undefined>;

/** Fields read here; any other is refused unless it asks for nothing. */
const READ = new Set([
  "model",
  "input",
  "instructions",
  "previous_response_id",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "temperature",
  "top_p",
  "max_output_tokens",
  "text",
  "stream",
  "store",
  "user",
  "metadata",
  "reasoning",
  "service_tier",
  "stream_options",
]);

/** Accepted only at a value that asks for nothing. */
const INERT: Record<string, (v: unknown) => boolean> = {
  include: (v) => Array.isArray(v) && v.length === 0,
  truncation: (v) => v === "disabled",
  background: (v) => v === false,
  top_logprobs: (v) => v === 0,
};

export async function fromResponsesRequest(body: unknown, lookup: ResponseLookup): Promise<ResponsesRequest> {
  if (!isObject(body)) throw errors.invalidBody("(body)", `expected a JSON object, got ${typeName(body)}`);
  for (const [field, value] of Object.entries(body)) {
    if (value == null || READ.has(field)) continue;
    const inert = INERT[field];
    if (!inert?.(value)) throw unsupported(`the request field '${field}'`);
  }
  if (typeof body.model !== "string" || body.model === "") {
    throw errors.invalidBody("model", body.model === undefined ? "is required" : "expected a non-empty string");
  }
  if (body.input == null) throw errors.invalidBody("input", "is required");
  const instructions = optionalString(body.instructions, "instructions");
  const previousId = optionalString(body.previous_response_id, "previous_response_id");
  let history: ChatMessage[] = [];
  if (previousId) {
    const previous = await lookup(previousId);
    if (!previous) throw errors.responseUnknown(previousId, "previous_response_id");
    history = previous.messages;
  }
  const input = await translateInput(body.input, lookup);
  if (history.length === 0 && input.length === 0) throw errors.invalidBody("input", "must contain at least one item");
  const messages: ChatMessage[] = [
    ...(instructions ? [{ role: "system" as const, content: instructions }] : []),
    ...history,
    ...input,
  ];
  const chat: ChatRequest = { model: body.model, messages };
  for (const key of ["temperature", "top_p"] as const) {
    const v = body[key];
    if (v == null) continue;
    if (typeof v !== "number" || !Number.isFinite(v))
      throw errors.invalidBody(key, `expected a number, got ${typeName(v)}`);
    chat[key] = v;
  }
  if (body.max_output_tokens != null) {
    if (!Number.isInteger(body.max_output_tokens) || (body.max_output_tokens as number) < 1) {
      throw errors.invalidBody("max_output_tokens", "expected an integer ≥ 1");
    }
    chat.max_completion_tokens = body.max_output_tokens as number;
  }
  if (body.stream != null) {
    if (typeof body.stream !== "boolean")
      throw errors.invalidBody("stream", `expected a boolean, got ${typeName(body.stream)}`);
    if (body.stream) chat.stream = true;
  }
  const user = optionalString(body.user, "user");
  if (user) chat.user = user;
  if (isObject(body.reasoning) && body.reasoning.effort != null) chat.reasoning_effort = body.reasoning.effort;
  if (typeof body.parallel_tool_calls === "boolean") chat.parallel_tool_calls = body.parallel_tool_calls;
  Object.assign(chat, translateTools(body.tools, body.tool_choice), translateTextFormat(body.text));
  if (body.store != null && typeof body.store !== "boolean") throw errors.invalidBody("store", "expected a boolean");
  return {
    chat,
    echo: body,
    store: body.store !== false,
    previousResponseId: previousId,
    instructions,
  };
}

function optionalString(v: unknown, field: string): string | null {
  if (v == null) return null;
  if (typeof v !== "string") throw errors.invalidBody(field, `expected a string, got ${typeName(v)}`);
  return v === "" ? null : v;
}

async function translateInput(input: unknown, lookup: ResponseLookup): Promise<ChatMessage[]> {
  if (typeof input === "string") return input === "" ? [] : [{ role: "user", content: input }];
  if (!Array.isArray(input)) throw errors.invalidBody("input", "expected a string or an array of items");
  const out: ChatMessage[] = [];
  for (const [i, item] of input.entries()) {
    const at = `input[${i}]`;
    if (!isObject(item)) throw errors.invalidBody(at, `expected an object, got ${typeName(item)}`);
    const type = item.type ?? "message";
    switch (type) {
      case "message":
        out.push(messageItem(item, at));
        break;
      case "function_call": {
        if (typeof item.call_id !== "string" || typeof item.name !== "string") {
          throw errors.invalidBody(at, "a function_call needs a call_id and a name");
        }
        const call = {
          id: item.call_id,
          type: "function",
          function: { name: item.name, arguments: typeof item.arguments === "string" ? item.arguments : "{}" },
        };
        // Consecutive calls (parallel tool calls) belong to one assistant message, as chat has them.
        const last = out.at(-1);
        if (last?.role === "assistant" && Array.isArray(last.tool_calls)) last.tool_calls.push(call);
        else if (last?.role === "assistant" && last.tool_calls === undefined) last.tool_calls = [call];
        else out.push({ role: "assistant", content: null, tool_calls: [call] });
        break;
      }
      case "function_call_output": {
        if (typeof item.call_id !== "string") throw errors.invalidBody(`${at}.call_id`, "is required");
        const output = typeof item.output === "string" ? item.output : JSON.stringify(item.output ?? "");
        out.push({ role: "tool", tool_call_id: item.call_id, content: output });
        break;
      }
      case "item_reference":
        out.push(...(await referencedItem(item, at, lookup)));
        break;
      default:
        throw unsupported(
          `'${String(type)}' input items (${at}.type; translated: message, function_call, function_call_output, item_reference)`,
        );
    }
  }
  return out;
}

const ROLES = new Set(["user", "assistant", "system", "developer"]);

function messageItem(item: Record<string, unknown>, at: string): ChatMessage {
  const role = item.role;
  if (typeof role !== "string" || !ROLES.has(role)) {
    throw errors.invalidBody(
      `${at}.role`,
      `expected user, assistant, system or developer, got ${JSON.stringify(role) ?? "nothing"}`,
    );
  }
  const chatRole = role as ChatMessage["role"];
  if (typeof item.content === "string") return { role: chatRole, content: item.content };
  if (!Array.isArray(item.content)) throw errors.invalidBody(`${at}.content`, "expected a string or an array of parts");
  const parts = item.content.map((p, j): ChatContentPart => contentPart(p, `${at}.content[${j}]`, role));
  const texts = parts.every((p) => p.type === "text");
  // An assistant turn is text in chat; a user turn keeps its parts (images).
  if (role === "assistant" || role === "system" || role === "developer") {
    if (!texts) throw unsupported(`non-text parts in ${role} messages (${at}.content)`);
    return { role: chatRole, content: parts.map((p) => p.text as string).join("") };
  }
  return { role: chatRole, content: parts };
}

function contentPart(p: unknown, at: string, role: string): ChatContentPart {
  if (!isObject(p) || typeof p.type !== "string") throw errors.invalidBody(at, "expected a part with a type");
  switch (p.type) {
    case "input_text":
    case "output_text":
      if (typeof p.text !== "string") throw errors.invalidBody(`${at}.text`, "expected a string");
      return { type: "text", text: p.text };
    case "refusal":
      if (role !== "assistant") break;
      return { type: "text", text: typeof p.refusal === "string" ? p.refusal : "" };
    case "input_image": {
      if (typeof p.image_url !== "string") {
        throw unsupported(`images by file_id (${at}; send image_url, an http(s) or data: URL)`);
      }
      const image: Record<string, unknown> = { url: p.image_url };
      if (typeof p.detail === "string") image.detail = p.detail;
      return { type: "image_url", image_url: image };
    }
  }
  throw unsupported(`'${p.type}' parts (${at}.type; translated: input_text, output_text, input_image)`);
}

/** An item of a stored response: its message, or its function call, as chat messages. */
async function referencedItem(
  item: Record<string, unknown>,
  at: string,
  lookup: ResponseLookup,
): Promise<ChatMessage[]> {
  const id = item.id;
  if (typeof id !== "string") throw errors.invalidBody(`${at}.id`, "is required");
  const responseId = responseIdOfItem(id);
  const stored = responseId ? await lookup(responseId) : undefined;
  const output = stored && Array.isArray(stored.response.output) ? (stored.response.output as unknown[]) : [];
  const found = output.find((o) => isObject(o) && o.id === id) as Record<string, unknown> | undefined;
  if (!found) throw errors.responseUnknown(id, `${at}.id`);
  if (found.type === "function_call") {
    return [
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: found.call_id, type: "function", function: { name: found.name, arguments: found.arguments } },
        ],
      },
    ];
  }
  return [messageItem(found, at)];
}

function translateTools(tools: unknown, choice: unknown): Partial<ChatRequest> {
  const out: Partial<ChatRequest> = {};
  const translated = chatTools(tools, (t, at) => {
    // Built-in tools (web search, file search, computer use...) run at OpenAI; a route may serve any backend.
    if (t.type !== "function") throw unsupported(`'${String(t.type)}' tools (${at}.type; translated: function tools)`);
    return { name: t.name, description: t.description, parameters: t.parameters, strict: t.strict };
  });
  if (translated) out.tools = translated;
  if (choice == null) return out;
  if (choice === "auto" || choice === "none" || choice === "required") out.tool_choice = choice;
  else if (isObject(choice) && choice.type === "function" && typeof choice.name === "string") {
    out.tool_choice = { type: "function", function: { name: choice.name } };
  } else throw unsupported(`'tool_choice' ${JSON.stringify(choice)} (translated: auto, none, required, a function)`);
  return out;
}

function translateTextFormat(text: unknown): Partial<ChatRequest> {
  if (text == null) return {};
  if (!isObject(text)) throw errors.invalidBody("text", "expected an object");
  for (const key of Object.keys(text)) {
    if (key !== "format" && key !== "verbosity") throw unsupported(`'text.${key}'`);
  }
  const out: Partial<ChatRequest> = {};
  if (text.verbosity != null) out.verbosity = text.verbosity;
  const f = text.format;
  if (f == null) return out;
  if (!isObject(f)) throw errors.invalidBody("text.format", "expected an object");
  if (f.type === "text") return out;
  if (f.type === "json_object") return { ...out, response_format: { type: "json_object" } };
  if (f.type === "json_schema") {
    if (typeof f.name !== "string" || !isObject(f.schema)) {
      throw errors.invalidBody("text.format", "a json_schema format needs a name and a schema");
    }
    const spec: Record<string, unknown> = { name: f.name, schema: f.schema };
    if (typeof f.description === "string") spec.description = f.description;
    if (typeof f.strict === "boolean") spec.strict = f.strict;
    return { ...out, response_format: { type: "json_schema", json_schema: spec } };
  }
  throw errors.invalidBody(
    "text.format.type",
    `expected text, json_object or json_schema, got ${JSON.stringify(f.type)}`,
  );
}

function unsupported(what: string) {
  return errors.unsupported(API, what);
}

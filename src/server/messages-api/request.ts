/**
 * Anthropic Messages request (what the Anthropic SDK and Claude-based tools send
 * to `POST /v1/messages`) → the OpenAI chat request Switchyard routes, as a pure
 * function. Shapes: docs.anthropic.com/en/api/messages.
 *
 * What the translation cannot carry is refused with a 400 naming the field.
 * `cache_control` markers are left out: they ask Anthropic to cache a prompt
 * prefix, which changes the bill, not the answer.
 */
import { isObject } from "../../core/openai-shape.js";
import type { ChatContentPart, ChatMessage, ChatRequest } from "../../core/openai-types.js";
import { typeName } from "../../core/validate-chat.js";
import { errors } from "../../errors.js";
import { chatTools } from "../inbound-tools.js";

const API = "Anthropic Messages API";

/** Top-level fields read here; any other is refused unless it asks for nothing. */
const READ = new Set([
  "model",
  "max_tokens",
  "messages",
  "system",
  "metadata",
  "stop_sequences",
  "stream",
  "temperature",
  "top_p",
  "top_k",
  "tools",
  "tool_choice",
  "thinking",
  "service_tier",
]);

/** Marks the text of a tool result the tool reported as an error, which OpenAI's tool messages cannot flag. */
export const TOOL_ERROR_PREFIX = "[tool error] ";

export function fromMessagesRequest(body: unknown): ChatRequest {
  if (!isObject(body)) throw errors.invalidBody("(body)", `expected a JSON object, got ${typeName(body)}`);
  for (const [field, value] of Object.entries(body)) {
    if (value != null && !READ.has(field)) throw unsupported(`the request field '${field}'`);
  }
  if (typeof body.model !== "string" || body.model === "") {
    throw errors.invalidBody("model", body.model === undefined ? "is required" : "expected a non-empty string");
  }
  if (!Number.isInteger(body.max_tokens) || (body.max_tokens as number) < 1) {
    throw errors.invalidBody("max_tokens", body.max_tokens === undefined ? "is required" : "expected an integer ≥ 1");
  }
  if (isObject(body.thinking) && body.thinking.type !== "disabled") throw unsupported("'thinking' (extended thinking)");
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    throw errors.invalidBody("messages", "expected a non-empty array");
  }
  const messages: ChatMessage[] = [...systemMessages(body.system)];
  body.messages.forEach((m, i) => {
    messages.push(...translateMessage(m, `messages[${i}]`));
  });
  const out: ChatRequest = { model: body.model, messages, max_tokens: body.max_tokens as number };
  for (const key of ["temperature", "top_p", "top_k"] as const) {
    const v = body[key];
    if (v == null) continue;
    if (typeof v !== "number" || !Number.isFinite(v))
      throw errors.invalidBody(key, `expected a number, got ${typeName(v)}`);
    out[key] = v;
  }
  if (body.stop_sequences != null) {
    if (!Array.isArray(body.stop_sequences) || !body.stop_sequences.every((s) => typeof s === "string")) {
      throw errors.invalidBody("stop_sequences", "expected an array of strings");
    }
    if (body.stop_sequences.length > 0) out.stop = body.stop_sequences as string[];
  }
  if (body.stream != null) {
    if (typeof body.stream !== "boolean")
      throw errors.invalidBody("stream", `expected a boolean, got ${typeName(body.stream)}`);
    if (body.stream) out.stream = true;
  }
  if (isObject(body.metadata) && typeof body.metadata.user_id === "string" && body.metadata.user_id !== "") {
    out.user = body.metadata.user_id;
  }
  Object.assign(out, translateTools(body.tools, body.tool_choice));
  return out;
}

function systemMessages(system: unknown): ChatMessage[] {
  if (system == null || system === "") return [];
  if (typeof system === "string") return [{ role: "system", content: system }];
  if (!Array.isArray(system)) throw errors.invalidBody("system", "expected a string or an array of text blocks");
  const parts = system.map((b, i): ChatContentPart => {
    if (!isObject(b) || b.type !== "text" || typeof b.text !== "string") {
      throw errors.invalidBody(`system[${i}]`, "expected a text block");
    }
    return { type: "text", text: b.text };
  });
  return parts.length > 0 ? [{ role: "system", content: parts }] : [];
}

function translateMessage(m: unknown, where: string): ChatMessage[] {
  if (!isObject(m)) throw errors.invalidBody(where, `expected an object, got ${typeName(m)}`);
  if (m.role !== "user" && m.role !== "assistant") {
    throw errors.invalidBody(
      `${where}.role`,
      `expected "user" or "assistant", got ${JSON.stringify(m.role) ?? "nothing"}`,
    );
  }
  if (typeof m.content === "string") return [{ role: m.role, content: m.content }];
  if (!Array.isArray(m.content))
    throw errors.invalidBody(`${where}.content`, "expected a string or an array of blocks");
  const blocks = m.content.map((b, j) => {
    if (!isObject(b) || typeof b.type !== "string")
      throw errors.invalidBody(`${where}.content[${j}]`, "expected a block with a type");
    return b;
  });
  return m.role === "user" ? userMessages(blocks, where) : [assistantMessage(blocks, where)];
}

/** A user turn: its tool results become `tool` messages (first, as OpenAI wants them after the calls), the rest one user message. */
function userMessages(blocks: Record<string, unknown>[], where: string): ChatMessage[] {
  const tools: ChatMessage[] = [];
  const parts: ChatContentPart[] = [];
  blocks.forEach((b, j) => {
    const at = `${where}.content[${j}]`;
    switch (b.type) {
      case "text":
        parts.push(textPart(b, at));
        return;
      case "image":
        parts.push(imagePart(b, at));
        return;
      case "tool_result":
        tools.push(toolMessage(b, at));
        return;
      default:
        throw unsupported(`'${b.type}' blocks in user turns (${at}; translated: text, image, tool_result)`);
    }
  });
  if (parts.length === 0) return tools;
  const only = parts.length === 1 ? parts[0] : undefined;
  return [...tools, { role: "user", content: only?.type === "text" ? (only.text as string) : parts }];
}

function assistantMessage(blocks: Record<string, unknown>[], where: string): ChatMessage {
  const text: string[] = [];
  const calls: Array<{ id: string; type: "function"; function: { name: string; arguments: string } }> = [];
  blocks.forEach((b, j) => {
    const at = `${where}.content[${j}]`;
    if (b.type === "text") text.push(textPart(b, at).text as string);
    else if (b.type === "tool_use") {
      if (typeof b.id !== "string" || typeof b.name !== "string")
        throw errors.invalidBody(at, "a tool_use block needs an id and a name");
      calls.push({ id: b.id, type: "function", function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } });
    } else {
      throw unsupported(`'${b.type}' blocks in assistant turns (${at}; translated: text, tool_use)`);
    }
  });
  const m: ChatMessage = { role: "assistant", content: text.length > 0 ? text.join("") : null };
  if (calls.length > 0) m.tool_calls = calls;
  if (m.content === null && calls.length === 0) m.content = "";
  return m;
}

function textPart(b: Record<string, unknown>, at: string): ChatContentPart {
  if (typeof b.text !== "string") throw errors.invalidBody(`${at}.text`, "expected a string");
  return { type: "text", text: b.text };
}

function imagePart(b: Record<string, unknown>, at: string): ChatContentPart {
  const src = b.source;
  if (isObject(src) && src.type === "base64" && typeof src.media_type === "string" && typeof src.data === "string") {
    return { type: "image_url", image_url: { url: `data:${src.media_type};base64,${src.data}` } };
  }
  if (isObject(src) && src.type === "url" && typeof src.url === "string") {
    return { type: "image_url", image_url: { url: src.url } };
  }
  throw errors.invalidBody(`${at}.source`, "expected a base64 or url image source");
}

function toolMessage(b: Record<string, unknown>, at: string): ChatMessage {
  if (typeof b.tool_use_id !== "string" || b.tool_use_id === "")
    throw errors.invalidBody(`${at}.tool_use_id`, "is required");
  let text: string;
  if (b.content == null) text = "";
  else if (typeof b.content === "string") text = b.content;
  else if (Array.isArray(b.content)) {
    text = b.content
      .map((c, k) => {
        if (!isObject(c) || c.type !== "text") {
          throw unsupported(
            `'${isObject(c) ? String(c.type) : typeName(c)}' blocks in tool results (${at}.content[${k}]; translated: text)`,
          );
        }
        return textPart(c, `${at}.content[${k}]`).text as string;
      })
      .join("");
  } else throw errors.invalidBody(`${at}.content`, "expected a string or an array of text blocks");
  return { role: "tool", tool_call_id: b.tool_use_id, content: b.is_error === true ? TOOL_ERROR_PREFIX + text : text };
}

function translateTools(tools: unknown, choice: unknown): Partial<ChatRequest> {
  const out: Partial<ChatRequest> = {};
  const translated = chatTools(tools, (t, at) => {
    // Server tools (web search, code execution, bash...) run at Anthropic; a route may serve any backend.
    if (t.type != null && t.type !== "custom") {
      throw unsupported(`'${String(t.type)}' tools (${at}.type; translated: custom tools)`);
    }
    if (!isObject(t.input_schema)) throw errors.invalidBody(`${at}.input_schema`, "expected a JSON schema object");
    return {
      name: t.name,
      description: t.description,
      parameters: t.input_schema,
      strict: t.strict === true ? true : undefined,
    };
  });
  if (translated) out.tools = translated;
  if (choice == null) return out;
  if (!isObject(choice)) throw errors.invalidBody("tool_choice", "expected an object");
  switch (choice.type) {
    case "auto":
      out.tool_choice = "auto";
      break;
    case "any":
      out.tool_choice = "required";
      break;
    case "none":
      out.tool_choice = "none";
      break;
    case "tool":
      if (typeof choice.name !== "string") throw errors.invalidBody("tool_choice.name", "is required");
      out.tool_choice = { type: "function", function: { name: choice.name } };
      break;
    default:
      throw errors.invalidBody(
        "tool_choice.type",
        `expected auto, any, tool or none, got ${JSON.stringify(choice.type)}`,
      );
  }
  if (choice.disable_parallel_tool_use === true && out.tools) out.parallel_tool_calls = false;
  return out;
}

function unsupported(what: string) {
  return errors.unsupported(API, what);
}

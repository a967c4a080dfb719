/**
 * OpenAI chat messages → Anthropic `system` and alternating user/assistant
 * turns of content blocks, as a pure function.
 *
 * Text and images become text and image blocks, an assistant's `tool_calls`
 * become `tool_use` blocks, and `tool` messages become `tool_result` blocks of
 * the next user turn. Anything else is refused with a 400 naming the message.
 */
import { isObject } from "../../core/openai-shape.js";
import type { ChatContentPart, ChatMessage } from "../../core/openai-types.js";
import { errors } from "../../errors.js";
import type {
  AnthropicImageBlock,
  AnthropicMessageParam,
  AnthropicRequestBlock,
  AnthropicTextBlock,
  AnthropicToolResultBlock,
  AnthropicToolUseBlock,
} from "./types.js";

/** The image types Anthropic accepts as base64 data. */
const IMAGE_MEDIA_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

type Turn = { role: "user" | "assistant"; blocks: AnthropicRequestBlock[] };

export function translateMessages(input: ChatMessage[]): { system: string; messages: AnthropicMessageParam[] } {
  const system: string[] = [];
  const turns: Turn[] = [];
  const add = (role: Turn["role"], blocks: AnthropicRequestBlock[]) => {
    // Anthropic rejects empty text blocks, and an empty turn says nothing.
    if (blocks.length === 0) return;
    const last = turns.at(-1);
    // Anthropic requires user and assistant turns to alternate.
    if (last?.role === role) last.blocks.push(...blocks);
    else turns.push({ role, blocks });
  };
  input.forEach((msg, i) => {
    const where = `messages[${i}]`;
    switch (msg.role) {
      case "system":
      case "developer":
        for (const block of contentBlocks(msg.content, where, "text")) system.push((block as AnthropicTextBlock).text);
        return;
      case "user":
        refuseName(msg, where);
        add("user", contentBlocks(msg.content, where, "text and images"));
        return;
      case "assistant":
        refuseName(msg, where);
        if (msg.function_call != null) throw untranslatable(`'function_call' (${where}; use tool_calls)`);
        add("assistant", [...contentBlocks(msg.content, where, "text"), ...toolUseBlocks(msg.tool_calls, where)]);
        return;
      case "tool":
        add("user", [toolResultBlock(msg, where)]);
        return;
      case "function":
        throw untranslatable(`'function' messages (${where}; the legacy form of tool messages)`);
      default:
        throw errors.invalidBody(`${where}.role`, `unknown role '${String(msg.role)}'`);
    }
  });
  if (!turns.some((t) => t.role === "user")) {
    throw untranslatable("a conversation without a user message (Anthropic needs at least one besides system prompts)");
  }
  const messages = turns.map(({ role, blocks }) => {
    const only = blocks.length === 1 ? blocks[0] : undefined;
    return { role, content: only?.type === "text" ? only.text : blocks };
  });
  return { system: system.join("\n\n"), messages };
}

/** Anthropic has no participant names; dropping one would merge speakers the client kept apart. */
function refuseName(msg: ChatMessage, where: string): void {
  if (typeof msg.name === "string" && msg.name !== "") throw untranslatable(`message 'name' (${where}.name)`);
}

/**
 * A message's content as non-empty blocks. `allowed` says which parts may
 * appear: "text" (system prompts, assistant turns, tool results) or "text and
 * images" (user turns).
 */
function contentBlocks(
  content: ChatMessage["content"],
  where: string,
  allowed: "text" | "text and images",
): Array<AnthropicTextBlock | AnthropicImageBlock> {
  if (content == null) return [];
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  if (!Array.isArray(content))
    throw errors.invalidBody(`${where}.content`, "must be a string, an array of parts or null");
  return content.flatMap((part: ChatContentPart, j): Array<AnthropicTextBlock | AnthropicImageBlock> => {
    const at = `${where}.content[${j}]`;
    if (part?.type === "text") {
      if (typeof part.text !== "string") throw errors.invalidBody(`${at}.text`, "must be a string");
      return part.text === "" ? [] : [{ type: "text", text: part.text }];
    }
    if (part?.type === "image_url" && allowed === "text and images") return [imageBlock(part, at)];
    throw untranslatable(`'${String(part?.type)}' content parts here (${at}; translated: ${allowed})`);
  });
}

function imageBlock(part: ChatContentPart, at: string): AnthropicImageBlock {
  const image = part.image_url;
  if (!isObject(image) || typeof image.url !== "string" || image.url === "") {
    throw errors.invalidBody(`${at}.image_url.url`, "expected a URL or a data: URL");
  }
  // Anthropic always reads an image at its own resolution: "low" cannot be honoured.
  if (image.detail != null && image.detail !== "auto" && image.detail !== "high") {
    throw untranslatable(`image 'detail' ${JSON.stringify(image.detail)} (${at}.image_url.detail)`);
  }
  const url = image.url;
  if (url.startsWith("data:")) {
    const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
    if (!match) throw errors.invalidBody(`${at}.image_url.url`, "a data: URL must be base64 (data:<type>;base64,...)");
    const mediaType = (match[1] as string).toLowerCase();
    if (!IMAGE_MEDIA_TYPES.has(mediaType)) {
      throw untranslatable(
        `images of type '${mediaType}' (${at}; Anthropic reads ${[...IMAGE_MEDIA_TYPES].join(", ")})`,
      );
    }
    return { type: "image", source: { type: "base64", media_type: mediaType, data: match[2] as string } };
  }
  if (!/^https?:\/\//i.test(url)) throw errors.invalidBody(`${at}.image_url.url`, "expected an http(s) or data: URL");
  return { type: "image", source: { type: "url", url } };
}

function toolUseBlocks(toolCalls: unknown, where: string): AnthropicToolUseBlock[] {
  if (toolCalls == null) return [];
  if (!Array.isArray(toolCalls)) throw errors.invalidBody(`${where}.tool_calls`, "expected an array");
  return toolCalls.map((call, j) => {
    const at = `${where}.tool_calls[${j}]`;
    if (!isObject(call) || typeof call.id !== "string" || call.id === "") {
      throw errors.invalidBody(`${at}.id`, "expected a non-empty string");
    }
    if (call.type !== undefined && call.type !== "function") {
      throw untranslatable(`'${String(call.type)}' tool calls (${at}.type)`);
    }
    const fn = call.function;
    if (!isObject(fn) || typeof fn.name !== "string" || fn.name === "") {
      throw errors.invalidBody(`${at}.function.name`, "expected a non-empty string");
    }
    return { type: "tool_use", id: call.id, name: fn.name, input: toolInput(fn.arguments, `${at}.function.arguments`) };
  });
}

/** OpenAI sends arguments as JSON text; Anthropic wants the object itself. */
function toolInput(args: unknown, at: string): Record<string, unknown> {
  if (args == null || args === "") return {};
  if (typeof args !== "string") throw errors.invalidBody(at, "expected a string of JSON");
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch (e) {
    throw errors.invalidBody(at, `is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(parsed)) throw errors.invalidBody(at, "must be a JSON object (Anthropic tool input is an object)");
  return parsed;
}

function toolResultBlock(msg: ChatMessage, where: string): AnthropicToolResultBlock {
  const id = msg.tool_call_id;
  if (typeof id !== "string" || id === "") throw errors.invalidBody(`${where}.tool_call_id`, "is required");
  const blocks = contentBlocks(msg.content, where, "text") as AnthropicTextBlock[];
  const block: AnthropicToolResultBlock = { type: "tool_result", tool_use_id: id };
  // An empty result is sent without content: Anthropic refuses empty text blocks.
  if (blocks.length > 0) block.content = blocks.length === 1 ? (blocks[0] as AnthropicTextBlock).text : blocks;
  return block;
}

function untranslatable(what: string) {
  return errors.untranslatable("anthropic", what);
}

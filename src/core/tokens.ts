/**
 * Token counts for calls whose upstream sent no `usage`. Upstream usage always
 * wins; this is the estimate (o200k_base, OpenAI's current encoding) logged with
 * `tokens_estimated = 1`. The tokenizer's tables are large, so they load on
 * first need, never at start.
 */
import type { ChatMessage, EmbeddingsRequest } from "./openai-types.js";

type CountTokens = (text: string) => number;
let loading: Promise<CountTokens> | undefined;

function tokenizer(): Promise<CountTokens> {
  loading ??= import("gpt-tokenizer").then((m) => m.countTokens as CountTokens);
  return loading;
}

/** Per-message framing tokens in OpenAI's chat format (role and separators). */
const PER_MESSAGE = 3;
const REPLY_PRIMER = 3;

export function messageText(m: ChatMessage): string {
  if (typeof m.content === "string") return m.content;
  if (!Array.isArray(m.content)) return "";
  return m.content.map((p) => (typeof p.text === "string" ? p.text : "")).join("");
}

export async function estimatePromptTokens(messages: ChatMessage[]): Promise<number> {
  const count = await tokenizer();
  let total = REPLY_PRIMER;
  for (const m of messages) total += PER_MESSAGE + count(messageText(m));
  return total;
}

export async function estimateTextTokens(text: string): Promise<number> {
  return (await tokenizer())(text);
}

/** Tokens of an embeddings input: counted for text, the ids themselves for token arrays. */
export async function estimateEmbeddingTokens(input: EmbeddingsRequest["input"]): Promise<number> {
  if (typeof input === "string") return (await tokenizer())(input);
  let total = 0;
  for (const item of input) {
    if (typeof item === "string") total += (await tokenizer())(item);
    else if (Array.isArray(item)) total += item.length;
    else total += 1;
  }
  return total;
}

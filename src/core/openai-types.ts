/**
 * The parts of OpenAI's chat-completions wire format Switchyard reads or writes.
 * Fields it does not read are carried through untouched (index signatures), so a
 * new OpenAI parameter reaches OpenAI-compatible backends without a release.
 */

export interface ChatContentPart {
  type: string;
  text?: string;
  [k: string]: unknown;
}

export interface ChatMessage {
  role: "system" | "developer" | "user" | "assistant" | "tool" | "function";
  content: string | ChatContentPart[] | null;
  name?: string;
  [k: string]: unknown;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean; [k: string]: unknown } | null;
  user?: string;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  stop?: string | string[] | null;
  [k: string]: unknown;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  [k: string]: unknown;
}

export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "function_call";

export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: "assistant"; content: string | null; [k: string]: unknown };
    finish_reason: FinishReason | null;
    logprobs?: unknown;
    [k: string]: unknown;
  }>;
  usage?: Usage | null;
  [k: string]: unknown;
}

export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: { role?: "assistant"; content?: string | null; [k: string]: unknown };
    finish_reason: FinishReason | null;
    [k: string]: unknown;
  }>;
  usage?: Usage | null;
  [k: string]: unknown;
}

/** `POST /v1/embeddings`: one input or a batch, as text or as token ids. */
export interface EmbeddingsRequest {
  model: string;
  input: string | string[] | number[] | number[][];
  encoding_format?: "float" | "base64";
  dimensions?: number;
  user?: string;
  [k: string]: unknown;
}

export interface EmbeddingsResponse {
  object: "list";
  /** `embedding` is a list of floats, or a base64 string when `encoding_format` was base64. */
  data: Array<{ object: "embedding"; index: number; embedding: number[] | string; [k: string]: unknown }>;
  model: string;
  usage?: { prompt_tokens: number; total_tokens: number; [k: string]: unknown } | null;
  [k: string]: unknown;
}

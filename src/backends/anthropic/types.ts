/**
 * The parts of Anthropic's Messages API wire format this backend writes or reads
 * (https://docs.anthropic.com/en/api/messages, .../messages-streaming).
 * Text, images, tool definitions, tool_use and tool_result blocks are modelled;
 * thinking and other blocks this backend never asks for are typed loosely and
 * skipped on the way out.
 */

export interface AnthropicTextBlock {
  type: "text";
  text: string;
}

export interface AnthropicImageBlock {
  type: "image";
  source: { type: "base64"; media_type: string; data: string } | { type: "url"; url: string };
}

export interface AnthropicToolUseBlock {
  type: "tool_use";
  id: string;
  name: string;
  input: unknown;
}

export interface AnthropicToolResultBlock {
  type: "tool_result";
  tool_use_id: string;
  content?: string | Array<AnthropicTextBlock | AnthropicImageBlock>;
}

/** Blocks a request may carry in its messages. */
export type AnthropicRequestBlock =
  | AnthropicTextBlock
  | AnthropicImageBlock
  | AnthropicToolUseBlock
  | AnthropicToolResultBlock;

export interface AnthropicMessageParam {
  role: "user" | "assistant";
  content: string | AnthropicRequestBlock[];
}

export interface AnthropicTool {
  name: string;
  description?: string;
  input_schema: Record<string, unknown>;
  /** Constrained decoding of the input to the schema (Anthropic's strict tool use). */
  strict?: boolean;
}

export type AnthropicToolChoice =
  | { type: "auto" | "any"; disable_parallel_tool_use?: boolean }
  | { type: "tool"; name: string; disable_parallel_tool_use?: boolean }
  | { type: "none" };

export interface AnthropicRequest {
  model: string;
  messages: AnthropicMessageParam[];
  /** Anthropic has no system role: system prompts live here. */
  system?: string;
  /** Required by Anthropic, unlike OpenAI. */
  max_tokens: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stop_sequences?: string[];
  stream?: boolean;
  metadata?: { user_id: string };
  tools?: AnthropicTool[];
  tool_choice?: AnthropicToolChoice;
  /** Structured output: the answer's text is JSON valid against the schema. */
  output_config?: { format: { type: "json_schema"; schema: Record<string, unknown> } };
}

export type AnthropicStopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use" | "pause_turn" | "refusal";

/** Blocks other than text and tool_use (thinking...) carry fields this backend never reads. */
export type AnthropicContentBlock = AnthropicTextBlock | AnthropicToolUseBlock | { type: string; [k: string]: unknown };

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  /** Tokens written to and read from the prompt cache; billed as input, counted apart from input_tokens. */
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  [k: string]: unknown;
}

export interface AnthropicMessage {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: AnthropicContentBlock[];
  /** null only inside a stream's message_start. */
  stop_reason: AnthropicStopReason | string | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

export interface AnthropicErrorBody {
  type: "error";
  error: { type: string; message: string };
}

// ── streaming events ─────────────────────────────────────────────────────────

export interface MessageStartEvent {
  type: "message_start";
  message: AnthropicMessage;
}

export interface ContentBlockStartEvent {
  type: "content_block_start";
  index: number;
  content_block: AnthropicContentBlock;
}

export interface ContentBlockDeltaEvent {
  type: "content_block_delta";
  index: number;
  /** text_delta for text, input_json_delta for tool_use input; thinking_delta... for blocks this backend skips. */
  delta:
    | { type: "text_delta"; text: string }
    | { type: "input_json_delta"; partial_json: string }
    | { type: string; [k: string]: unknown };
}

export interface ContentBlockStopEvent {
  type: "content_block_stop";
  index: number;
}

export interface MessageDeltaEvent {
  type: "message_delta";
  delta: { stop_reason: AnthropicStopReason | string | null; stop_sequence: string | null };
  /** Cumulative counts for the whole message so far (output_tokens always; the others when they changed). */
  usage: Partial<AnthropicUsage>;
}

export interface MessageStopEvent {
  type: "message_stop";
}

export interface PingEvent {
  type: "ping";
}

export type ErrorEvent = AnthropicErrorBody;

export type AnthropicStreamEvent =
  | MessageStartEvent
  | ContentBlockStartEvent
  | ContentBlockDeltaEvent
  | ContentBlockStopEvent
  | MessageDeltaEvent
  | MessageStopEvent
  | PingEvent
  | ErrorEvent;

/**
 * The parts of Anthropic's Messages API wire format this backend writes or reads
 * (https://docs.anthropic.com/en/api/messages, .../messages-streaming).
 * Only text is modelled: tools, images and thinking are refused on the way in,
 * so their blocks are typed loosely and skipped on the way out.
 */

export interface AnthropicTextBlock {
  type: "text";
  text: string;
}

export interface AnthropicMessageParam {
  role: "user" | "assistant";
  content: string | AnthropicTextBlock[];
}

export interface AnthropicRequest {
  model: string;
  messages: AnthropicMessageParam[];
  /** Anthropic has no system role: system prompts live here. */
  system?: string;
  /** Required by Anthropic, unlike OpenAI. */
  max_tokens: number;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  stream?: boolean;
  metadata?: { user_id: string };
}

export type AnthropicStopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use" | "pause_turn" | "refusal";

/** Blocks other than text (tool_use, thinking...) carry fields this backend never reads. */
export type AnthropicContentBlock = AnthropicTextBlock | { type: string; [k: string]: unknown };

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
  /** text_delta for text; input_json_delta, thinking_delta... for blocks this backend skips. */
  delta: { type: "text_delta"; text: string } | { type: string; [k: string]: unknown };
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

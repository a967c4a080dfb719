/**
 * The tables as the application sees them, one interface per table. Timestamps
 * are milliseconds since the epoch (portable across SQLite and PostgreSQL);
 * booleans are 0/1 integers for the same reason.
 */
import type { Generated } from "kysely";

export interface RequestLogTable {
  id: string;
  created_at: number;
  tenant: string;
  key_id: string | null;
  user_id: string | null;
  session_id: string | null;
  route: string;
  experiment: string | null;
  variant: string | null;
  backend: string | null;
  upstream_model: string | null;
  prompt_version: string | null;
  stream: number;
  /** The HTTP status the client received (200 even when a stream later broke). */
  status: number;
  error_code: string | null;
  error_message: string | null;
  finish_reason: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  /** 1 when the upstream sent no usage and the tokens were counted here. */
  tokens_estimated: number;
  cost_usd: number | null;
  latency_ms: number;
  ttft_ms: number | null;
  /** Index in the route's chain of the target that served: 0 the variant, 1.. a fallback. */
  served_by: number | null;
  fallback_used: number;
  attempts: number;
  /** JSON list of the targets that failed before one served. */
  failures: string | null;
  cache_hit: Generated<number>;
}

export interface ApiKeyTable {
  id: string;
  tenant: string;
  role: "admin" | "app";
  name: string | null;
  /** sha256 of the whole key, hex; the key itself is never stored. */
  key_hash: string;
  /** The first characters of the key, to recognise it in listings. */
  key_prefix: string;
  created_at: number;
  revoked_at: number | null;
}

export interface FeedbackTable {
  id: string;
  request_id: string;
  tenant: string;
  /** The user who gave it, '' when unnamed; one row per (request_id, user_key, kind). */
  user_key: string;
  kind: "thumbs" | "stars" | "comment" | "tags" | "correction" | "preference";
  /** JSON text of the value (see core/feedback.ts). */
  value: string;
  /** For a preference: the request it was compared with. */
  other_request_id: string | null;
  created_at: number;
  updated_at: number;
}

export interface ConversationTable {
  tenant: string;
  /** The session id (x-switchyard-session); unique within a tenant. */
  id: string;
  title: string | null;
  user_id: string | null;
  route: string | null;
  /** The newest answer; the active branch is the path from the root to it. */
  leaf_id: string | null;
  message_count: Generated<number>;
  created_at: number;
  updated_at: number;
}

export interface ConversationMessageTable {
  /** Insertion order; the full-text index's row key. */
  seq: Generated<number>;
  id: string;
  tenant: string;
  conversation_id: string;
  parent_id: string | null;
  /** 0 for the first message. */
  depth: number;
  /** core/conversation.ts messageHash: how a resent message is recognised. */
  hash: string;
  role: string;
  /** The whole message, JSON. */
  message: string;
  /** Its searchable plain text. */
  text: string;
  request_id: string | null;
  created_at: number;
}

export interface Database {
  request_log: RequestLogTable;
  api_keys: ApiKeyTable;
  feedback: FeedbackTable;
  conversations: ConversationTable;
  conversation_messages: ConversationMessageTable;
}

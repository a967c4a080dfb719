/**
 * The tables as the application sees them, one interface per table. Timestamps
 * are milliseconds since the epoch (portable across SQLite and PostgreSQL);
 * booleans are 0/1 integers for the same reason.
 */
import type { Generated } from "kysely";
import type { BudgetPeriod } from "../core/budget-period.js";

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
  /** user, session or request: what the experiment assigned by (core/experiment.ts). */
  unit_kind: string | null;
  /** How the variant was chosen: hash, pin, override, paused, stopped, breaker, arena or default. */
  assigned_by: string | null;
  /** The inbound API the call came through: `chat`, `messages`, `responses` or `embeddings`. */
  endpoint: Generated<string>;
  /** The LoRA adapter a llama-cpp call ran with (its config name); null for the base model and other backends. */
  adapter: string | null;
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
  /** The key's own limits and budget; null where the tenant's apply. */
  requests_per_minute: number | null;
  tokens_per_minute: number | null;
  budget_usd: number | null;
  budget_period: BudgetPeriod | null;
}

export type { BudgetPeriod };

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

export interface ResponseTable {
  /** `resp_` + the request id's suffix. */
  id: string;
  tenant: string;
  created_at: number;
  route: string;
  /** JSON: the chat messages up to and including the answer, without the request's instructions. */
  messages: string;
  /** JSON: the response object as answered. */
  response: string;
}

export interface ExperimentTable {
  name: string;
  route: string;
  hash_key: string;
  status: string;
  control: string;
  /** JSON: [{variant, weight}] in declared order. */
  weights: string;
  /** JSON: core/assignment.ts Allocation. */
  allocation: string;
  winner: string | null;
  /** JSON: the shadow settings, or null. */
  shadow: string | null;
  /** JSON: core/rollout.ts Rollout ({config, state}), or null. */
  rollout: string | null;
  /** JSON: {config, state} of a Thompson-sampling bandit, or null. */
  bandit: string | null;
  /** JSON: {criteria, minRequests} for the report's verdict, or null for none. */
  verdict: string | null;
  source: "config" | "api";
  config_hash: string | null;
  version: number;
  created_at: number;
  updated_at: number;
}

export interface ExperimentPinTable {
  experiment: string;
  user_id: string;
  variant: string;
  created_at: number;
}

/** The first time a unit was assigned by hash in an experiment; one row per unit. */
export interface ExperimentExposureTable {
  experiment: string;
  /** A unit is a tenant's: the same user id in two tenants is two units. */
  tenant: string;
  unit_kind: string;
  unit_id: string;
  variant: string;
  request_id: string;
  first_at: number;
}

/** Every change to an experiment and every rollout decision, with its evidence. */
export interface ExperimentEventTable {
  id: string;
  experiment: string;
  at: number;
  kind: string;
  actor: string;
  /** JSON. */
  detail: string;
}

/** One shadow call compared with the primary answer it shadowed. */
export interface ShadowResultTable {
  id: string;
  request_id: string;
  experiment: string;
  tenant: string;
  created_at: number;
  primary_variant: string;
  candidate_variant: string;
  candidate_backend: string;
  candidate_model: string;
  /** 499 when the client left before the primary answer was complete. */
  primary_status: number;
  /** 504 on the shadow timeout (SY_ERR_SHADOW_TIMEOUT). */
  candidate_status: number;
  primary_error: string | null;
  candidate_error: string | null;
  candidate_error_message: string | null;
  primary_latency_ms: number;
  candidate_latency_ms: number;
  /** Time the shadow call waited for a slot. */
  queued_ms: number;
  /** Answers' text, cut at SHADOW_OUTPUT_MAX_CHARS. */
  primary_output: string | null;
  candidate_output: string | null;
  /** Full lengths in characters, before any cut. */
  primary_length: number | null;
  candidate_length: number | null;
  candidate_input_tokens: number | null;
  candidate_output_tokens: number | null;
  candidate_cost_usd: number | null;
  /** ROUGE-L F1 over words, computed by the log writer when both answered. */
  rouge_l: number | null;
  /** chrF (n = 6, beta = 2), likewise. */
  chrf: number | null;
  /** Tool calls each answer made (core/tool-calls.ts), null before they were compared. */
  primary_tool_calls: number | null;
  candidate_tool_calls: number | null;
  /** 1 / 0 whether both called the same functions, and with equal arguments; null when neither called any. */
  tool_names_match: number | null;
  tool_args_match: number | null;
  judge_status: string | null;
  judge_model: string | null;
  judge_winner: string | null;
  judge_reason: string | null;
  judge_raw: string | null;
}

/** One hour of an experiment variant's analysed requests (see migration 0004). */
export interface ExperimentRollupTable {
  experiment: string;
  tenant: string;
  variant: string;
  /** Start of the hour, ms since the epoch. */
  hour: number;
  requests: number;
  successes: number;
  latency_sum: number;
  latency_sq: number;
  ttft_n: number;
  ttft_sum: number;
  ttft_sq: number;
  input_tokens: number;
  output_tokens: number;
  output_sq: number;
  token_requests: number;
  cost_sum: number;
  cost_sq: number;
  cost_n: number;
  latency_sketch: string;
  ttft_sketch: string;
}

/** One hour of a route's traffic, all of it. */
export interface RouteRollupTable {
  route: string;
  tenant: string;
  hour: number;
  requests: number;
  /** Status ≥ 500, or a stream that broke after 200. */
  errors: number;
  /** The client left (499). */
  cancelled: number;
  cost_sum: number;
  input_tokens: number;
  output_tokens: number;
  /** Successful answers (status 200, no error), whose latency the sum and sketch hold. */
  latency_n: number;
  latency_sum: number;
  latency_sketch: string;
}

/** One hour of a key's calls, for its spend budget. */
export interface KeyRollupTable {
  key_id: string;
  tenant: string;
  hour: number;
  requests: number;
  cost_sum: number;
  tokens: number;
}

export interface ExperimentFeedbackRollupTable {
  experiment: string;
  tenant: string;
  variant: string;
  hour: number;
  thumbs_up: number;
  thumbs: number;
  stars_n: number;
  stars_sum: number;
  stars_sq: number;
}

/** A prompt; `revision` is bumped by each new version and label move (replicas poll it). */
export interface PromptTable {
  name: string;
  revision: number;
  created_at: number;
  updated_at: number;
}

/** One immutable version of a prompt. */
export interface PromptVersionTable {
  prompt: string;
  /** 1, 2, 3... per prompt. */
  version: number;
  /** JSON: core/prompts/template.ts PromptContent. */
  content: string;
  /** core/prompts/file.ts contentHash: importing equal content again creates nothing. */
  content_hash: string;
  author: string;
  message: string;
  created_at: number;
}

/** Where a label points now. */
export interface PromptLabelTable {
  prompt: string;
  label: string;
  version: number;
  updated_at: number;
  updated_by: string;
}

/** Every move of a label, kept: the label's history (a rollback is a move back). */
export interface PromptLabelEventTable {
  id: string;
  prompt: string;
  label: string;
  version: number;
  previous_version: number | null;
  at: number;
  actor: string;
  message: string;
}

/** One workbench run: an input answered by several variants side by side. */
export interface WorkbenchRunTable {
  id: string;
  tenant: string;
  created_at: number;
  actor: string;
  title: string | null;
  /** JSON: {variables, messages}. */
  input: string;
  /** JSON: one result per variant. */
  results: string;
}

/** An offline evaluation: a dataset replayed through candidate variants. */
export interface ReplayRunTable {
  id: string;
  tenant: string;
  created_at: number;
  updated_at: number;
  /** JSON. */
  source: string;
  /** JSON: ["route/variant", ...]. */
  candidates: string;
  /** JSON: the scorer settings. */
  scorers: string;
  item_count: number;
  /** running, done or interrupted. */
  status: string;
}

export interface ReplayItemTable {
  run_id: string;
  idx: number;
  /** JSON: core/replay/dataset.ts ReplayItem. */
  item: string;
}

/** One item answered by one candidate, scored; its presence is what resuming skips. */
export interface ReplayResultTable {
  run_id: string;
  idx: number;
  candidate: string;
  status: number;
  output: string | null;
  error: string | null;
  latency_ms: number;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
  prompt_version: string | null;
  /** JSON: {scorer: score from 0 to 1, or null when it could not score}. */
  scores: string;
  judge_raw: string | null;
  created_at: number;
}

export interface Database {
  request_log: RequestLogTable;
  api_keys: ApiKeyTable;
  feedback: FeedbackTable;
  conversations: ConversationTable;
  conversation_messages: ConversationMessageTable;
  responses: ResponseTable;
  experiments: ExperimentTable;
  experiment_pins: ExperimentPinTable;
  experiment_exposures: ExperimentExposureTable;
  experiment_events: ExperimentEventTable;
  shadow_results: ShadowResultTable;
  experiment_rollups: ExperimentRollupTable;
  experiment_feedback_rollups: ExperimentFeedbackRollupTable;
  route_rollups: RouteRollupTable;
  key_rollups: KeyRollupTable;
  prompts: PromptTable;
  prompt_versions: PromptVersionTable;
  prompt_labels: PromptLabelTable;
  prompt_label_events: PromptLabelEventTable;
  workbench_runs: WorkbenchRunTable;
  replay_runs: ReplayRunTable;
  replay_items: ReplayItemTable;
  replay_results: ReplayResultTable;
}

/**
 * Every error Switchyard answers with, in one place. Each has a stable code
 * (`SY_ERR_<AREA>_<WHAT>`), an HTTP status, an OpenAI error `type`, and a typed
 * message builder so the compiler checks the arguments at every throw site.
 *
 * Handlers throw; one place (the server's error handler) renders OpenAI's shape:
 * `{"error": {"message", "type", "code", "param"}}`.
 */

export type OpenAIErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "api_error"
  | "timeout_error"
  | "overloaded_error"
  // OpenAI's type for a 429 that waiting will not clear (a spent quota).
  | "insufficient_quota";

export interface OpenAIErrorBody {
  error: { message: string; type: OpenAIErrorType; code: string; param: string | null };
}

export class SwitchyardError extends Error {
  readonly code: string;
  readonly status: number;
  readonly type: OpenAIErrorType;
  readonly param: string | null;
  /** True when another attempt (retry or fallback) could succeed. */
  readonly retryable: boolean;
  /** Milliseconds the upstream asked us to wait (from `retry-after`), if any. */
  readonly retryAfterMs: number | undefined;

  constructor(
    def: ErrorDef,
    message: string,
    opts: { param?: string | null; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "SwitchyardError";
    this.code = def.code;
    this.status = def.status;
    this.type = def.type;
    this.retryable = def.retryable ?? false;
    this.param = opts.param ?? null;
    this.retryAfterMs = opts.retryAfterMs;
  }

  toJSON(): OpenAIErrorBody {
    return {
      error: { message: this.message, type: this.type, code: this.code, param: this.param },
    };
  }
}

interface ErrorDef {
  code: string;
  status: number;
  type: OpenAIErrorType;
  retryable?: boolean;
}

type Builder<A extends unknown[]> = ((...args: A) => SwitchyardError) & { code: string };

function define<A extends unknown[]>(
  def: ErrorDef,
  message: (...args: A) => string,
  param?: (...args: A) => string | null,
): Builder<A> {
  const build = (...args: A) => new SwitchyardError(def, message(...args), { param: param ? param(...args) : null });
  return Object.assign(build, { code: def.code });
}

/** Like `define`, for errors that wrap a cause or carry a retry-after delay. */
function defineWith<A extends unknown[]>(def: ErrorDef, message: (...args: A) => string) {
  const build = (opts: { cause?: unknown; retryAfterMs?: number }, ...args: A) =>
    new SwitchyardError(def, message(...args), opts);
  return Object.assign(build, { code: def.code, def });
}

const bad = (code: string): ErrorDef => ({ code, status: 400, type: "invalid_request_error" });

export const errors = {
  // ── request ───────────────────────────────────────────────────────────────
  invalidJson: define(
    bad("SY_ERR_REQUEST_INVALID_JSON"),
    (detail: string) => `Request body is not valid JSON: ${detail}`,
  ),
  invalidBody: define(
    bad("SY_ERR_REQUEST_INVALID_BODY"),
    (path: string, problem: string) => `Invalid request body at '${path}': ${problem}`,
    (path: string) => path,
  ),
  invalidHeader: define(
    bad("SY_ERR_REQUEST_INVALID_HEADER"),
    (header: string, problem: string) => `Invalid header '${header}': ${problem}`,
    (header: string) => header,
  ),
  unsupportedMediaType: define(
    { code: "SY_ERR_REQUEST_MEDIA_TYPE", status: 415, type: "invalid_request_error" },
    (got: string) => `Content-Type must be application/json (got '${got}')`,
  ),
  bodyTooLarge: define(
    { code: "SY_ERR_REQUEST_TOO_LARGE", status: 413, type: "invalid_request_error" },
    (limitBytes: number) => `Request body is larger than the limit of ${limitBytes} bytes`,
  ),
  notFound: define(
    { code: "SY_ERR_REQUEST_NOT_FOUND", status: 404, type: "not_found_error" },
    (method: string, url: string) => `No endpoint ${method} ${url}`,
  ),
  untranslatable: define(
    bad("SY_ERR_REQUEST_UNTRANSLATABLE"),
    (backendKind: string, what: string) => `The ${backendKind} backend cannot express ${what}`,
  ),
  /** An inbound API's feature that Switchyard's translation onto its routes does not carry. */
  unsupported: define(
    bad("SY_ERR_REQUEST_UNSUPPORTED"),
    (api: string, what: string) => `Switchyard's ${api} does not translate ${what}`,
  ),

  responseUnknown: define(
    { code: "SY_ERR_RESPONSE_UNKNOWN", status: 404, type: "not_found_error" },
    (id: string, _param: string) =>
      `No stored response or item '${id}' (it may belong to another tenant, or was sent with store: false)`,
    (_id: string, param: string) => param,
  ),

  // ── limits ────────────────────────────────────────────────────────────────
  requestLimit: defineWith(
    { code: "SY_ERR_LIMIT_REQUESTS", status: 429, type: "rate_limit_error" },
    (limit: number, resetMs: number) =>
      `Rate limit reached for this key: ${limit} requests per minute. Try again in ${Math.ceil(resetMs / 1000)} s`,
  ),
  tokenLimit: defineWith(
    { code: "SY_ERR_LIMIT_TOKENS", status: 429, type: "rate_limit_error" },
    (limit: number, resetMs: number) =>
      `Rate limit reached for this key: ${limit} tokens per minute. Try again in ${Math.ceil(resetMs / 1000)} s`,
  ),
  budgetSpent: defineWith(
    { code: "SY_ERR_LIMIT_BUDGET", status: 429, type: "insufficient_quota" },
    (whose: string, spentUsd: number, budgetUsd: number, period: string, resetsAt: string) =>
      `The spend budget of ${whose} is used up: $${spentUsd.toFixed(4)} of $${budgetUsd} this ${period}. It resets at ${resetsAt}`,
  ),

  // ── routing ───────────────────────────────────────────────────────────────
  unknownRoute: define(
    { code: "SY_ERR_ROUTE_UNKNOWN", status: 404, type: "not_found_error" },
    (route: string) => `The model '${route}' does not exist or you do not have access to it`,
    () => "model",
  ),
  unknownVariant: define(
    bad("SY_ERR_ROUTE_UNKNOWN_VARIANT"),
    (route: string, variant: string, known: string[]) =>
      `Route '${route}' has no variant '${variant}' (variants: ${known.join(", ")})`,
  ),

  variantOverrideForbidden: define(
    { code: "SY_ERR_ROUTE_OVERRIDE_FORBIDDEN", status: 403, type: "permission_error" },
    (route: string, experiment: string) =>
      `Route '${route}' is in experiment '${experiment}': only an admin key may choose its variant with x-switchyard-variant`,
  ),

  // ── experiments ───────────────────────────────────────────────────────────
  experimentUnknown: define(
    { code: "SY_ERR_EXPERIMENT_UNKNOWN", status: 404, type: "not_found_error" },
    (name: string) => `No experiment '${name}'`,
  ),
  experimentConflict: define(
    { code: "SY_ERR_EXPERIMENT_CONFLICT", status: 409, type: "invalid_request_error" },
    (problem: string) => problem,
  ),

  // ── prompts ───────────────────────────────────────────────────────────────
  promptUnknown: define(
    { code: "SY_ERR_PROMPT_UNKNOWN", status: 404, type: "not_found_error" },
    (problem: string) => problem,
  ),
  promptTemplateInvalid: define(
    bad("SY_ERR_PROMPT_TEMPLATE_INVALID"),
    (prompt: string, path: string, problem: string) =>
      `Prompt '${prompt}' is not a valid template at '${path}': ${problem}`,
    (_prompt: string, path: string) => path,
  ),
  promptVariableMissing: define(
    bad("SY_ERR_PROMPT_VARIABLE_MISSING"),
    (prompt: string, variable: string, where: string) =>
      `Prompt ${prompt} needs variable '${variable}', which the request does not give (send it in ${where})`,
    (_prompt: string, variable: string) => variable,
  ),
  promptVariableUnknown: define(
    bad("SY_ERR_PROMPT_VARIABLE_UNKNOWN"),
    (prompt: string, variable: string, declared: string[]) =>
      `Prompt ${prompt} declares no variable '${variable}' (its variables: ${declared.join(", ") || "none"})`,
    (_prompt: string, variable: string) => variable,
  ),
  promptVariablesInvalid: define(
    bad("SY_ERR_PROMPT_VARIABLES_INVALID"),
    (where: string, problem: string) => `Invalid prompt variables in ${where}: ${problem}`,
    (where: string) => where,
  ),
  /** The config names a prompt the store does not have: the operator's to fix, not the client's. */
  promptUnresolved: define(
    { code: "SY_ERR_PROMPT_UNRESOLVED", status: 503, type: "api_error" },
    (route: string, variant: string, ref: string, why: string) =>
      `Route '${route}' variant '${variant}' uses prompt ${ref}, which cannot be served: ${why}`,
  ),
  promptConflict: define(
    { code: "SY_ERR_PROMPT_CONFLICT", status: 409, type: "invalid_request_error" },
    (problem: string) => problem,
  ),

  // ── replay ────────────────────────────────────────────────────────────────
  replayUnknown: define(
    { code: "SY_ERR_REPLAY_UNKNOWN", status: 404, type: "not_found_error" },
    (id: string) => `No replay run '${id}'`,
  ),
  replayConflict: define(
    { code: "SY_ERR_REPLAY_CONFLICT", status: 409, type: "invalid_request_error" },
    (problem: string) => problem,
  ),

  workbenchUnknown: define(
    { code: "SY_ERR_WORKBENCH_UNKNOWN", status: 404, type: "not_found_error" },
    (id: string) => `No workbench run '${id}'`,
  ),

  // ── feedback ──────────────────────────────────────────────────────────────
  feedbackUnknownRequest: define(
    { code: "SY_ERR_FEEDBACK_UNKNOWN_REQUEST", status: 404, type: "not_found_error" },
    (requestId: string, _field: string) => `No request '${requestId}' to attach feedback to`,
    (_requestId: string, field: string) => field,
  ),

  // ── conversations ─────────────────────────────────────────────────────────
  conversationUnknown: define(
    { code: "SY_ERR_CONVERSATION_UNKNOWN", status: 404, type: "not_found_error" },
    (id: string) => `No conversation '${id}'`,
  ),
  invalidQuery: define(
    bad("SY_ERR_REQUEST_INVALID_QUERY"),
    (param: string, problem: string) => `Invalid query parameter '${param}': ${problem}`,
    (param: string) => param,
  ),

  // ── auth ──────────────────────────────────────────────────────────────────
  missingKey: define(
    { code: "SY_ERR_AUTH_MISSING_KEY", status: 401, type: "authentication_error" },
    () => "Missing API key: send 'Authorization: Bearer <switchyard key>' (or 'x-api-key: <switchyard key>')",
  ),
  invalidKey: define(
    { code: "SY_ERR_AUTH_INVALID_KEY", status: 401, type: "authentication_error" },
    () => "Invalid API key",
  ),
  forbidden: define(
    { code: "SY_ERR_AUTH_FORBIDDEN", status: 403, type: "permission_error" },
    (what: string) => `This key may not ${what}`,
  ),

  // ── keys ──────────────────────────────────────────────────────────────────
  keyUnknown: define(
    { code: "SY_ERR_KEY_UNKNOWN", status: 404, type: "not_found_error" },
    (id: string) => `No API key '${id}' in your tenant`,
  ),
  keyRevokeSelf: define(
    { code: "SY_ERR_KEY_REVOKE_SELF", status: 409, type: "invalid_request_error" },
    (id: string) =>
      `Key '${id}' is the one this request is signed with; revoke it with another admin key so you are not locked out`,
  ),

  // ── backends ──────────────────────────────────────────────────────────────
  upstreamStatus: defineWith(
    { code: "SY_ERR_UPSTREAM_STATUS", status: 502, type: "api_error", retryable: true },
    (backend: string, status: number, detail: string) =>
      `Backend '${backend}' answered HTTP ${status}${detail ? `: ${detail}` : ""}`,
  ),
  upstreamRejected: defineWith(
    bad("SY_ERR_UPSTREAM_REJECTED"),
    (backend: string, status: number, detail: string) =>
      `Backend '${backend}' rejected the request (HTTP ${status})${detail ? `: ${detail}` : ""}`,
  ),
  upstreamAuth: defineWith(
    { code: "SY_ERR_UPSTREAM_AUTH", status: 502, type: "api_error" },
    (backend: string, status: number) =>
      `Backend '${backend}' refused Switchyard's credentials (HTTP ${status}); check its apiKey in the config`,
  ),
  upstreamRateLimited: defineWith(
    { code: "SY_ERR_UPSTREAM_RATE_LIMITED", status: 429, type: "rate_limit_error", retryable: true },
    (backend: string) => `Backend '${backend}' is rate limiting requests`,
  ),
  upstreamUnreachable: defineWith(
    { code: "SY_ERR_UPSTREAM_UNREACHABLE", status: 502, type: "api_error", retryable: true },
    (backend: string, why: string) => `Backend '${backend}' could not be reached: ${why}`,
  ),
  upstreamTimeout: defineWith(
    { code: "SY_ERR_UPSTREAM_TIMEOUT", status: 504, type: "timeout_error", retryable: true },
    (backend: string, which: "connect" | "first byte" | "total", ms: number) =>
      `Backend '${backend}' exceeded its ${which} timeout of ${ms} ms`,
  ),
  shadowTimeout: define(
    // Not retryable: a shadow call cut by its own deadline is no fault of the backend's,
    // so it neither retries nor counts towards the backend's breaker.
    { code: "SY_ERR_SHADOW_TIMEOUT", status: 504, type: "timeout_error" },
    (backend: string, which: "shadow" | "judge", ms: number) =>
      `The ${which} call to backend '${backend}' exceeded its ${which} timeout of ${ms} ms`,
  ),
  upstreamProtocol: defineWith(
    { code: "SY_ERR_UPSTREAM_PROTOCOL", status: 502, type: "api_error", retryable: true },
    (backend: string, detail: string) => `Backend '${backend}' sent a malformed response: ${detail}`,
  ),
  upstreamStreamBroken: defineWith(
    { code: "SY_ERR_UPSTREAM_STREAM_BROKEN", status: 502, type: "api_error" },
    (backend: string, detail: string) => `Backend '${backend}' failed mid-stream: ${detail}`,
  ),
  breakerOpen: defineWith(
    { code: "SY_ERR_BACKEND_BREAKER_OPEN", status: 503, type: "overloaded_error", retryable: true },
    (backend: string) => `Backend '${backend}' is unavailable (circuit breaker open)`,
  ),
  backendSaturated: defineWith(
    { code: "SY_ERR_BACKEND_SATURATED", status: 503, type: "overloaded_error", retryable: true },
    (backend: string, limit: number) => `Backend '${backend}' is at its concurrency limit of ${limit}`,
  ),
  // ── local engine (llama-cpp) ──────────────────────────────────────────────
  localOverloaded: defineWith(
    // Retryable so the fallback chain moves on; never counted towards the breaker (resilient.ts).
    { code: "SY_ERR_LOCAL_OVERLOADED", status: 503, type: "overloaded_error", retryable: true },
    (backend: string, parallel: number, queued: number) =>
      `Local model '${backend}' is busy: ${parallel} sequences generating and ${queued} requests queued (its limit); retry shortly`,
  ),
  localModelUnavailable: defineWith(
    // Not retryable (a failed load stays failed), but a 503: the fallback chain moves on.
    { code: "SY_ERR_LOCAL_MODEL_UNAVAILABLE", status: 503, type: "api_error" },
    (backend: string, why: string) => `Local model '${backend}' is not available: ${why}`,
  ),
  localGenerationFailed: defineWith(
    { code: "SY_ERR_LOCAL_GENERATION_FAILED", status: 502, type: "api_error", retryable: true },
    (backend: string, why: string) => `Local model '${backend}' failed while generating: ${why}`,
  ),
  localPromptTooLong: define(
    { code: "SY_ERR_LOCAL_PROMPT_TOO_LONG", status: 400, type: "invalid_request_error" },
    (backend: string, promptTokens: number, contextSize: number) =>
      `The prompt is ${promptTokens} tokens: backend '${backend}' holds ${contextSize} tokens per sequence (prompt and answer); shorten it or raise contextSize`,
    () => "messages",
  ),
  /** Never sent (the client is gone): the code the request log records. 499 as nginx counts it. */
  clientClosed: define(
    { code: "SY_ERR_REQUEST_CLIENT_CLOSED", status: 499, type: "invalid_request_error" },
    (when: "before the answer" | "mid-stream") => `the client closed the connection ${when}`,
  ),
  shuttingDown: define(
    { code: "SY_ERR_SERVER_SHUTTING_DOWN", status: 503, type: "overloaded_error" },
    () => "Switchyard is shutting down; retry on another replica",
  ),
  internal: define(
    { code: "SY_ERR_SERVER_INTERNAL", status: 500, type: "api_error" },
    (requestId: string) => `Internal error (request ${requestId}); see the server log`,
  ),
} as const;

export function isSwitchyardError(e: unknown): e is SwitchyardError {
  return e instanceof SwitchyardError;
}

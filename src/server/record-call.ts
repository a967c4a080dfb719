/**
 * Turns the outcome of one call into a request-log row and metrics. Runs after
 * the answer has gone out; the only awaited work is the token estimate for an
 * upstream that sent no usage, and the row is pushed to memory, never written
 * here. `recordCall` is chat's; other endpoints count their tokens themselves
 * and call `pushLogRow`.
 */
import type { ChainResult, FailedAttempt } from "../backends/chain.js";
import { type ConversationTurn, messageText } from "../core/conversation.js";
import { costUsd } from "../core/cost.js";
import type { Unit } from "../core/experiment.js";
import type { ChatMessage, ChatRequest, Usage } from "../core/openai-types.js";
import { estimatePromptTokens, estimateTextTokens } from "../core/tokens.js";
import type { Exposure } from "../store/request-log.js";
import type { Principal } from "./auth.js";
import type { ChatEndpoint } from "./dialect.js";
import type { Gateway } from "./gateway.js";
import type { ResolvedRoute } from "./resolve-route.js";
import type { ShadowHandle } from "./shadow.js";

/** What every logged call knows about itself, whatever its endpoint. */
export interface LoggedCall {
  requestId: string;
  createdAt: number;
  /** performance.now() when the request arrived. */
  t0: number;
  principal: Principal;
  user: string | null;
  /** The conversation, when the call has one (`x-switchyard-session`). */
  session: string | null;
  /** What an experiment assigns by (used only when the route has one). */
  unit: Unit;
  resolved: ResolvedRoute;
  stream: boolean;
  /** The inbound API: "chat" unless said otherwise. */
  endpoint?: ChatEndpoint | "embeddings";
  /** `NAME@VERSION` of the variant's prompt, when it has one. */
  promptVersion?: string | null;
}

export interface CallOutcome extends LoggedCall {
  /** Chat calls always have one: made when the client sent none. */
  session: string;
  /** Set when a shadow call is comparing itself with this request. */
  shadow?: ShadowHandle | undefined;
  request: ChatRequest;
}

/** Token counts as logged: the upstream's usage, or an estimate (`estimated` 1). */
export interface LoggedTokens {
  input: number | null;
  output: number | null;
  estimated: 0 | 1;
}

export interface CallEnd {
  status: number;
  chain?: ChainResult;
  usage?: Usage | undefined;
  finishReason?: string | null;
  /** The answer's text, given only when usage is missing so tokens must be counted here. */
  outputText?: string | undefined;
  ttftMs?: number | null;
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
  failures?: FailedAttempt[];
  /** Upstream calls made when no chain result exists (every target failed). */
  attempts?: number;
  /** The complete answer (first choice), stored with the conversation; absent when there was none. */
  answer?: ChatMessage | undefined;
  /** Answered from the response cache: no upstream was called, nothing was spent. */
  cacheHit?: boolean;
}

/** What `pushLogRow` reads of how a call ended. */
export type LogRowEnd = Pick<
  CallEnd,
  "status" | "finishReason" | "ttftMs" | "errorCode" | "errorMessage" | "failures" | "attempts" | "cacheHit"
> & { chain?: ChainResult<unknown> | undefined };

export function recordCall(gw: Gateway, o: CallOutcome, end: CallEnd): void {
  const latencyMs = performance.now() - o.t0;
  o.shadow?.primaryDone({
    status: end.status,
    latencyMs,
    text: end.answer ? messageText(end.answer) : (end.outputText ?? null),
    answer: end.answer ?? null,
    errorCode: end.errorCode ?? null,
  });
  gw.recording(
    buildAndPush(gw, o, end, latencyMs).catch((e) => {
      gw.logger.error({ err: e, request_id: o.requestId }, "could not record a request log row");
    }),
  );
}

async function buildAndPush(gw: Gateway, o: CallOutcome, end: CallEnd, latencyMs: number): Promise<void> {
  // Upstream values are checked: one wrong-typed field must not fail a log batch.
  let tokens: LoggedTokens = {
    input: finiteOrNull(end.usage?.prompt_tokens),
    output: finiteOrNull(end.usage?.completion_tokens),
    estimated: 0,
  };
  if (end.chain && !end.usage && end.outputText !== undefined) {
    tokens = {
      input: await estimatePromptTokens(o.request.messages),
      output: await estimateTextTokens(end.outputText),
      estimated: 1,
    };
  }
  const turn: ConversationTurn | null =
    end.answer && gw.config.conversations.store
      ? {
          tenant: o.principal.tenant,
          session: o.session,
          user: o.user,
          route: o.resolved.name,
          requestId: o.requestId,
          createdAt: o.createdAt,
          messages: o.request.messages,
          answer: end.answer,
        }
      : null;
  pushLogRow(gw, o, end, latencyMs, tokens, turn);
}

/** Hands one call's row (and its conversation turn, if any) to the log writer, and counts it in the metrics. */
export function pushLogRow(
  gw: Gateway,
  o: LoggedCall,
  end: LogRowEnd,
  latencyMs: number,
  tokens: LoggedTokens,
  turn: ConversationTurn | null,
): void {
  const chain = end.chain;
  const backendName = chain?.target.backend.name ?? null;
  const model = chain?.target.model ?? null;
  const { input, output, estimated } = tokens;
  // A cached answer used no upstream tokens, so it spends none of the key's.
  if (!end.cacheHit) gw.limits.spend(o.principal, (input ?? 0) + (output ?? 0));
  const backendCfg = chain ? gw.config.backends[chain.target.backend.name] : undefined;
  const price = model ? backendCfg?.prices[model] : undefined;
  const cost = end.cacheHit ? 0 : costUsd(price, input, output);
  if (cost) gw.budgets.spend(o.principal, cost);
  const failures = [...(end.failures ?? []), ...(chain?.failures ?? [])];
  const variant = o.resolved.variant.name;
  const route = o.resolved.name;
  const experiment = o.resolved.experiment;
  const exposure: Exposure | null =
    experiment &&
    o.resolved.assignedBy === "hash" &&
    gw.experiments.firstSeen(experiment.name, o.principal.tenant, o.unit)
      ? {
          experiment: experiment.name,
          tenant: o.principal.tenant,
          unitKind: o.unit.kind,
          unitId: o.unit.id,
          variant,
          requestId: o.requestId,
          at: o.createdAt,
        }
      : null;

  gw.log.push(
    {
      id: o.requestId,
      created_at: o.createdAt,
      tenant: o.principal.tenant,
      key_id: o.principal.keyId,
      user_id: o.user,
      session_id: o.session,
      route,
      experiment: experiment?.name ?? null,
      variant,
      backend: backendName,
      upstream_model: model,
      prompt_version: o.promptVersion ?? null,
      stream: o.stream ? 1 : 0,
      status: end.status,
      error_code: end.errorCode ?? null,
      error_message: end.errorMessage ?? null,
      finish_reason: typeof end.finishReason === "string" ? end.finishReason.slice(0, 64) : null,
      input_tokens: input,
      output_tokens: output,
      tokens_estimated: estimated,
      cost_usd: cost,
      latency_ms: latencyMs,
      ttft_ms: end.ttftMs ?? null,
      served_by: chain?.servedBy ?? null,
      fallback_used: chain && chain.servedBy > 0 ? 1 : 0,
      attempts: chain?.attempts ?? end.attempts ?? 0,
      failures: failures.length > 0 ? JSON.stringify(failures) : null,
      unit_kind: experiment ? o.unit.kind : null,
      assigned_by: o.resolved.assignedBy,
      endpoint: o.endpoint ?? "chat",
      adapter: chain?.target.adapter ?? null,
      cache_hit: end.cacheHit ? 1 : 0,
    },
    turn,
    exposure,
  );

  const labels = { route, variant, backend: backendName ?? "none" };
  if (experiment) {
    gw.metrics.experimentAssignments.inc({
      experiment: experiment.name,
      variant,
      assigned_by: o.resolved.assignedBy,
    });
  }
  gw.metrics.requests.inc({ ...labels, status: String(end.status) });
  gw.metrics.latency.observe(labels, latencyMs / 1000);
  if (end.ttftMs != null) gw.metrics.ttft.observe(labels, end.ttftMs / 1000);
  for (const f of failures) gw.metrics.upstreamErrors.inc({ backend: f.backend, code: f.code });
  if (end.errorCode && backendName && !failures.some((f) => f.code === end.errorCode)) {
    gw.metrics.upstreamErrors.inc({ backend: backendName, code: end.errorCode });
  }
}

function finiteOrNull(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/**
 * Turns the outcome of one chat call into a request-log row and metrics. Runs
 * after the answer has gone out; the only awaited work is the token estimate for
 * an upstream that sent no usage, and the row is pushed to memory, never written
 * here.
 */
import type { ChainResult, FailedAttempt } from "../backends/chain.js";
import { type ConversationTurn, messageText } from "../core/conversation.js";
import { costUsd } from "../core/cost.js";
import type { Unit } from "../core/experiment.js";
import type { ChatMessage, ChatRequest, Usage } from "../core/openai-types.js";
import { estimatePromptTokens, estimateTextTokens } from "../core/tokens.js";
import type { Exposure } from "../store/request-log.js";
import type { Principal } from "./auth.js";
import type { Gateway } from "./gateway.js";
import type { ResolvedRoute } from "./resolve-route.js";
import type { ShadowHandle } from "./shadow.js";

export interface CallOutcome {
  requestId: string;
  createdAt: number;
  /** performance.now() when the request arrived. */
  t0: number;
  principal: Principal;
  user: string | null;
  session: string;
  /** What an experiment assigns by (used only when the route has one). */
  unit: Unit;
  resolved: ResolvedRoute;
  /** Set when a shadow call is comparing itself with this request. */
  shadow?: ShadowHandle | undefined;
  stream: boolean;
  request: ChatRequest;
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
}

export function recordCall(gw: Gateway, o: CallOutcome, end: CallEnd): void {
  const latencyMs = performance.now() - o.t0;
  o.shadow?.primaryDone({
    status: end.status,
    latencyMs,
    text: end.answer ? messageText(end.answer) : (end.outputText ?? null),
    errorCode: end.errorCode ?? null,
  });
  gw.recording(
    buildAndPush(gw, o, end, latencyMs).catch((e) => {
      gw.logger.error({ err: e, request_id: o.requestId }, "could not record a request log row");
    }),
  );
}

async function buildAndPush(gw: Gateway, o: CallOutcome, end: CallEnd, latencyMs: number): Promise<void> {
  const chain = end.chain;
  const backendName = chain?.target.backend.name ?? null;
  const model = chain?.target.model ?? null;
  // Upstream values are checked: one wrong-typed field must not fail a log batch.
  let input = finiteOrNull(end.usage?.prompt_tokens);
  let output = finiteOrNull(end.usage?.completion_tokens);
  let estimated = 0;
  if (chain && !end.usage && end.outputText !== undefined) {
    input = await estimatePromptTokens(o.request.messages);
    output = await estimateTextTokens(end.outputText);
    estimated = 1;
  }
  const backendCfg = chain ? gw.config.backends[chain.target.backend.name] : undefined;
  const price = model ? backendCfg?.prices[model] : undefined;
  const failures = [...(end.failures ?? []), ...(chain?.failures ?? [])];
  const variant = o.resolved.variant.name;
  const route = o.resolved.name;
  const turn: ConversationTurn | null =
    end.answer && gw.config.conversations.store
      ? {
          tenant: o.principal.tenant,
          session: o.session,
          user: o.user,
          route,
          requestId: o.requestId,
          createdAt: o.createdAt,
          messages: o.request.messages,
          answer: end.answer,
        }
      : null;
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
      prompt_version: null,
      stream: o.stream ? 1 : 0,
      status: end.status,
      error_code: end.errorCode ?? null,
      error_message: end.errorMessage ?? null,
      finish_reason: typeof end.finishReason === "string" ? end.finishReason.slice(0, 64) : null,
      input_tokens: input,
      output_tokens: output,
      tokens_estimated: estimated,
      cost_usd: costUsd(price, input, output),
      latency_ms: latencyMs,
      ttft_ms: end.ttftMs ?? null,
      served_by: chain?.servedBy ?? null,
      fallback_used: chain && chain.servedBy > 0 ? 1 : 0,
      attempts: chain?.attempts ?? end.attempts ?? 0,
      failures: failures.length > 0 ? JSON.stringify(failures) : null,
      unit_kind: experiment ? o.unit.kind : null,
      assigned_by: o.resolved.assignedBy,
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

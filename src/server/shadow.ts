/**
 * Shadow traffic: a share of an experiment's requests is also sent, in the
 * background, to candidate variants, and each candidate's answer is stored
 * beside the primary's for comparison (statuses, latencies, lengths, lexical
 * similarity, and optionally a judge model's verdict).
 *
 * It never delays or fails the user's answer: the candidate call starts on a
 * later tick than the primary, always non-streaming, under its own timeout.
 * It is shed first under load, and every shed is counted in metrics: a fixed
 * number of shadow calls run at once, a fixed number wait, and the rest are
 * dropped; a candidate whose breaker is open, or whose backend is past
 * maxBackendShare of its concurrency (users' calls included), is skipped
 * rather than queued. On shutdown the waiting work is dropped and running
 * calls are cut, and neither is stored (they say nothing about the candidate).
 */

import { Cancel } from "../backends/cancel.js";
import { ChainError, runChain } from "../backends/chain.js";
import type { ResilientBackend, Started } from "../backends/resilient.js";
import type { Config, ShadowConfig, VariantConfig } from "../core/config/schema.js";
import { messageText } from "../core/conversation.js";
import { costUsd } from "../core/cost.js";
import type { Experiment } from "../core/experiment.js";
import { timeOrderedId } from "../core/ids.js";
import { DEFAULT_JUDGE_RUBRIC, judgeMessages, judgeOrder, parseJudgeVerdict } from "../core/judge.js";
import type { ChatMessage, ChatRequest, Usage } from "../core/openai-types.js";
import { StreamAnswer } from "../core/stream-answer.js";
import { compareToolCalls, toolCallsOf } from "../core/tool-calls.js";
import { errors, isSwitchyardError } from "../errors.js";
import type { RequestLogWriter } from "../store/request-log.js";
import { type ShadowRow, shadowValues } from "../store/shadow-columns.js";
import type { GatewayMetrics } from "./metrics.js";

/** Each answer is stored up to this many characters (its full length is kept apart). */
export const SHADOW_OUTPUT_MAX_CHARS = 32_768;
/** The conversation shown to the judge keeps its last this many characters. */
const JUDGE_CONVERSATION_MAX_CHARS = 16_000;
const JUDGE_RAW_MAX_CHARS = 8_000;

const TIMEOUTS = new Set([errors.shadowTimeout.code, errors.upstreamTimeout.code]);

export type ShedReason = "queue_full" | "breaker_open" | "backend_busy" | "shutdown";

/** How the primary call ended, as recorded for the user. */
export interface PrimaryOutcome {
  status: number;
  latencyMs: number;
  text: string | null;
  /** The answer's message, when it was complete, for comparing tool calls. */
  answer: ChatMessage | null;
  errorCode: string | null;
}

/** Given to the request path: say how the primary ended, once. */
export interface ShadowHandle {
  primaryDone(o: PrimaryOutcome): void;
}

export interface ShadowRequest {
  requestId: string;
  tenant: string;
  createdAt: number;
  experiment: Experiment;
  /** The variant that answered the user. */
  served: string;
  variants: readonly VariantConfig[];
  /** The client's request, before any variant's prompt. */
  body: ChatRequest;
  /** The request a candidate sends (its own prompt applied); undefined skips the candidate. */
  bodyFor?: (variant: VariantConfig) => ChatRequest | undefined;
}

interface Job {
  req: ShadowRequest;
  shadow: ShadowConfig;
  variant: VariantConfig;
  backend: ResilientBackend;
  /** What the candidate sends. */
  body: ChatRequest;
  queuedAt: number;
  primary: Promise<PrimaryOutcome | undefined>;
}

interface CandidateResult {
  status: number;
  latencyMs: number;
  text: string | null;
  answer: ChatMessage | null;
  usage: Usage | undefined;
  errorCode: string | null;
  errorMessage: string | null;
}

export interface ShadowDeps {
  config: Config;
  backends: ReadonlyMap<string, ResilientBackend>;
  metrics: GatewayMetrics;
  log: RequestLogWriter;
  logger: { error(obj: object, msg: string): void };
}

export class ShadowRunner {
  #active = 0;
  readonly #queue: Job[] = [];
  readonly #calls = new Set<Cancel>();
  readonly #jobs = new Set<Promise<void>>();
  #closing = false;
  /** Resolves pending waits for a primary when shutting down. */
  readonly #closed = new Cancel();

  constructor(private readonly deps: ShadowDeps) {}

  get active(): number {
    return this.#active;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Decides whether this request is shadowed and admits its candidate calls.
   * Cheap and synchronous: the calls themselves start on a later tick.
   */
  begin(req: ShadowRequest): ShadowHandle | undefined {
    const shadow = req.experiment.shadow;
    if (!shadow || req.experiment.status !== "running" || this.#closing) return undefined;
    if (shadow.share < 1 && Math.random() >= shadow.share) return undefined;
    let done!: (o: PrimaryOutcome | undefined) => void;
    const primary = new Promise<PrimaryOutcome | undefined>((resolve) => {
      done = resolve;
    });
    const stop = this.#closed.onCancel(() => done(undefined));
    let admitted = 0;
    for (const name of shadow.variants) {
      if (name === req.served) continue;
      const variant = req.variants.find((v) => v.name === name);
      const backend = variant ? this.deps.backends.get(variant.backend) : undefined;
      if (!variant || !backend) continue;
      const body = req.bodyFor ? req.bodyFor(variant) : req.body;
      if (!body) continue;
      const job: Job = { req, shadow, variant, backend, body, queuedAt: performance.now(), primary };
      if (this.#admit(job)) admitted++;
    }
    if (admitted === 0) {
      stop();
      return undefined;
    }
    return {
      primaryDone: (o) => {
        stop();
        done(o);
      },
    };
  }

  #admit(job: Job): boolean {
    const experiment = job.req.experiment.name;
    const limits = this.deps.config.shadow;
    let reason: ShedReason | undefined;
    if (job.backend.breakerState === "open") reason = "breaker_open";
    else if (this.#active < limits.maxConcurrency) {
      this.#start(job);
      return true;
    } else if (this.#queue.length < limits.maxQueue) {
      this.#queue.push(job);
      return true;
    } else reason = "queue_full";
    this.deps.metrics.shadowShed.inc({ experiment, reason });
    return false;
  }

  /**
   * Shadow work is shed first: a shadow (or judge) call starts only while all of its
   * backend's calls in flight, the users' included, are below maxBackendShare of the
   * backend's maxConcurrency, so the users' calls always keep the rest.
   */
  #backendHasRoom(backend: ResilientBackend): boolean {
    const cfg = this.deps.config.backends[backend.name];
    const limit = Math.floor((cfg?.maxConcurrency ?? 0) * this.deps.config.shadow.maxBackendShare);
    return backend.inFlight < limit && backend.breakerState !== "open";
  }

  #start(job: Job): void {
    this.#active++;
    const p = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#run(job))
      .catch((e) =>
        this.deps.logger.error({ err: e, request_id: job.req.requestId }, "shadow call failed unexpectedly"),
      )
      .finally(() => this.#jobs.delete(p));
    this.#jobs.add(p);
  }

  #release(): void {
    this.#active--;
    const next = this.#queue.shift();
    if (next) this.#start(next);
  }

  async #run(job: Job): Promise<void> {
    const experiment = job.req.experiment.name;
    const backendName = job.backend.name;
    if (this.#closing || !this.#backendHasRoom(job.backend)) {
      this.#release();
      const reason: ShedReason = this.#closing
        ? "shutdown"
        : job.backend.breakerState === "open"
          ? "breaker_open"
          : "backend_busy";
      this.deps.metrics.shadowShed.inc({ experiment, reason });
      return;
    }
    const queuedMs = performance.now() - job.queuedAt;
    let candidate: CandidateResult;
    try {
      candidate = await this.#callCandidate(job);
    } finally {
      this.#release();
    }
    if (candidate.errorCode === errors.shuttingDown.code) {
      // Cut by our own shutdown: no verdict on the candidate, so nothing to compare or store.
      this.deps.metrics.shadowShed.inc({ experiment, reason: "shutdown" });
      return;
    }
    const outcome = candidate.status === 200 ? "ok" : TIMEOUTS.has(candidate.errorCode ?? "") ? "timeout" : "error";
    this.deps.metrics.shadowCalls.inc({ experiment, variant: job.variant.name, outcome });

    const primary = await job.primary;
    // Shutdown came first: the primary's end is unknown, so there is nothing to compare.
    if (!primary) return;
    const judged = await this.#maybeJudge(job, primary, candidate);
    const price = this.deps.config.backends[backendName]?.prices[job.variant.model];
    const input = finite(candidate.usage?.prompt_tokens);
    const output = finite(candidate.usage?.completion_tokens);
    const row: ShadowRow = {
      id: timeOrderedId("shd_"),
      request_id: job.req.requestId,
      experiment,
      tenant: job.req.tenant,
      created_at: job.req.createdAt,
      primary_variant: job.req.served,
      candidate_variant: job.variant.name,
      candidate_backend: backendName,
      candidate_model: job.variant.model,
      primary_status: primary.status,
      candidate_status: candidate.status,
      primary_error: primary.errorCode,
      candidate_error: candidate.errorCode,
      candidate_error_message: candidate.errorMessage,
      primary_latency_ms: primary.latencyMs,
      candidate_latency_ms: candidate.latencyMs,
      queued_ms: queuedMs,
      primary_output: primary.text?.slice(0, SHADOW_OUTPUT_MAX_CHARS) ?? null,
      candidate_output: candidate.text?.slice(0, SHADOW_OUTPUT_MAX_CHARS) ?? null,
      primary_length: primary.text?.length ?? null,
      candidate_length: candidate.text?.length ?? null,
      candidate_input_tokens: input,
      candidate_output_tokens: output,
      candidate_cost_usd: costUsd(price, input, output),
      ...(primary.status === 200 && candidate.status === 200
        ? compareToolCalls(toolCallsOf(primary.answer), toolCallsOf(candidate.answer))
        : {}),
      ...judged,
    };
    this.deps.log.pushShadow(shadowValues(row));
  }

  /** One upstream call under the shadow's own timeout; never throws. */
  async #call(
    backend: ResilientBackend,
    model: string,
    params: Record<string, unknown>,
    body: ChatRequest,
    id: string,
    timeoutMs: number,
    which: "shadow" | "judge",
    adapter?: string,
  ): Promise<CandidateResult> {
    const t0 = performance.now();
    const cancel = new Cancel();
    this.#calls.add(cancel);
    const timer = setTimeout(() => cancel.cancel(errors.shadowTimeout(backend.name, which, timeoutMs)), timeoutMs);
    let started: Started | undefined;
    try {
      const chain = await runChain([{ backend, model, params, adapter }], body, id, cancel);
      started = chain.started;
      const answer = await Promise.race([collect(started), cancel.rejection()]);
      return { status: 200, latencyMs: performance.now() - t0, errorCode: null, errorMessage: null, ...answer };
    } catch (e) {
      const cause = e instanceof ChainError ? e.last : e;
      const reason = cancel.cancelled ? cancel.reason : cause;
      const se = isSwitchyardError(reason) ? reason : errors.internal(id);
      return {
        status: se.status,
        latencyMs: performance.now() - t0,
        text: null,
        answer: null,
        usage: undefined,
        errorCode: se.code,
        errorMessage: se.message,
      };
    } finally {
      clearTimeout(timer);
      started?.finish();
      this.#calls.delete(cancel);
    }
  }

  #callCandidate(job: Job): Promise<CandidateResult> {
    const { stream: _stream, stream_options: _options, ...rest } = job.body;
    return this.#call(
      job.backend,
      job.variant.model,
      job.variant.params,
      rest as ChatRequest,
      `${job.req.requestId}:shadow:${job.variant.name}`,
      job.shadow.timeoutMs,
      "shadow",
      job.variant.adapter,
    );
  }

  async #maybeJudge(
    job: Job,
    primary: PrimaryOutcome,
    candidate: CandidateResult,
  ): Promise<Pick<ShadowRow, "judge_status" | "judge_model" | "judge_winner" | "judge_reason" | "judge_raw">> {
    const judge = job.shadow.judge;
    const none = { judge_status: null, judge_model: null, judge_winner: null, judge_reason: null, judge_raw: null };
    if (
      !judge ||
      primary.status !== 200 ||
      candidate.status !== 200 ||
      primary.text === null ||
      candidate.text === null
    )
      return none;
    if (judge.share < 1 && Math.random() >= judge.share) return none;
    const backend = this.deps.backends.get(judge.backend);
    if (!backend) return none;
    // The judge takes a shadow slot too, or is skipped: it is shadow work like any other.
    const reason: ShedReason | undefined = this.#closing
      ? "shutdown"
      : this.#active >= this.deps.config.shadow.maxConcurrency
        ? "queue_full"
        : backend.breakerState === "open"
          ? "breaker_open"
          : !this.#backendHasRoom(backend)
            ? "backend_busy"
            : undefined;
    if (reason) {
      this.deps.metrics.shadowShed.inc({ experiment: job.req.experiment.name, reason });
      return { ...none, judge_status: "shed", judge_model: judge.model };
    }
    this.#active++;
    try {
      const order = judgeOrder(`${job.req.requestId}:${job.variant.name}`);
      const [first, second] =
        order === "primary-first" ? [primary.text, candidate.text] : [candidate.text, primary.text];
      const messages = judgeMessages({
        rubric: judge.rubric ?? DEFAULT_JUDGE_RUBRIC,
        conversation: renderConversation(job.req.body.messages),
        first: first.slice(0, SHADOW_OUTPUT_MAX_CHARS),
        second: second.slice(0, SHADOW_OUTPUT_MAX_CHARS),
      });
      const r = await this.#call(
        backend,
        judge.model,
        {},
        { model: judge.model, messages: messages as ChatMessage[], temperature: 0 },
        `${job.req.requestId}:judge:${job.variant.name}`,
        judge.timeoutMs,
        "judge",
      );
      if (r.status !== 200 || r.text === null) {
        return { ...none, judge_status: "error", judge_model: judge.model, judge_raw: r.errorMessage };
      }
      const verdict = parseJudgeVerdict(r.text, order);
      return {
        judge_status: verdict.parsed ? "ok" : "unparsed",
        judge_model: judge.model,
        judge_winner: verdict.winner,
        judge_reason: verdict.reason,
        judge_raw: r.text.slice(0, JUDGE_RAW_MAX_CHARS),
      };
    } finally {
      this.#release();
    }
  }

  /** Drops waiting work, cuts running calls, and waits for their results to be queued for the store. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const job of this.#queue.splice(0)) {
      this.deps.metrics.shadowShed.inc({ experiment: job.req.experiment.name, reason: "shutdown" });
    }
    for (const c of this.#calls) c.cancel(errors.shuttingDown());
    this.#closed.cancel(undefined);
    await Promise.allSettled([...this.#jobs]);
  }
}

async function collect(
  started: Started,
): Promise<{ text: string; answer: ChatMessage | null; usage: Usage | undefined }> {
  if (started.kind === "json") {
    const message = started.body.choices[0]?.message;
    return {
      text: message ? messageText(message) : "",
      answer: message ?? null,
      usage: started.body.usage ?? undefined,
    };
  }
  const answer = new StreamAnswer();
  let usage: Usage | undefined;
  const take = (c: { chunk: { usage?: Usage | null; choices: { delta?: Record<string, unknown> }[] } }) => {
    if (c.chunk.usage) usage = c.chunk.usage;
    answer.add(c.chunk.choices[0]?.delta);
  };
  if (started.first) take(started.first);
  for await (const c of started.rest) take(c);
  const message = answer.message();
  return { text: messageText(message), answer: message, usage };
}

function renderConversation(messages: ChatMessage[]): string {
  const text = messages.map((m) => `${m.role}: ${messageText(m)}`).join("\n\n");
  return text.length > JUDGE_CONVERSATION_MAX_CHARS ? `…${text.slice(-JUDGE_CONVERSATION_MAX_CHARS)}` : text;
}

function finite(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/**
 * Wraps any Backend with the per-backend protections from its config: first-byte
 * and total timeouts, retries with backoff (only for retryable failures, only
 * before the client has received a byte), a consecutive-failure circuit breaker
 * and a concurrency limit. Backends stay pure translators.
 */
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  DelegateBackoff,
  handleWhen,
  type RetryPolicy,
  retry,
} from "cockatiel";
import type { ChatCompletion, ChatRequest, EmbeddingsRequest } from "../core/openai-types.js";
import { errors, isSwitchyardError, type SwitchyardError } from "../errors.js";
import { Cancel } from "./cancel.js";
import { DRAIN_MAX_MS } from "./sse.js";
import type { Backend, BackendCallContext, EmbeddingsResult, StreamChunk } from "./types.js";

export interface ResilienceOptions {
  timeouts: { firstByteMs: number; totalMs: number };
  retry: { maxRetries: number; baseDelayMs: number; maxDelayMs: number };
  breaker: { failureThreshold: number; cooldownMs: number };
  maxConcurrency: number;
}

export type BreakerState = "closed" | "open" | "half-open";

/** An upstream answer that has started: the client may now be sent bytes. */
export type Started<J = ChatCompletion> =
  | { kind: "json"; body: J; raw?: string; finish(): void }
  | {
      kind: "stream";
      /** The first chunk, already received (undefined if the stream was empty). */
      first: StreamChunk | undefined;
      /** The remaining chunks; iterating past the end or breaking releases the backend. */
      rest: AsyncIterable<StreamChunk>;
      /** Ends the upstream call now (client gone, shutdown); safe to call twice. */
      finish(reason?: unknown): void;
    };

/** One upstream call as an attempt sees it: a whole JSON answer, or a stream. */
type CallResult<J> = { kind: "json"; body: J; raw?: string } | { kind: "stream"; events: AsyncIterable<StreamChunk> };

const CALL_FINISHED = new Error("call finished");
const ATTEMPT_OVER = new Error("attempt over");

const NOT_UPSTREAM_FAULTS = new Set([
  errors.backendSaturated.code,
  errors.breakerOpen.code,
  errors.localOverloaded.code,
]);

export class ResilientBackend {
  readonly #backend: Backend;
  readonly #opts: ResilienceOptions;
  readonly #breaker: CircuitBreakerPolicy;
  readonly #retry: RetryPolicy;
  #active = 0;

  constructor(backend: Backend, opts: ResilienceOptions, onBreakerChange?: (state: BreakerState) => void) {
    this.#backend = backend;
    this.#opts = opts;
    const upstreamFault = handleWhen((e) => isSwitchyardError(e) && e.retryable && !NOT_UPSTREAM_FAULTS.has(e.code));
    this.#breaker = circuitBreaker(upstreamFault, {
      halfOpenAfter: opts.breaker.cooldownMs,
      breaker: new ConsecutiveBreaker(opts.breaker.failureThreshold),
    });
    if (onBreakerChange) this.#breaker.onStateChange((s) => onBreakerChange(stateName(s)));
    // Unref'd: a backoff sleep abandoned by an aborted call (see start) must not hold the process open.
    this.#retry = retry(upstreamFault, {
      maxAttempts: opts.retry.maxRetries,
      backoff: new DelegateBackoff((ctx) => {
        const err = "error" in ctx.result ? (ctx.result.error as SwitchyardError) : undefined;
        const exp = opts.retry.baseDelayMs * 2 ** (ctx.attempt - 1);
        const jittered = exp / 2 + Math.random() * (exp / 2);
        // The upstream's retry-after wins, but never past our own ceiling.
        return Math.min(err?.retryAfterMs ?? jittered, opts.retry.maxDelayMs);
      }),
    }).dangerouslyUnref();
  }

  get name(): string {
    return this.#backend.name;
  }

  get kind(): string {
    return this.#backend.kind;
  }

  get breakerState(): BreakerState {
    return stateName(this.#breaker.state);
  }

  get inFlight(): number {
    return this.#active;
  }

  listModels(signal: AbortSignal): Promise<string[]> {
    return this.#backend.listModels(signal);
  }

  /**
   * Starts a chat call and resolves once the upstream has answered (non-streaming)
   * or sent its first stream chunk. Everything before that point is retried as
   * configured; nothing after it is, because the client may already have bytes.
   * Each upstream call made is counted in `tally`, whether the start succeeds or not.
   */
  start(
    body: ChatRequest,
    requestId: string,
    client: Cancel,
    tally?: { attempts: number },
    adapter?: string,
  ): Promise<Started> {
    return this.#start(
      (ctx) => this.#backend.chat(body, adapter === undefined ? ctx : { ...ctx, adapter }),
      requestId,
      client,
      tally,
    );
  }

  /**
   * An embeddings call, with the same timeouts, retries, breaker and concurrency
   * limit as chat. A backend that has no embeddings answers a 400 naming itself.
   */
  async embed(
    body: EmbeddingsRequest,
    requestId: string,
    client: Cancel,
    tally?: { attempts: number },
  ): Promise<EmbeddingsResult> {
    const backend = this.#backend;
    if (!backend.embeddings) throw errors.untranslatable(backend.kind, "embeddings (POST /v1/embeddings)");
    const started = await this.#start(
      async (ctx): Promise<CallResult<EmbeddingsResult["body"]>> => ({
        kind: "json",
        ...(await (backend.embeddings as NonNullable<Backend["embeddings"]>)(body, ctx)),
      }),
      requestId,
      client,
      tally,
    );
    if (started.kind !== "json") throw errors.upstreamProtocol({}, this.name, "an embeddings call answered a stream");
    return started.raw === undefined ? { body: started.body } : { body: started.body, raw: started.raw };
  }

  async #start<J>(
    op: (ctx: BackendCallContext) => Promise<CallResult<J>>,
    requestId: string,
    client: Cancel,
    tally: { attempts: number } = { attempts: 0 },
  ): Promise<Started<J>> {
    if (this.#active >= this.#opts.maxConcurrency) {
      throw errors.backendSaturated({}, this.name, this.#opts.maxConcurrency);
    }
    // A counter, not cockatiel's bulkhead: the slot must outlive start() and last
    // until the stream ends, which a policy's promise cannot express.
    this.#active++;
    const call = new Cancel();
    const unlink = client.onCancel((r) => call.cancel(r));
    const totalTimer = setTimeout(
      () => call.cancel(errors.upstreamTimeout({}, this.name, "total", this.#opts.timeouts.totalMs)),
      this.#opts.timeouts.totalMs,
    );
    let released = false;
    const release = (reason?: unknown) => {
      if (released) return;
      released = true;
      this.#active--;
      clearTimeout(totalTimer);
      unlink();
      call.cancel(reason ?? CALL_FINISHED);
    };
    let upstreamError: unknown;
    try {
      const retrying = this.#retry.execute(async () => {
        if (call.cancelled) throw call.reason;
        try {
          return await this.#breaker.execute(() => {
            // Counted here, inside the breaker: a call it refuses never reached the upstream.
            tally.attempts++;
            return this.#attempt(op, requestId, call);
          });
        } catch (e) {
          if (!(e instanceof BrokenCircuitError)) upstreamError = e;
          throw e;
        }
      });
      // cockatiel's backoff sleep does not listen for cancellation: without this race
      // a total timeout or a client leaving during a long retry-after wait would only
      // be noticed when the sleep ends (up to maxDelayMs later). The abandoned loop
      // then finds the call cancelled and stops without calling the upstream again.
      const started = await Promise.race([retrying, call.rejection()]);
      if (started.kind === "json") {
        release();
        return { ...started, finish: () => {} };
      }
      return {
        kind: "stream",
        first: started.first,
        rest: this.#tail(started.iterator, release, call, started.detach),
        finish: release,
      };
    } catch (e) {
      release(e);
      // When this call's own failures opened the breaker, its next retry is refused:
      // report the upstream failure that happened (a 500, a timeout), not the refusal.
      const cause = e instanceof BrokenCircuitError && upstreamError !== undefined ? upstreamError : e;
      throw this.#mapError(cause, call);
    }
  }

  async #attempt<J>(
    op: (ctx: BackendCallContext) => Promise<CallResult<J>>,
    requestId: string,
    call: Cancel,
  ): Promise<
    | { kind: "json"; body: J; raw?: string }
    | {
        kind: "stream";
        first: StreamChunk | undefined;
        iterator: AsyncIterator<StreamChunk>;
        /**
         * Unlinks the attempt from the call, so that ending the call does not abort its HTTP
         * request while the backend drains the body; its signal aborts once any drain is over.
         */
        detach: () => void;
      }
  > {
    if (call.cancelled) throw this.#mapError(call.reason, call);
    // The one real AbortSignal of a call: the HTTP client needs it, and a failed
    // attempt must be cut without cancelling the call (a retry may follow).
    const attempt = new AbortController();
    const unlink = call.onCancel((r) => attempt.abort(r));
    const firstByteMs = this.#opts.timeouts.firstByteMs;
    const timer = setTimeout(
      () => attempt.abort(errors.upstreamTimeout({}, this.name, "first byte", firstByteMs)),
      firstByteMs,
    );
    let failed = true;
    try {
      const result = await op({ signal: attempt.signal, requestId });
      if (result.kind === "json") {
        failed = false;
        unlink();
        return result;
      }
      const iterator = result.events[Symbol.asyncIterator]();
      const first = await iterator.next();
      // A live stream stays linked to the call, whose cancellation ends it. One that is
      // already over is detached, not aborted: the backend may be reading its body's last bytes.
      failed = false;
      let detached = false;
      const detach = () => {
        if (detached) return;
        detached = true;
        unlink();
        // A plugin may count on its signal aborting when the call is over (the built-in
        // backends have let go of their body by then, so for them this changes nothing).
        setTimeout(() => attempt.abort(CALL_FINISHED), DRAIN_MAX_MS * 2).unref();
      };
      if (first.done) detach();
      return { kind: "stream", first: first.done ? undefined : first.value, iterator, detach };
    } catch (e) {
      throw this.#mapError(e, call, attempt.signal);
    } finally {
      clearTimeout(timer);
      if (failed) {
        unlink();
        if (!attempt.signal.aborted) attempt.abort(ATTEMPT_OVER);
      }
    }
  }

  /**
   * The rest of a stream, releasing the call when it ends, fails or is abandoned.
   * A plain iterator rather than an async generator: one promise per chunk fewer.
   * A stream that ran to its end is detached first: the backend may still be
   * reading the last bytes of its body to keep the connection (sse.ts), which
   * aborting the request would close.
   */
  #tail(
    iterator: AsyncIterator<StreamChunk>,
    release: (reason?: unknown) => void,
    call: Cancel,
    detach: () => void,
  ): AsyncIterable<StreamChunk> {
    let ended = false;
    const end = async () => {
      if (ended) return;
      ended = true;
      await iterator.return?.().catch(() => {});
      release();
    };
    const tail: AsyncIterator<StreamChunk> = {
      next: async () => {
        try {
          const next = await iterator.next();
          if (next.done) {
            detach();
            await end();
          }
          return next;
        } catch (e) {
          await end();
          throw this.#mapError(e, call);
        }
      },
      return: async () => {
        await end();
        return { done: true, value: undefined };
      },
    };
    return { [Symbol.asyncIterator]: () => tail };
  }

  /** The error to report: an open breaker by name, else the reason a timeout or shutdown gave. */
  #mapError(e: unknown, call: Cancel, attempt?: AbortSignal): SwitchyardError | unknown {
    if (e instanceof BrokenCircuitError) return errors.breakerOpen({ cause: e }, this.name);
    if (attempt?.aborted && isSwitchyardError(attempt.reason)) return attempt.reason;
    if (call.cancelled && isSwitchyardError(call.reason)) return call.reason;
    return e;
  }

  close(): Promise<void> {
    return this.#backend.close();
  }
}

function stateName(s: CircuitState): BreakerState {
  if (s === CircuitState.Open || s === CircuitState.Isolated) return "open";
  if (s === CircuitState.HalfOpen) return "half-open";
  return "closed";
}

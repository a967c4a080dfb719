/**
 * The fallback chain of a route: the chosen variant first, then each fallback in
 * order, moving on when a target failed for a reason that is not the client's
 * (a 5xx or 429: down, overloaded, timed out, misconfigured) and before the client
 * received a byte. A 4xx the upstream blamed on the request would fail anywhere.
 */
import type { ChatRequest } from "../core/openai-types.js";
import { isSwitchyardError } from "../errors.js";
import type { Cancel } from "./cancel.js";
import type { ResilientBackend, Started } from "./resilient.js";

export interface ChainTarget {
  backend: ResilientBackend;
  model: string;
  params: Record<string, unknown>;
  /** A llama-cpp target's adapter: the variant's, else the caller's tenant's for that backend. */
  adapter?: string | undefined;
}

export interface FailedAttempt {
  backend: string;
  model: string;
  code: string;
  message: string;
}

export interface ChainResult<S = Started> {
  started: S;
  /** Index in the chain of the target that answered: 0 is the variant itself. */
  servedBy: number;
  target: ChainTarget;
  failures: FailedAttempt[];
  /** Upstream calls made, retries and fallbacks included. */
  attempts: number;
}

export class ChainError extends Error {
  constructor(
    readonly last: unknown,
    readonly failures: FailedAttempt[],
    readonly attempts: number,
  ) {
    super("every target of the route failed");
  }
}

/** Builds the upstream body for one target: its model and its fixed params over the client's. */
export function bodyFor(client: ChatRequest, target: ChainTarget): ChatRequest {
  const body: ChatRequest = { ...client, ...target.params, model: target.model };
  if (body.stream) body.stream_options = { ...(client.stream_options ?? {}), include_usage: true };
  return body;
}

/** Runs a chat call along the chain. */
export function runChain(
  targets: ChainTarget[],
  client: ChatRequest,
  requestId: string,
  cancel: Cancel,
): Promise<ChainResult> {
  return runChainWith(targets, cancel, (target, tally) =>
    target.backend.start(bodyFor(client, target), requestId, cancel, tally, target.adapter),
  );
}

/**
 * Runs any call (chat, embeddings) along the chain: `call` makes one target's
 * call, counting its upstream attempts in `tally`.
 */
export async function runChainWith<S>(
  targets: ChainTarget[],
  cancel: Cancel,
  call: (target: ChainTarget, tally: { attempts: number }) => Promise<S>,
): Promise<ChainResult<S>> {
  const failures: FailedAttempt[] = [];
  const tally = { attempts: 0 };
  let last: unknown;
  for (const [i, target] of targets.entries()) {
    try {
      const started = await call(target, tally);
      return { started, servedBy: i, target, failures, attempts: tally.attempts };
    } catch (e) {
      last = e;
      const se = isSwitchyardError(e) ? e : undefined;
      failures.push({
        backend: target.backend.name,
        model: target.model,
        code: se?.code ?? "SY_ERR_SERVER_INTERNAL",
        message: se?.message ?? String(e),
      });
      if (cancel.cancelled || !se || (se.status < 500 && se.status !== 429)) break;
    }
  }
  throw new ChainError(last, failures, tally.attempts);
}

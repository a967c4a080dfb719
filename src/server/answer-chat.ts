/**
 * The answer path every inbound chat API shares once its request is an OpenAI
 * chat request on a resolved route: the response cache, shadow, the fallback
 * chain, the answer (JSON, or SSE written chunk by chunk as it arrives, in the
 * client's dialect), and one row to the request log, built after the answer
 * has gone out.
 */
import type { OutgoingHttpHeaders } from "node:http";
import type { FastifyReply } from "fastify";
import { ChainError, type ChainResult, runChain } from "../backends/chain.js";
import type { Started } from "../backends/resilient.js";
import type { StreamChunk } from "../backends/types.js";
import { chunksOf, completionOf } from "../core/cached-answer.js";
import type { ChatCompletion, ChatRequest, Usage } from "../core/openai-types.js";
import { StreamAnswer } from "../core/stream-answer.js";
import { errors, isSwitchyardError, type SwitchyardError } from "../errors.js";
import { applyPrompt, withoutVariablesField } from "./apply-prompt.js";
import { cacheUse } from "./cache-use.js";
import { ClientStream } from "./client-stream.js";
import type { ClientDialect } from "./dialect.js";
import type { Gateway } from "./gateway.js";
import { backendFailure } from "./public-error.js";
import { type CallOutcome, recordCall } from "./record-call.js";
import type { RoutedCall } from "./routed-call.js";

/** Errors sent and logged as they are when they end a stream; anything else is a broken stream. */
const KEPT_MID_STREAM = new Set([
  errors.shuttingDown.code,
  errors.upstreamStreamBroken.code,
  errors.upstreamTimeout.code,
]);

/**
 * Answers `call` (whose body is the OpenAI chat request to run) in `dialect`.
 * Throws the SwitchyardError to answer when no target could start an answer.
 */
export async function answerChat(
  gw: Gateway,
  reply: FastifyReply,
  call: RoutedCall<ChatRequest>,
  dialect: ClientDialect,
): Promise<FastifyReply> {
  const clientBody = withoutVariablesField(call.body);
  const prompted = applyPrompt(gw.prompts, call.resolved.name, call.resolved.variant, clientBody, call.variables);
  call = { ...call, body: prompted.body, promptVersion: prompted.promptVersion };
  if (prompted.promptVersion) reply.header("x-switchyard-prompt-version", prompted.promptVersion);
  const { requestId, createdAt, principal, body, resolved } = call;
  const use = cacheUse(gw, reply, call, "chat");
  const cache = use instanceof Promise ? await use : use;
  const flight = gw.track();
  // A cached answer calls no upstream: there is no primary call for a shadow to compare with.
  const shadow =
    resolved.experiment && !cache.hit
      ? gw.shadow.begin({
          requestId,
          tenant: principal.tenant,
          createdAt,
          experiment: resolved.experiment,
          served: resolved.variant.name,
          variants: resolved.route.variants,
          body: clientBody,
          // Each candidate sends its own prompt; one whose prompt cannot take this request is not shadowed.
          bodyFor: (v) => {
            try {
              return applyPrompt(gw.prompts, resolved.name, v, clientBody, call.variables).body;
            } catch {
              return undefined;
            }
          },
        })
      : undefined;
  const outcome: CallOutcome = {
    ...call,
    session: call.session as string,
    shadow,
    stream: body.stream === true,
    request: body,
    endpoint: dialect.endpoint,
  };
  const onClientGone = () => {
    if (!reply.raw.writableFinished) flight.cancel.cancel(new ClientGone());
  };
  reply.raw.once("close", onClientGone);
  try {
    if (cache.hit) return await answerFromCache(gw, reply, call, outcome, cache.hit.completion, dialect);
    let chain: ChainResult;
    try {
      chain = await runChain(resolved.targets, body, requestId, flight.cancel);
    } catch (e) {
      const failures = e instanceof ChainError ? e.failures : [];
      const cause = e instanceof ChainError ? e.last : e;
      const err = flight.cancel.reason instanceof ClientGone ? undefined : backendFailure(gw.logger, cause, requestId);
      const reported = err ?? errors.clientClosed("before the answer");
      recordCall(gw, outcome, {
        status: reported.status,
        errorCode: reported.code,
        errorMessage: reported.message,
        failures,
        attempts: e instanceof ChainError ? e.attempts : 0,
      });
      if (!err) return reply.hijack();
      throw err;
    }
    if (chain.started.kind === "json") {
      const { body: completion, raw } = chain.started;
      let text: string;
      try {
        text = dialect.json(completion, raw, chain.target.backend.name);
      } catch (e) {
        const err = backendFailure(gw.logger, e, requestId);
        recordCall(gw, outcome, { status: err.status, chain, errorCode: err.code, errorMessage: err.message });
        throw err;
      }
      reply.header("x-switchyard-backend", chain.target.backend.name);
      void reply.type("application/json").send(text);
      const message = completion.choices[0]?.message;
      if (message) dialect.done?.(message);
      if (cache.key && completion.choices[0]?.finish_reason) {
        gw.cache.set(cache.key, { kind: "chat", completion }, raw?.length ?? text.length, cache.ttlMs);
      }
      recordCall(gw, outcome, {
        status: 200,
        chain,
        usage: completion.usage ?? undefined,
        finishReason: completion.choices[0]?.finish_reason ?? null,
        outputText: completion.usage ? undefined : (completion.choices[0]?.message.content ?? ""),
        answer: completion.choices[0]?.message,
      });
      return reply;
    }
    const streamed = await streamToClient(gw, reply, outcome, chain.started, chain.target.backend.name, dialect, chain);
    if (cache.key && streamed) {
      gw.cache.set(cache.key, { kind: "chat", completion: streamed }, JSON.stringify(streamed).length, cache.ttlMs);
    }
    return reply;
  } finally {
    reply.raw.off("close", onClientGone);
    flight.done();
  }
}

class ClientGone extends Error {
  constructor() {
    super("client closed the connection");
  }
}

/**
 * Writes a stream to the client in the dialect and logs it. `chain` is the
 * upstream call that produced it (absent when a cached answer is replayed).
 * Resolves with the completion the stream amounted to when it ended complete.
 */
async function streamToClient(
  gw: Gateway,
  reply: FastifyReply,
  outcome: CallOutcome,
  started: Started,
  backendName: string,
  dialect: ClientDialect,
  chain: ChainResult | undefined,
): Promise<ChatCompletion | undefined> {
  if (started.kind !== "stream") return undefined;
  // Every header set on the reply so far (x-switchyard-*, x-ratelimit-*, x-switchyard-cache):
  // a hijacked reply sends only what is written here.
  const set = reply.getHeaders() as OutgoingHttpHeaders;
  reply.hijack();
  reply.raw.writeHead(200, {
    ...set,
    // A replayed answer came from no backend (the log says so too).
    ...(chain ? { "x-switchyard-backend": backendName } : {}),
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  const client = new ClientStream(reply.raw);
  const encoder = dialect.stream();
  let ttft: number | null = null;
  let usage: Usage | undefined;
  let finishReason: string | null = null;
  const answer = new StreamAnswer();
  let complete = false;
  let failure: SwitchyardError | undefined;

  let head: { id: string; model: string; created: number } | undefined;
  const forward = (item: StreamChunk): Promise<void> | undefined => {
    const { chunk } = item;
    head ??= { id: chunk.id, model: chunk.model, created: chunk.created };
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    let carriesOutput = false;
    if (choice) {
      if (answer.add(choice.delta) !== "") carriesOutput = true;
      // Tool calls and refusals are output too; a role-only opening chunk is not.
      if (choice.delta?.tool_calls || choice.delta?.refusal) carriesOutput = true;
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
    const full = client.write(encoder.chunk(item));
    // Time to first token: to the first chunk that carries output, as the client sees it.
    if (carriesOutput) ttft ??= performance.now() - outcome.t0;
    return full;
  };

  try {
    if (started.first) await forward(started.first);
    // `await` only when the client's socket is full: an await per chunk costs a tick.
    for await (const item of started.rest) {
      if (client.closed) break;
      const full = forward(item);
      if (full) await full;
    }
    if (!client.closed) await client.write(encoder.end());
    complete = !client.closed;
  } catch (e) {
    // A client that left made us abort the upstream read, which throws here: that is
    // no upstream failure, and the row below says 499 rather than a broken stream.
    if (!client.closed) {
      const reason = isSwitchyardError(e) ? e : undefined;
      // Codes that already say what happened (a total timeout, a shutdown) are kept.
      failure =
        reason && KEPT_MID_STREAM.has(reason.code)
          ? reason
          : errors.upstreamStreamBroken({ cause: e }, backendName, reason?.message ?? String(e));
      await client.write(encoder.fail(failure));
    }
  } finally {
    started.finish();
    client.end();
  }
  const gone = client.closed && !reply.raw.writableFinished;
  const message = complete && !failure ? answer.message() : undefined;
  if (message) dialect.done?.(message);
  recordCall(gw, outcome, {
    status: gone && !failure ? 499 : 200,
    chain,
    usage,
    finishReason,
    outputText: usage ? undefined : answer.text,
    answer: message,
    ttftMs: ttft,
    errorCode: failure?.code ?? (gone ? errors.clientClosed.code : undefined),
    errorMessage: failure?.message ?? (gone ? errors.clientClosed("mid-stream").message : undefined),
    cacheHit: chain === undefined,
  });
  return message && head && finishReason ? completionOf(head, message, finishReason, usage) : undefined;
}

/** Answers from the cache, whole or replayed as a stream, in the client's dialect; logged as a hit. */
async function answerFromCache(
  gw: Gateway,
  reply: FastifyReply,
  call: RoutedCall<ChatRequest>,
  outcome: CallOutcome,
  completion: ChatCompletion,
  dialect: ClientDialect,
): Promise<FastifyReply> {
  const backend = call.resolved.variant.backend;
  if (call.body.stream) {
    const items = chunksOf(completion).map((chunk) => ({ chunk, text: JSON.stringify(chunk) }));
    const rest = (async function* () {
      yield* items.slice(1);
    })();
    const started: Started = { kind: "stream", first: items[0], rest, finish: () => {} };
    await streamToClient(gw, reply, outcome, started, backend, dialect, undefined);
    return reply;
  }
  let text: string;
  try {
    text = dialect.json(completion, undefined, backend);
  } catch (e) {
    const err = backendFailure(gw.logger, e, call.requestId);
    recordCall(gw, outcome, { status: err.status, errorCode: err.code, errorMessage: err.message, cacheHit: true });
    throw err;
  }
  void reply.type("application/json").send(text);
  const message = completion.choices[0]?.message;
  if (message) dialect.done?.(message);
  recordCall(gw, outcome, {
    status: 200,
    usage: completion.usage ?? undefined,
    finishReason: completion.choices[0]?.finish_reason ?? null,
    answer: message,
    cacheHit: true,
  });
  return reply;
}

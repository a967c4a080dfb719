/**
 * POST /v1/embeddings: routed like chat (the route's variants, experiments and
 * fallback chain, the same resilience), answered with the upstream's JSON as it
 * came (or from the response cache, on a route that has one), and logged with
 * its tokens and cost (`endpoint` = embeddings). There is no conversation to
 * keep and no shadow comparison: an embedding is no answer to compare as text.
 */
import type { FastifyInstance } from "fastify";
import { ChainError, type ChainResult, runChainWith } from "../backends/chain.js";
import type { EmbeddingsResult } from "../backends/types.js";
import type { EmbeddingsRequest } from "../core/openai-types.js";
import { estimateEmbeddingTokens } from "../core/tokens.js";
import { checkEmbeddingsRequest } from "../core/validate-embeddings.js";
import { errors } from "../errors.js";
import { cacheUse } from "./cache-use.js";
import type { Gateway } from "./gateway.js";
import { backendFailure } from "./public-error.js";
import { type LoggedCall, type LoggedTokens, type LogRowEnd, pushLogRow } from "./record-call.js";
import { beginRoutedCall, checkedBy } from "./routed-call.js";

export function registerEmbeddings(app: FastifyInstance, gw: Gateway): void {
  app.post("/v1/embeddings", async (req, reply) => {
    const call = await beginRoutedCall<EmbeddingsRequest>(gw, req, reply, checkedBy(checkEmbeddingsRequest), {
      makeSession: false,
    });
    const { body, requestId } = call;
    const logged: LoggedCall = { ...call, stream: false, endpoint: "embeddings" };
    const use = cacheUse(gw, reply, call, "embeddings");
    const cache = use instanceof Promise ? await use : use;
    if (cache.hit) {
      const { body: cached, raw } = cache.hit;
      void reply.type("application/json").send(raw ?? JSON.stringify(cached));
      record(gw, logged, { status: 200, usage: cached.usage ?? undefined, input: body.input, cacheHit: true });
      return reply;
    }
    const flight = gw.track();
    let clientLeft = false;
    const onClientGone = () => {
      if (reply.raw.writableFinished) return;
      clientLeft = true;
      flight.cancel.cancel(errors.clientClosed("before the answer"));
    };
    reply.raw.once("close", onClientGone);
    try {
      let chain: ChainResult<EmbeddingsResult>;
      try {
        chain = await runChainWith(call.resolved.targets, flight.cancel, (target, tally) =>
          target.backend.embed({ ...body, ...target.params, model: target.model }, requestId, flight.cancel, tally),
        );
      } catch (e) {
        const cause = e instanceof ChainError ? e.last : e;
        const err = clientLeft ? errors.clientClosed("before the answer") : backendFailure(gw.logger, cause, requestId);
        record(gw, logged, {
          status: clientLeft ? 499 : err.status,
          errorCode: err.code,
          errorMessage: err.message,
          failures: e instanceof ChainError ? e.failures : [],
          attempts: e instanceof ChainError ? e.attempts : 0,
        });
        if (clientLeft) return reply.hijack();
        throw err;
      }
      const { body: answer, raw } = chain.started;
      reply.header("x-switchyard-backend", chain.target.backend.name);
      const text = raw ?? JSON.stringify(answer);
      void reply.type("application/json").send(text);
      if (cache.key) gw.cache.set(cache.key, { kind: "embeddings", body: answer, raw }, text.length, cache.ttlMs);
      record(gw, logged, { status: 200, chain, usage: answer.usage ?? undefined, input: body.input });
      return reply;
    } finally {
      reply.raw.off("close", onClientGone);
      flight.done();
    }
  });
}

interface EmbeddingsEnd extends LogRowEnd {
  usage?: { prompt_tokens?: unknown } | undefined;
  /** The input, to count its tokens when the upstream sent no usage. */
  input?: EmbeddingsRequest["input"];
}

function record(gw: Gateway, call: LoggedCall, end: EmbeddingsEnd): void {
  const latencyMs = performance.now() - call.t0;
  gw.recording(
    (async () => {
      const upstream = end.usage?.prompt_tokens;
      // An embedding has no output tokens: it is priced by its input alone.
      let tokens: LoggedTokens = { input: null, output: null, estimated: 0 };
      if (typeof upstream === "number" && Number.isFinite(upstream))
        tokens = { input: upstream, output: 0, estimated: 0 };
      else if ((end.chain || end.cacheHit) && end.input !== undefined) {
        tokens = { input: await estimateEmbeddingTokens(end.input), output: 0, estimated: 1 };
      }
      pushLogRow(gw, call, end, latencyMs, tokens, null);
    })().catch((e) => gw.logger.error({ err: e, request_id: call.requestId }, "could not record a request log row")),
  );
}

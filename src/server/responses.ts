/**
 * The OpenAI Responses API: `POST /v1/responses` translated onto the same
 * routes, experiments, shadow, fallback, log, conversations and feedback as
 * chat completions, and `GET` / `DELETE /v1/responses/:id` for what was kept.
 * Answers are kept (unless `store: false`) in Switchyard's store, so
 * `previous_response_id` works over any backend. The row (one small insert) is
 * written as soon as the answer has gone out, not through the batched log, and
 * a read of it on this replica waits for that insert, so a client that continues
 * at once finds it (on PostgreSQL the insert is a round trip that the client's
 * next request can overtake). Another replica sees it once it is committed,
 * about a millisecond after the answer.
 */
import type { FastifyInstance } from "fastify";
import type { ChatMessage } from "../core/openai-types.js";
import { errors } from "../errors.js";
import { deleteResponse, getResponse, type StoredResponse, saveResponse } from "../store/responses.js";
import { answerChat } from "./answer-chat.js";
import type { ClientDialect } from "./dialect.js";
import type { Gateway } from "./gateway.js";
import { responseId } from "./responses-api/ids.js";
import { fromResponsesRequest, type ResponsesRequest } from "./responses-api/request.js";
import { type ResponseContext, ResponsesStreamEncoder, toResponseObject } from "./responses-api/response.js";
import { beginRoutedCall } from "./routed-call.js";

/** Inserts in flight by response id, which reads on this replica wait for. */
class PendingSaves {
  readonly #inFlight = new Map<string, Promise<void>>();

  save(gw: Gateway, r: StoredResponse): void {
    const write = saveResponse(gw.db, r)
      .catch((e) => gw.logger.error({ err: e, response_id: r.id }, "could not store a response"))
      .finally(() => this.#inFlight.delete(r.id));
    this.#inFlight.set(r.id, write);
  }

  async settled(id: string): Promise<void> {
    await this.#inFlight.get(id);
  }
}

export function registerResponses(app: FastifyInstance, gw: Gateway): void {
  const saves = new PendingSaves();
  const read = async (tenant: string, id: string) => {
    await saves.settled(id);
    return getResponse(gw.db, tenant, id);
  };

  app.post("/v1/responses", async (req, reply) => {
    let request: ResponsesRequest | undefined;
    const call = await beginRoutedCall(
      gw,
      req,
      reply,
      async (body, principal) => {
        request = await fromResponsesRequest(body, (id) => read(principal.tenant, id));
        return request.chat;
      },
      { makeSession: true },
    );
    const ctx: ResponseContext = {
      requestId: call.requestId,
      createdAt: call.createdAt,
      request: request as ResponsesRequest,
    };
    return answerChat(
      gw,
      reply,
      call,
      responsesDialect(ctx, call.principal.tenant, call.resolved.name, (r) => saves.save(gw, r)),
    );
  });

  app.get<{ Params: { id: string } }>("/v1/responses/:id", async (req) => {
    const principal = await gw.auth.authenticate(req);
    const stored = await read(principal.tenant, req.params.id);
    if (!stored) throw errors.responseUnknown(req.params.id, "id");
    return stored.response;
  });

  app.delete<{ Params: { id: string } }>("/v1/responses/:id", async (req) => {
    const principal = await gw.auth.authenticate(req);
    await saves.settled(req.params.id);
    if (!(await deleteResponse(gw.db, principal.tenant, req.params.id)))
      throw errors.responseUnknown(req.params.id, "id");
    return { id: req.params.id, object: "response", deleted: true };
  });
}

function responsesDialect(
  ctx: ResponseContext,
  tenant: string,
  route: string,
  save: (r: StoredResponse) => void,
): ClientDialect {
  let final: Record<string, unknown> | undefined;
  let encoder: ResponsesStreamEncoder | undefined;
  return {
    endpoint: "responses",
    json: (completion) => {
      final = toResponseObject(ctx, completion);
      return JSON.stringify(final);
    },
    stream: () => {
      encoder = new ResponsesStreamEncoder(ctx, route);
      return encoder;
    },
    done: (answer: ChatMessage) => {
      const response = final ?? encoder?.final;
      if (!ctx.request.store || !response) return;
      // The instructions apply to this response only: a continuation sends its own.
      const sent = ctx.request.chat.messages.slice(ctx.request.instructions ? 1 : 0);
      save({
        id: responseId(ctx.requestId),
        tenant,
        createdAt: ctx.createdAt,
        route,
        messages: [...sent, answer],
        response,
      });
    },
  };
}

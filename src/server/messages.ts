/**
 * POST /v1/messages: Anthropic's Messages API inbound, so the Anthropic SDK and
 * Claude-based tools can point at Switchyard. The request is translated to an
 * OpenAI chat request and served by the same path as chat completions (routes,
 * experiments, shadow, fallback, log, conversations, feedback); the answer and
 * its stream go back in Anthropic's shapes, errors too.
 */
import type { FastifyError, FastifyInstance } from "fastify";
import { errors, type SwitchyardError } from "../errors.js";
import { answerChat } from "./answer-chat.js";
import type { Gateway } from "./gateway.js";
import { fromMessagesRequest } from "./messages-api/request.js";
import { anthropicError, messagesDialect } from "./messages-api/response.js";
import { toPublicError } from "./public-error.js";
import { beginRoutedCall } from "./routed-call.js";

export function registerMessages(app: FastifyInstance, gw: Gateway): void {
  void app.register(async (scope) => {
    // Anthropic's SDK reads its own error shape; the rest of the API keeps OpenAI's.
    scope.setErrorHandler((e: FastifyError | SwitchyardError, req, reply) => {
      const err = toPublicError(e, req.id, gw.config.server.bodyLimit);
      if (err.code === errors.internal.code) req.log.error({ err: e, request_id: req.id }, "unhandled error");
      if (err.retryAfterMs !== undefined) reply.header("retry-after", String(Math.ceil(err.retryAfterMs / 1000)));
      return reply.code(err.status).send(anthropicError(err));
    });
    scope.post("/v1/messages", async (req, reply) => {
      const call = await beginRoutedCall(gw, req, reply, fromMessagesRequest, { makeSession: true });
      return answerChat(gw, reply, call, messagesDialect(call.requestId, call.resolved.name));
    });
  });
}

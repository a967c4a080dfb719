/**
 * POST /v1/chat/completions: the OpenAI chat API, answered as the upstream
 * wrote it (see answer-chat.ts for the path every chat API shares).
 */
import type { FastifyInstance } from "fastify";
import type { ChatRequest } from "../core/openai-types.js";
import { checkChatRequest } from "../core/validate-chat.js";
import { answerChat } from "./answer-chat.js";
import { openAIDialect } from "./dialect.js";
import type { Gateway } from "./gateway.js";
import { beginRoutedCall, checkedBy } from "./routed-call.js";

export function registerChat(app: FastifyInstance, gw: Gateway): void {
  app.post("/v1/chat/completions", async (req, reply) => {
    const call = await beginRoutedCall<ChatRequest>(gw, req, reply, checkedBy(checkChatRequest), { makeSession: true });
    return answerChat(gw, reply, call, openAIDialect(call.body.stream_options?.include_usage === true));
  });
}

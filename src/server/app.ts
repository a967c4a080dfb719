/**
 * The HTTP surface: one Fastify instance, one error handler that renders every
 * failure in OpenAI's error shape, and the endpoint groups.
 */
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from "fastify";
import { errors, type SwitchyardError } from "../errors.js";
import { registerArena } from "./arena.js";
import { registerChat } from "./chat.js";
import { registerConversations } from "./conversations.js";
import { registerDatasets } from "./datasets.js";
import { registerEmbeddings } from "./embeddings.js";
import { registerExperimentTimeseries } from "./experiment-timeseries.js";
import { registerExperimentsAdmin } from "./experiments-admin.js";
import { registerFeedback } from "./feedback.js";
import type { Gateway } from "./gateway.js";
import { registerKeysAdmin } from "./keys-admin.js";
import { registerMe } from "./me.js";
import { registerMessages } from "./messages.js";
import { registerModels } from "./models.js";
import { registerOps } from "./ops.js";
import { registerPromptsAdmin } from "./prompts-admin.js";
import { toPublicError } from "./public-error.js";
import { registerReplaysAdmin } from "./replays-admin.js";
import { registerReports } from "./reports.js";
import { registerResponses } from "./responses.js";
import { registerWebUi } from "./web-ui.js";
import { registerWorkbench } from "./workbench.js";

export function buildApp(gw: Gateway): FastifyInstance {
  const app = Fastify({
    loggerInstance: gw.logger as FastifyBaseLogger,
    // The request log is the record of each call; a pino line per request would only cost.
    logController: new LogController({ disableRequestLogging: true }),
    // No pino child per request (a measurable allocation on every call): the few lines
    // logged while answering name their request themselves.
    childLoggerFactory: (logger) => logger,
    bodyLimit: gw.config.server.bodyLimit,
    // The request (headers and body) must arrive within a minute; answers may take longer.
    requestTimeout: 60_000,
    connectionTimeout: 0,
    keepAliveTimeout: 65_000,
    // Our own hook answers during a drain, in OpenAI's error shape.
    return503OnClosing: false,
    forceCloseConnections: "idle",
  });

  // JSON.parse directly: the bodies are plain data we spread into new objects, and
  // its own message names where the syntax broke.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    if (body === "") return done(errors.invalidJson("the body is empty"), undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch (e) {
      done(errors.invalidJson((e as Error).message), undefined);
    }
  });

  // Probes and metrics keep answering during a drain: readiness says "draining" itself.
  const ALWAYS_OPEN = new Set(["/healthz", "/readyz", "/metrics"]);
  app.addHook("onRequest", async (req, reply) => {
    if (!gw.draining || ALWAYS_OPEN.has(req.url)) return;
    reply.header("connection", "close");
    throw errors.shuttingDown();
  });

  app.setNotFoundHandler((req, reply) => {
    const err = errors.notFound(req.method, req.url.split("?")[0] ?? req.url);
    return reply.code(err.status).send(err.toJSON());
  });

  app.setErrorHandler((e: FastifyError | SwitchyardError, req, reply) => {
    const err = toPublicError(e, req.id, gw.config.server.bodyLimit);
    if (err.code === errors.internal.code) req.log.error({ err: e, request_id: req.id }, "unhandled error");
    if (err.retryAfterMs !== undefined) reply.header("retry-after", String(Math.ceil(err.retryAfterMs / 1000)));
    return reply.code(err.status).send(err.toJSON());
  });

  registerChat(app, gw);
  registerMessages(app, gw);
  registerResponses(app, gw);
  registerArena(app, gw);
  registerConversations(app, gw);
  registerDatasets(app, gw);
  registerEmbeddings(app, gw);
  registerExperimentsAdmin(app, gw);
  registerFeedback(app, gw);
  registerModels(app, gw);
  registerReports(app, gw);
  registerExperimentTimeseries(app, gw);
  registerKeysAdmin(app, gw);
  registerPromptsAdmin(app, gw);
  registerReplaysAdmin(app, gw);
  registerWorkbench(app, gw);
  registerOps(app, gw);
  registerMe(app, gw);
  registerWebUi(app, gw.logger);
  return app;
}

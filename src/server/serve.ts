/**
 * Starts a gateway on its configured address and wires the graceful shutdown:
 * stop accepting, let in-flight answers finish within the grace period, cut the
 * rest with an error event, write every queued log row, close the store.
 */
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Config } from "../core/config/schema.js";
import { buildApp } from "./app.js";
import { Gateway } from "./gateway.js";

export interface RunningServer {
  gateway: Gateway;
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:8400 */
  url: string;
  shutdown(): Promise<void>;
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const gateway = await Gateway.open(config, logger);
  const app = buildApp(gateway);
  try {
    await app.listen({ host: config.server.host, port: config.server.port });
  } catch (e) {
    await gateway.close();
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === "object" && addr ? addr.port : config.server.port;
  const host = config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host;
  let stopping: Promise<void> | undefined;
  const shutdown = () => {
    stopping ??= (async () => {
      gateway.stopAccepting();
      const closing = app.close();
      // Keep-alive sockets that finish their last answer during the drain would
      // otherwise hold the server open until the client's own idle timeout.
      const reaper = setInterval(() => app.server.closeIdleConnections(), 50);
      try {
        await gateway.drain(config.server.shutdownGraceMs);
        logger.info({ in_flight: gateway.inFlightCount }, "drained");
        await closing;
        logger.info("HTTP server closed");
      } finally {
        clearInterval(reaper);
      }
      await gateway.close();
    })();
    return stopping;
  };
  return { gateway, app, url: `http://${host}:${port}`, shutdown };
}

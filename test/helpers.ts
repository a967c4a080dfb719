/** Starts a real gateway on a loopback port for a test, on a fresh store (see tempDbPath). */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Selectable } from "kysely";
import { pino } from "pino";
import { validateConfig } from "../src/core/config/parse.js";
import { type RunningServer, startServer } from "../src/server/serve.js";
import { openDatabase } from "../src/store/db.js";
import type { RequestLogTable as RequestLogColumns } from "../src/store/schema.js";
import { createTestDatabase, testStore } from "./postgres.js";

/** A request-log row as read back from the store. */
export type RequestLogTable = Selectable<RequestLogColumns>;

export interface TestGateway extends RunningServer {
  dbPath: string;
  /** Every request-log row, after flushing the writer. */
  rows(): Promise<RequestLogTable[]>;
}

/** A fresh SQLite file, for tests of SQLite itself whichever store the suite runs on. */
export function tempSqlitePath(): string {
  return join(mkdtempSync(join(tmpdir(), "switchyard-test-")), "switchyard.db");
}

/** A fresh store: a SQLite file, or a PostgreSQL database's URL when SWITCHYARD_TEST_STORE=postgres. */
export function tempDbPath(): string {
  return testStore() === "postgres" ? createTestDatabase() : tempSqlitePath();
}

/** `dbPath` shares a store with another gateway (replicas); a fresh one by default. */
export async function startGateway(config: Record<string, unknown>, dbPath = tempDbPath()): Promise<TestGateway> {
  const cfg = validateConfig(
    {
      ...config,
      server: { host: "127.0.0.1", port: 0, ...(config.server as object) },
      database: { url: dbPath },
      logging: { level: "silent" },
      requestLog: { flushIntervalMs: 20, ...(config.requestLog as object) },
    },
    "test config",
  );
  const server = await startServer(cfg, pino({ level: process.env.SWITCHYARD_TEST_LOG ?? "silent" }));
  return Object.assign(server, {
    dbPath,
    async rows() {
      await server.gateway.recorded();
      await server.gateway.log.flush();
      return (await server.gateway.db
        .selectFrom("request_log")
        .selectAll()
        .orderBy("created_at")
        .execute()) as RequestLogTable[];
    },
  });
}

/** Reads the log of a gateway that has already shut down. */
export async function rowsAfterShutdown(dbPath: string): Promise<RequestLogTable[]> {
  const db = openDatabase(dbPath);
  try {
    return (await db.selectFrom("request_log").selectAll().execute()) as RequestLogTable[];
  } finally {
    await db.destroy();
  }
}

/** Polls until `check` passes or the time is up (no wall-clock assertion: only a bound on waiting). */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      return await check();
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw last;
}

/**
 * The request log's writer thread for SQLite files: one connection, one prepared
 * INSERT, one transaction per batch. The schema is already migrated by the main
 * thread before the first batch arrives.
 */
import { parentPort, workerData } from "node:worker_threads";
import BetterSqlite3 from "better-sqlite3";
import { REQUEST_LOG_COLUMNS } from "./request-log-columns.js";

export interface WorkerRequest {
  id: number;
  /** Each row's values in REQUEST_LOG_COLUMNS order. */
  rows: unknown[][];
}

export type WorkerReply = { id: number; ok: true } | { id: number; ok: false; error: string };

if (parentPort) {
  const port = parentPort;
  const db = new BetterSqlite3((workerData as { file: string }).file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  const insert = db.prepare(
    `INSERT INTO request_log (${REQUEST_LOG_COLUMNS.join(", ")}) VALUES (${REQUEST_LOG_COLUMNS.map(() => "?").join(", ")})`,
  );
  const writeBatch = db.transaction((rows: unknown[][]) => {
    for (const values of rows) insert.run(values);
  });
  port.on("message", (m: WorkerRequest) => {
    try {
      writeBatch(m.rows);
      port.postMessage({ id: m.id, ok: true } satisfies WorkerReply);
    } catch (e) {
      port.postMessage({ id: m.id, ok: false, error: (e as Error).message } satisfies WorkerReply);
    }
  });
}

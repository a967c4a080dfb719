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

/**
 * `ok` with `rejected` > 0: the batch was written row by row and the rows the
 * database refused (a value it cannot store) were left out, so one bad row cannot
 * block every later one. Not `ok`: nothing was written (the database is down).
 */
export type WorkerReply =
  | { id: number; ok: true; rejected: number; error?: string }
  | { id: number; ok: false; error: string };

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
  const writeEach = db.transaction((rows: unknown[][]) => {
    let rejected = 0;
    let error: string | undefined;
    for (const values of rows) {
      try {
        insert.run(values);
      } catch (e) {
        rejected++;
        error ??= (e as Error).message;
      }
    }
    return { rejected, error };
  });
  port.on("message", (m: WorkerRequest) => {
    try {
      writeBatch(m.rows);
      port.postMessage({ id: m.id, ok: true, rejected: 0 } satisfies WorkerReply);
    } catch (batchError) {
      try {
        const { rejected, error } = writeEach(m.rows);
        port.postMessage({ id: m.id, ok: true, rejected, ...(error ? { error } : {}) } satisfies WorkerReply);
      } catch {
        port.postMessage({ id: m.id, ok: false, error: (batchError as Error).message } satisfies WorkerReply);
      }
    }
  });
}

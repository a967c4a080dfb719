/**
 * The request log's writer thread for SQLite files: one connection, batches
 * written by sqlite-log-writer.ts. The schema is already migrated by the main
 * thread before the first batch arrives.
 */
import { parentPort, workerData } from "node:worker_threads";
import BetterSqlite3 from "better-sqlite3";
import type { BatchResult, LogBatch } from "./log-batch.js";
import { sqliteLogWriter } from "./sqlite-log-writer.js";

export interface WorkerRequest {
  id: number;
  rows: LogBatch["rows"];
  /** LogBatch["turns"] as JSON: one string clones much faster than thousands of small objects. */
  turns: string;
  exposures: LogBatch["exposures"];
  shadows: LogBatch["shadows"];
}

/** Not `ok`: nothing was written (the database is down or locked). */
export type WorkerReply = ({ id: number; ok: true } & BatchResult) | { id: number; ok: false; error: string };

if (parentPort) {
  const port = parentPort;
  const db = new BetterSqlite3((workerData as { file: string }).file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  // better-sqlite3 builds SQLite with a 16 MB page cache per connection, and this one
  // fills it as the log grows: 14 MB of the process's peak RSS under load. The writer
  // appends, so the pages it revisits are few, and the rest are in the OS's page
  // cache; SQLite's own default of 2 MB cost the writer ~2 µs per request in one run.
  db.pragma("cache_size = -2000");
  const write = sqliteLogWriter(db);
  port.on("message", (m: WorkerRequest) => {
    try {
      const turns = JSON.parse(m.turns) as LogBatch["turns"];
      port.postMessage({
        id: m.id,
        ok: true,
        ...write({ rows: m.rows, turns, exposures: m.exposures, shadows: m.shadows }),
      } satisfies WorkerReply);
    } catch (e) {
      port.postMessage({ id: m.id, ok: false, error: (e as Error).message } satisfies WorkerReply);
    }
  });
}

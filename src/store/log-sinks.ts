/**
 * Where request-log batches go. SQLite files are written by a worker thread:
 * better-sqlite3 is synchronous, and a batch written on the main thread would
 * stall every request in flight for its duration. An in-memory SQLite database
 * cannot be shared with a worker, so it is written in-thread. PostgreSQL's
 * driver never blocks, so its batches are written from the main thread.
 */
import { isMainThread, Worker } from "node:worker_threads";
import { type Db, dialectOf, sqliteHandle } from "./db.js";
import type { BatchResult, LogBatch } from "./log-batch.js";
import { postgresLogWriter } from "./pg-log-writer.js";
import type { LogEntry } from "./request-log.js";
import { toColumnValues } from "./request-log-columns.js";
import type { WorkerReply, WorkerRequest } from "./sqlite-log-worker.js";
import { sqliteLogWriter } from "./sqlite-log-writer.js";

export interface LogSink {
  /**
   * Resolves once the entries are stored, with the number of rows and turns the
   * store refused as invalid (left out, never retried); rejects when nothing
   * could be stored.
   */
  write(entries: LogEntry[], shadows: unknown[][]): Promise<BatchResult>;
  close(): Promise<void>;
}

function toBatch(entries: LogEntry[], shadows: unknown[][]): LogBatch {
  // Positional arrays clone far cheaper than objects with 28 named keys each.
  const exposures: unknown[][] = [];
  for (const { exposure: x } of entries) {
    if (x) exposures.push([x.experiment, x.tenant, x.unitKind, x.unitId, x.variant, x.requestId, x.at]);
  }
  return { rows: entries.map((e) => toColumnValues(e.row)), turns: entries.map((e) => e.turn), exposures, shadows };
}

export class InThreadSqliteSink implements LogSink {
  readonly #write: (batch: LogBatch) => BatchResult;

  constructor(db: Db) {
    const handle = sqliteHandle(db);
    if (!handle) throw new Error("the in-thread log sink needs a SQLite database");
    this.#write = sqliteLogWriter(handle);
  }

  async write(entries: LogEntry[], shadows: unknown[][]): Promise<BatchResult> {
    return this.#write(toBatch(entries, shadows));
  }

  async close(): Promise<void> {}
}

export class SqliteWorkerSink implements LogSink {
  #worker: Worker | undefined;
  #nextId = 0;
  readonly #pending = new Map<number, { resolve: (r: BatchResult) => void; reject: (e: Error) => void }>();

  constructor(private readonly file: string) {}

  #spawn(): Worker {
    // Under the test runner this module is TypeScript source, which a worker thread
    // cannot load; the tests' global setup builds dist/, whose copy it runs instead.
    const url = import.meta.url.endsWith(".ts")
      ? new URL("../../dist/store/sqlite-log-worker.js", import.meta.url)
      : new URL("./sqlite-log-worker.js", import.meta.url);
    // The writer allocates little per batch; a small young generation keeps its isolate's memory small.
    const worker = new Worker(url, {
      workerData: { file: this.file },
      resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    worker.on("message", (m: WorkerReply) => {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.ok)
        p.resolve({ rejected: m.rejected, turnsRejected: m.turnsRejected, ...(m.error ? { error: m.error } : {}) });
      else p.reject(new Error(m.error));
    });
    const failAll = (e: Error) => {
      this.#worker = undefined;
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
    };
    worker.on("error", failAll);
    worker.on("exit", (code) => failAll(new Error(`log writer thread exited with code ${code}`)));
    // Kept referenced: a batch in flight at shutdown must hold the process until it is stored.
    return worker;
  }

  write(entries: LogEntry[], shadows: unknown[][]): Promise<BatchResult> {
    this.#worker ??= this.#spawn();
    const id = this.#nextId++;
    const worker = this.#worker;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const { rows, turns, exposures } = toBatch(entries, shadows);
      worker.postMessage({ id, rows, turns: JSON.stringify(turns), exposures, shadows } satisfies WorkerRequest);
    });
  }

  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    if (w) await w.terminate();
  }
}

/**
 * PostgreSQL: the driver is asynchronous, so batches are written from the main
 * thread without holding it; each batch is one transaction on a pooled connection.
 */
export class PostgresSink implements LogSink {
  readonly #write: (batch: LogBatch) => Promise<BatchResult>;

  constructor(db: Db) {
    this.#write = postgresLogWriter(db);
  }

  write(entries: LogEntry[], shadows: unknown[][]): Promise<BatchResult> {
    return this.#write(toBatch(entries, shadows));
  }

  async close(): Promise<void> {}
}

export function openLogSink(db: Db, databaseUrl: string): LogSink {
  if (dialectOf(db) === "postgres") return new PostgresSink(db);
  const file = databaseUrl.replace(/^sqlite:(\/\/)?/i, "");
  if (file === ":memory:" || !isMainThread) return new InThreadSqliteSink(db);
  return new SqliteWorkerSink(file);
}

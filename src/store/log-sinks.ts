/**
 * Where request-log batches go. SQLite files are written by a worker thread:
 * better-sqlite3 is synchronous, and a batch written on the main thread would
 * stall every request in flight for its duration. An in-memory SQLite database
 * cannot be shared with a worker, so it is written in-thread through Kysely.
 */
import { isMainThread, Worker } from "node:worker_threads";
import type { Db } from "./db.js";
import type { LogRow } from "./request-log.js";
import { toColumnValues } from "./request-log-columns.js";
import type { WorkerReply, WorkerRequest } from "./sqlite-log-worker.js";

export interface LogSink {
  /**
   * Resolves once the rows are stored, with the number the store refused as
   * invalid (left out, never retried); rejects when nothing could be stored.
   */
  write(rows: LogRow[]): Promise<{ rejected: number; error?: string | undefined }>;
  close(): Promise<void>;
}

/** SQLite allows 32766 bound parameters per statement; ~30 columns a row keeps 500 rows well under. */
const ROWS_PER_INSERT = 500;

export class KyselyLogSink implements LogSink {
  constructor(private readonly db: Db) {}

  async write(rows: LogRow[]): Promise<{ rejected: number }> {
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        await trx
          .insertInto("request_log")
          .values(rows.slice(i, i + ROWS_PER_INSERT))
          .execute();
      }
    });
    return { rejected: 0 };
  }

  async close(): Promise<void> {}
}

export class SqliteWorkerSink implements LogSink {
  #worker: Worker | undefined;
  #nextId = 0;
  readonly #pending = new Map<
    number,
    { resolve: (r: { rejected: number; error?: string | undefined }) => void; reject: (e: Error) => void }
  >();

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
      if (m.ok) p.resolve({ rejected: m.rejected, error: m.error });
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

  write(rows: LogRow[]): Promise<{ rejected: number; error?: string | undefined }> {
    this.#worker ??= this.#spawn();
    const id = this.#nextId++;
    const worker = this.#worker;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // Positional arrays clone far cheaper than objects with 28 named keys each.
      const values = rows.map(toColumnValues);
      worker.postMessage({ id, rows: values } satisfies WorkerRequest);
    });
  }

  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    if (w) await w.terminate();
  }
}

export function openLogSink(db: Db, databaseUrl: string): LogSink {
  const file = databaseUrl.replace(/^sqlite:(\/\/)?/i, "");
  if (file === ":memory:" || !isMainThread) return new KyselyLogSink(db);
  return new SqliteWorkerSink(file);
}

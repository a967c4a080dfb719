/**
 * The request log's writer. `push` only appends to memory, so the request path
 * never waits on the store; rows are written in multi-row batches on a timer or
 * when a batch fills, and `close` writes everything left (graceful shutdown).
 * Memory is bounded: past `maxQueue` the oldest rows are dropped and counted.
 */
import type { Insertable } from "kysely";
import type { Logger } from "pino";
import type { ConversationTurn } from "../core/conversation.js";
import type { LogSink } from "./log-sinks.js";
import type { RequestLogTable } from "./schema.js";

export type LogRow = Insertable<RequestLogTable>;

/** A row, and the conversation turn to store with it when the request was answered. */
export interface LogEntry {
  row: LogRow;
  turn: ConversationTurn | null;
}

export interface RequestLogOptions {
  flushIntervalMs: number;
  batchSize: number;
  maxQueue: number;
}

export class RequestLogWriter {
  #queue: LogEntry[] = [];
  #flushing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #dropped = 0;
  #rejected = 0;
  #lastDropLog = 0;
  #written = 0;
  #closed = false;

  constructor(
    private readonly sink: LogSink,
    private readonly opts: RequestLogOptions,
    private readonly logger: Logger,
  ) {
    this.#timer = setInterval(() => void this.flush(), opts.flushIntervalMs);
    this.#timer.unref();
  }

  get depth(): number {
    return this.#queue.length;
  }

  get dropped(): number {
    return this.#dropped;
  }

  /** Rows the store refused as invalid. */
  get rejected(): number {
    return this.#rejected;
  }

  get written(): number {
    return this.#written;
  }

  push(row: LogRow, turn: ConversationTurn | null = null): void {
    this.#queue.push({ row, turn });
    if (this.#queue.length > this.opts.maxQueue) {
      // Drop a tenth at once: a splice per row of a 100 000-row array, while the
      // store is down, would make every request pay for it.
      const excess = this.#queue.length - this.opts.maxQueue + Math.ceil(this.opts.maxQueue / 10);
      this.#queue.splice(0, excess);
      this.#dropped += excess;
      const now = Date.now();
      if (now - this.#lastDropLog >= 1000) {
        this.#lastDropLog = now;
        this.logger.error({ total_dropped: this.#dropped }, "request log queue full; oldest rows dropped");
      }
    }
    if (this.#queue.length >= this.opts.batchSize && !this.#flushing) setImmediate(() => void this.flush());
  }

  /** Writes every queued row; concurrent calls share one flush. */
  flush(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    if (this.#queue.length === 0) return Promise.resolve();
    this.#flushing = this.#drain().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.opts.batchSize);
      try {
        const { rejected, turnsRejected, error } = await this.sink.write(batch);
        this.#written += batch.length - rejected;
        if (rejected > 0) {
          this.#rejected += rejected;
          this.logger.error({ rejected, error }, "request log rows refused by the store (invalid values); left out");
        }
        if (turnsRejected > 0) {
          this.logger.error(
            { turns_rejected: turnsRejected, error },
            "conversation messages refused by the store; left out",
          );
        }
      } catch (e) {
        // Keep the rows for the next flush; the store may be briefly locked or down.
        this.#queue.unshift(...batch);
        this.logger.error({ err: e, queued: this.#queue.length }, "request log write failed; will retry");
        return;
      }
    }
  }

  /** Stops the timer and writes everything left, retrying briefly if the store resists. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (let tries = 0; tries < 5 && this.#queue.length > 0; tries++) {
      await this.flush();
      if (this.#queue.length > 0) await new Promise((r) => setTimeout(r, 200));
    }
    await this.#flushing;
    await this.sink.close();
    if (this.#queue.length > 0) {
      this.logger.error({ lost: this.#queue.length }, "request log rows could not be written before exit");
    }
  }
}

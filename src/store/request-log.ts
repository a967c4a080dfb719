/**
 * The request log's writer. `push` only appends to memory, so the request path
 * never waits on the store; rows are written in multi-row batches on a timer or
 * when a batch fills, and `close` writes everything left (graceful shutdown).
 * Memory is bounded: past `maxQueue` the oldest rows are dropped and counted,
 * and past `maxTurnBytes` of queued conversation messages the oldest turns are
 * dropped (their rows kept), since one turn can carry a long history.
 */
import type { Insertable } from "kysely";
import type { Logger } from "pino";
import type { ConversationTurn } from "../core/conversation.js";
import type { LogSink } from "./log-sinks.js";
import type { RequestLogTable } from "./schema.js";

export type LogRow = Insertable<RequestLogTable>;

/** A unit's first assignment by hash in an experiment; the store keeps only the first per unit. */
export interface Exposure {
  experiment: string;
  tenant: string;
  unitKind: string;
  unitId: string;
  variant: string;
  requestId: string;
  at: number;
}

/**
 * A row, the conversation turn to store with it when the request was answered,
 * and the experiment exposure it may be the first of.
 */
export interface LogEntry {
  row: LogRow;
  turn: ConversationTurn | null;
  exposure?: Exposure | null;
}

interface QueuedEntry extends LogEntry {
  /** The turn's approximate size in memory, counted against maxTurnBytes. */
  size: number;
}

export interface RequestLogOptions {
  flushIntervalMs: number;
  batchSize: number;
  maxQueue: number;
  maxTurnBytes: number;
}

/**
 * Roughly the bytes a turn's messages hold: the lengths of the strings in them.
 * Runs on the main thread for every answered request, so it walks the values
 * rather than serialising them (an inline image can be megabytes of base64).
 */
export function turnSize(t: ConversationTurn): number {
  let n = 0;
  for (const m of t.messages) n += stringBytes(m);
  return n + stringBytes(t.answer);
}

function stringBytes(v: unknown): number {
  if (typeof v === "string") return v.length;
  if (typeof v !== "object" || v === null) return 8;
  let n = 16;
  for (const x of Array.isArray(v) ? v : Object.values(v)) n += stringBytes(x);
  return n;
}

/** Shadow comparisons held at most while the store is slow; past either bound the oldest are dropped. */
export const SHADOW_QUEUE_MAX = 10_000;
export const SHADOW_QUEUE_MAX_BYTES = 64 * 1024 * 1024;

function shadowBytes(values: unknown[]): number {
  let n = 0;
  for (const v of values) n += typeof v === "string" ? v.length : 8;
  return n;
}

export class RequestLogWriter {
  #queue: QueuedEntry[] = [];
  #shadows: unknown[][] = [];
  #shadowBytes = 0;
  #shadowsDropped = 0;
  #turnBytes = 0;
  #turnsDropped = 0;
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

  /** Conversation turns left out to keep memory bounded (their rows were kept). */
  get turnsDropped(): number {
    return this.#turnsDropped;
  }

  push(row: LogRow, turn: ConversationTurn | null = null, exposure: Exposure | null = null): void {
    const size = turn ? turnSize(turn) : 0;
    this.#queue.push({ row, turn, exposure, size });
    this.#turnBytes += size;
    if (this.#turnBytes > this.opts.maxTurnBytes) this.#shedTurns();
    if (this.#queue.length > this.opts.maxQueue) {
      // Drop a tenth at once: a splice per row of a 100 000-row array, while the
      // store is down, would make every request pay for it.
      const excess = this.#queue.length - this.opts.maxQueue + Math.ceil(this.opts.maxQueue / 10);
      for (const e of this.#queue.splice(0, excess)) this.#turnBytes -= e.size;
      this.#dropped += excess;
      const now = Date.now();
      if (now - this.#lastDropLog >= 1000) {
        this.#lastDropLog = now;
        this.logger.error({ total_dropped: this.#dropped }, "request log queue full; oldest rows dropped");
      }
    }
    if (this.#queue.length >= this.opts.batchSize && !this.#flushing) setImmediate(() => void this.flush());
  }

  /** Shadow comparisons left out because too many waited for the store. */
  get shadowsDropped(): number {
    return this.#shadowsDropped;
  }

  /** Queues a shadow comparison (values in SHADOW_COLUMNS order), written with the next batch. */
  pushShadow(values: unknown[]): void {
    this.#shadows.push(values);
    this.#shadowBytes += shadowBytes(values);
    this.#boundShadows();
  }

  #boundShadows(): void {
    while (
      this.#shadows.length > SHADOW_QUEUE_MAX ||
      (this.#shadowBytes > SHADOW_QUEUE_MAX_BYTES && this.#shadows.length > 1)
    ) {
      this.#shadowBytes -= shadowBytes(this.#shadows.shift() as unknown[]);
      this.#shadowsDropped++;
    }
  }

  /** Drops the oldest queued turns down to three quarters of the budget, so this runs seldom. */
  #shedTurns(): void {
    const target = this.opts.maxTurnBytes * 0.75;
    let shed = 0;
    for (const e of this.#queue) {
      if (this.#turnBytes <= target) break;
      if (!e.turn) continue;
      this.#turnBytes -= e.size;
      e.turn = null;
      e.size = 0;
      shed++;
    }
    this.#turnsDropped += shed;
    this.logger.error(
      { turns_dropped: shed, total_turns_dropped: this.#turnsDropped },
      "conversation messages waiting for the store exceed requestLog.maxTurnBytes; oldest turns dropped (their request rows are kept)",
    );
  }

  /** Writes every queued row; concurrent calls share one flush. */
  flush(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    if (this.#queue.length === 0 && this.#shadows.length === 0) return Promise.resolve();
    this.#flushing = this.#drain().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#shadows.length > 0) {
      const batch = this.#queue.splice(0, this.opts.batchSize);
      const shadows = this.#shadows.splice(0, this.opts.batchSize);
      const shadowBatchBytes = shadows.reduce((n, v) => n + shadowBytes(v), 0);
      this.#shadowBytes -= shadowBatchBytes;
      const batchBytes = batch.reduce((n, e) => n + e.size, 0);
      this.#turnBytes -= batchBytes;
      try {
        const { rejected, turnsRejected, error } = await this.sink.write(batch, shadows);
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
        this.#shadows.unshift(...shadows);
        this.#shadowBytes += shadowBatchBytes;
        this.#boundShadows();
        this.#turnBytes += batchBytes;
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
    const left = () => this.#queue.length + this.#shadows.length;
    for (let tries = 0; tries < 5 && left() > 0; tries++) {
      await this.flush();
      if (left() > 0) await new Promise((r) => setTimeout(r, 200));
    }
    await this.#flushing;
    await this.sink.close();
    if (this.#queue.length > 0) {
      this.logger.error({ lost: this.#queue.length }, "request log rows could not be written before exit");
    }
  }
}

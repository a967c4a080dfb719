/**
 * A push-to-pull channel of stream chunks: generation pushes as tokens come, the
 * gateway pulls. `onAbandon` runs when the reader stops early (client gone), so the
 * generation stops and its sequence is freed at once.
 */
import type { StreamChunk } from "../types.js";

export class ChunkChannel implements AsyncIterable<StreamChunk> {
  readonly #items: StreamChunk[] = [];
  #waiter: ((r: IteratorResult<StreamChunk>) => void) | undefined;
  #failWaiter: ((e: unknown) => void) | undefined;
  #done = false;
  #error: unknown;
  #failed = false;
  readonly #onAbandon: () => void;

  constructor(onAbandon: () => void) {
    this.#onAbandon = onAbandon;
  }

  push(item: StreamChunk): void {
    if (this.#done) return;
    const w = this.#waiter;
    if (w) {
      this.#waiter = undefined;
      this.#failWaiter = undefined;
      w({ value: item, done: false });
    } else this.#items.push(item);
  }

  end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#settle();
  }

  fail(e: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#failed = true;
    this.#error = e;
    this.#settle();
  }

  #settle(): void {
    if (this.#items.length > 0) return;
    const w = this.#waiter;
    const f = this.#failWaiter;
    this.#waiter = undefined;
    this.#failWaiter = undefined;
    if (this.#failed) f?.(this.#error);
    else w?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<StreamChunk> {
    return {
      next: () => {
        const item = this.#items.shift();
        if (item) return Promise.resolve({ value: item, done: false });
        if (this.#done) {
          return this.#failed ? Promise.reject(this.#error) : Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve, reject) => {
          this.#waiter = resolve;
          this.#failWaiter = reject;
        });
      },
      return: () => {
        if (!this.#done) {
          this.#done = true;
          this.#items.length = 0;
          this.#onAbandon();
        }
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

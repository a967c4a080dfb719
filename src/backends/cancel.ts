/**
 * A cancellation token for the request path. An AbortController costs an
 * EventTarget and each listener a DOM-style registration; a request used
 * several, which showed in profiles. This is a list of callbacks. Only the
 * signal handed to the HTTP client is a real AbortSignal.
 */
export class Cancel {
  #cancelled = false;
  #reason: unknown;
  #listeners: Array<(reason: unknown) => void> = [];

  get cancelled(): boolean {
    return this.#cancelled;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** Cancels once; later calls are ignored. Listeners run in registration order. */
  cancel(reason: unknown): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#reason = reason;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const l of listeners) l(reason);
  }

  /** Runs `fn` on cancellation (at once if already cancelled); returns its removal. */
  onCancel(fn: (reason: unknown) => void): () => void {
    if (this.#cancelled) {
      fn(this.#reason);
      return noop;
    }
    this.#listeners.push(fn);
    return () => {
      const i = this.#listeners.indexOf(fn);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** A promise that rejects with the reason on cancellation, and never resolves. */
  rejection(): Promise<never> {
    return new Promise<never>((_, reject) => {
      this.onCancel(reject);
    });
  }
}

function noop(): void {}

/**
 * Writes SSE to the client as chunks arrive, respecting backpressure, and
 * noticing a client that went away (so the upstream call is ended at once).
 */
import type { ServerResponse } from "node:http";

export class ClientStream {
  #closed = false;

  constructor(private readonly res: ServerResponse) {
    res.once("close", () => {
      this.#closed = true;
    });
  }

  get closed(): boolean {
    return this.#closed || this.res.destroyed;
  }

  /**
   * Writes SSE frames. Returns a promise only when the socket is full: it
   * resolves when the socket can take more (or the client left). No promise on
   * the common path, which runs once per streamed chunk.
   */
  write(frames: string): Promise<void> | undefined {
    if (this.closed || frames === "") return undefined;
    if (this.res.write(frames)) return undefined;
    return new Promise<void>((resolve) => {
      const done = () => {
        this.res.off("drain", done);
        this.res.off("close", done);
        resolve();
      };
      this.res.on("drain", done);
      this.res.on("close", done);
    });
  }

  end(): void {
    if (!this.closed) this.res.end();
  }
}

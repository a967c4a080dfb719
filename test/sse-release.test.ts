/** How a backend lets go of a streamed body: drained (bounded) once the answer is complete, destroyed otherwise. */
import { once } from "node:events";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { DRAIN_MAX_BYTES, DRAIN_MAX_MS, releaseSseBody } from "../src/backends/sse.js";

/** A body its server is still writing: the test pushes the rest, or never does. */
const openBody = () => new Readable({ read() {} });

describe("releaseSseBody", () => {
  it("reads what is left of a completed answer's body to its end, without destroying it", async () => {
    const body = openBody();
    releaseSseBody(body, true);
    body.push("\n");
    body.push(null);
    await once(body, "close");
    expect(body.readableEnded).toBe(true);
    expect(body.errored).toBeNull();
  });

  it("destroys the body of an answer that did not complete", () => {
    const body = openBody();
    releaseSseBody(body, false);
    expect(body.destroyed).toBe(true);
  });

  it("gives up a completed answer's body that goes on past the byte bound", async () => {
    const body = openBody();
    releaseSseBody(body, true);
    body.push(Buffer.alloc(DRAIN_MAX_BYTES + 1));
    await once(body, "close");
    expect(body.readableEnded).toBe(false);
  });

  it("gives up a completed answer's body that never ends, after the time bound", async () => {
    const body = openBody();
    const started = Date.now();
    releaseSseBody(body, true);
    await once(body, "close");
    expect(body.readableEnded).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(DRAIN_MAX_MS - 5);
  });

  it("swallows an error the body raises once nobody reads it", async () => {
    const body = openBody();
    releaseSseBody(body, true);
    body.destroy(new Error("connection reset after [DONE]"));
    // Not events.once: it would hear the error itself. Unheard, it would be an uncaught exception.
    await new Promise((r) => body.on("close", r));
    expect(body.errored?.message).toBe("connection reset after [DONE]");
  });

  it("leaves a body that already ended alone", () => {
    const body = Readable.from([]);
    body.resume();
    return once(body, "end").then(() => {
      const listeners = body.listenerCount("error");
      releaseSseBody(body, false);
      expect(body.errored).toBeNull();
      expect(body.listenerCount("error")).toBe(listeners);
    });
  });
});

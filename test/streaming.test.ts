/** Streamed chunks reach the client as the upstream sends them, not when the answer is complete. */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type TestGateway } from "./helpers.js";

let upstream: Server;
let gw: TestGateway;
/** Resolves the upstream's held-back second half of the answer. */
let release: () => void = () => {};
let upstreamFinished = false;

const chunk = (content: string | null, finish: string | null) =>
  `data: ${JSON.stringify({
    id: "c1",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }],
  })}\n\n`;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(chunk("first ", null));
      // The rest waits until the test has seen the first chunk arrive through the gateway.
      release = () => {
        res.write(chunk("second", null));
        res.write(chunk(null, "stop"));
        res.end("data: [DONE]\n\n");
        upstreamFinished = true;
      };
    });
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  const { port } = upstream.address() as AddressInfo;
  gw = await startGateway({
    auth: { required: false },
    backends: { up: { type: "openai", baseUrl: `http://127.0.0.1:${port}/v1` } },
    routes: { chat: { variants: [{ name: "a", backend: "up", model: "m" }] } },
  });
});

afterAll(async () => {
  await gw.shutdown();
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});

describe("streaming", () => {
  it("forwards each chunk while the upstream is still generating", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }], stream: true }),
    });
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let seen = "";
    while (!seen.includes("first ")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += decoder.decode(value, { stream: true });
    }
    // The client holds the first chunk although the upstream has not finished.
    expect(seen).toContain('"content":"first "');
    expect(upstreamFinished).toBe(false);
    release();
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += decoder.decode(value, { stream: true });
    }
    expect(seen).toContain('"content":"second"');
    expect(seen.trimEnd().endsWith("data: [DONE]")).toBe(true);
    // Events are forwarded byte for byte: the upstream's JSON text, not a re-serialisation.
    expect(seen).toContain(chunk("second", null));
  });
});

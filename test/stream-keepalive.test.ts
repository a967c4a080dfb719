/**
 * A streamed answer keeps its upstream connection: servers send `[DONE]` (or
 * Anthropic's `message_stop`) and end the HTTP body a moment later in a separate
 * write, and a gateway that cut the body at `[DONE]` would close the connection
 * and pay a new TCP (TLS, for a real provider) handshake on every streamed call.
 */
import diagnostics from "node:diagnostics_channel";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type TestGateway } from "./helpers.js";

/** How long after the answer's last event the upstream ends the body; null: it never does. */
let endAfterMs: number | null = 30;
let connections = 0;
/** The connection the latest request came on. */
let lastSocket: Socket | undefined;
/** When each stream's body was ended by the upstream (Date.now()). */
const bodyEndedAt: number[] = [];
let upstream: Server;
let upstreamOrigin = "";
let gw: TestGateway;

/**
 * Upstream calls whose response the gateway's HTTP client has finished, whole or failed
 * (undici's diagnostics channels): only then can its connection take the next call.
 */
let upstreamCallsEnded = 0;
const onCallEnd = (message: unknown) => {
  const { origin, path } = (message as { request: { origin?: unknown; path?: unknown } }).request;
  if (origin === upstreamOrigin && typeof path === "string" && /\/(chat\/completions|messages)$/.test(path)) {
    upstreamCallsEnded++;
  }
};
const CALL_END_CHANNELS = ["undici:request:trailers", "undici:request:error"];
for (const name of CALL_END_CHANNELS) diagnostics.subscribe(name, onCallEnd);

const openaiChunk = (delta: Record<string, unknown>, finish: string | null) =>
  `data: ${JSON.stringify({
    id: "c1",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ index: 0, delta, finish_reason: finish }],
  })}\n\n`;

const anthropicEvent = (ev: Record<string, unknown>) => `event: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`;

const ANTHROPIC_STREAM = [
  {
    type: "message_start",
    message: {
      id: "msg_1",
      type: "message",
      role: "assistant",
      model: "claude-x",
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 3, output_tokens: 1 },
    },
  },
  { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } },
  { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hello there" } },
  { type: "content_block_stop", index: 0 },
  { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 2 } },
  { type: "message_stop" },
]
  .map(anthropicEvent)
  .join("");

beforeAll(async () => {
  upstream = createServer((req, res) => {
    lastSocket = req.socket;
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      if (req.url?.endsWith("/messages")) res.write(ANTHROPIC_STREAM);
      else {
        res.write(openaiChunk({ role: "assistant", content: "Hello" }, null));
        res.write(openaiChunk({ content: " there" }, "stop"));
        res.write("data: [DONE]\n\n");
      }
      if (endAfterMs === null) return;
      setTimeout(() => {
        // Some servers send a last comment or blank line with the end: it must be read too.
        res.end(": end\n\n");
        bodyEndedAt.push(Date.now());
      }, endAfterMs);
    });
  });
  upstream.on("connection", () => {
    connections++;
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  const { port } = upstream.address() as AddressInfo;
  upstreamOrigin = `http://127.0.0.1:${port}`;
  gw = await startGateway({
    auth: { required: false },
    backends: {
      up: { type: "openai", baseUrl: `http://127.0.0.1:${port}/v1` },
      claude: { type: "anthropic", baseUrl: `http://127.0.0.1:${port}`, apiKey: "anthropic-test-key-0123456789" },
    },
    routes: {
      chat: { variants: [{ name: "a", backend: "up", model: "m" }] },
      assistant: { variants: [{ name: "a", backend: "claude", model: "claude-x" }] },
    },
  });
});

afterAll(async () => {
  for (const name of CALL_END_CHANNELS) diagnostics.unsubscribe(name, onCallEnd);
  await gw.shutdown();
  upstream.closeAllConnections();
  await new Promise((r) => upstream.close(r));
});

/** One streamed call, read to its end; resolves with the text and when the client had it all. */
async function stream(model: string): Promise<{ text: string; doneAt: number }> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], stream: true }),
  });
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, doneAt: Date.now() };
}

const until = async (what: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!what() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return what();
};

/**
 * Waits until the upstream has ended the last body and the gateway's HTTP client has read
 * that end, and a moment more (undici gives a connection its next call an event-loop turn
 * later): only then is the connection back in its pool. A fixed wait instead failed now and
 * then under the full suite's load.
 */
async function settled(): Promise<void> {
  expect(await until(() => bodyEndedAt.length > 0 && upstreamCallsEnded > 0)).toBe(true);
  bodyEndedAt.length = 0;
  upstreamCallsEnded = 0;
  await new Promise((r) => setTimeout(r, 20));
}

describe("streamed answers keep the upstream connection", () => {
  // Each backend has a pool of its own, so each case counts its own connections.
  it.each([
    { backend: "OpenAI", end: "[DONE]", route: "chat", says: '"content":"Hello"' },
    { backend: "Anthropic", end: "message_stop", route: "assistant", says: "Hello there" },
  ])("reuses one connection for consecutive $backend streams whose body ends after $end", async ({ route, says }) => {
    endAfterMs = 30;
    connections = 0;
    for (let i = 0; i < 4; i++) {
      const { text } = await stream(route);
      expect(text).toContain(says);
      expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
      await settled();
    }
    expect(connections).toBe(1);
  });

  it("ends the client's stream at [DONE] without waiting for the upstream to end its body", async () => {
    endAfterMs = 1_000;
    bodyEndedAt.length = 0;
    const { text, doneAt } = await stream("chat");
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(await until(() => bodyEndedAt.length > 0)).toBe(true);
    expect(doneAt).toBeLessThan(bodyEndedAt[0] as number);
  });

  it("closes the connection of an upstream that never ends its body after [DONE]", async () => {
    endAfterMs = null;
    const { text } = await stream("chat");
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    const socket = lastSocket as Socket;
    expect(socket.destroyed).toBe(false);
    // The gateway reads what is left for a bounded time (sse.ts), then gives the connection up.
    expect(await until(() => socket.destroyed)).toBe(true);
  });
});

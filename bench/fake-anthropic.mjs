#!/usr/bin/env node
// Fake Anthropic Messages API upstream — a BENCHMARK FIXTURE ONLY, not part of Switchyard.
//
// Answers `POST /v1/messages` like Anthropic as cheaply as possible (every body serialised once):
// a `message` with usage, or with `"stream": true` the documented event sequence (message_start,
// content_block_start, N text deltas, content_block_stop, message_delta, message_stop). The text
// is the same as bench/fake-upstream.mjs's, so both backends answer alike.
//
// Usage: node bench/fake-anthropic.mjs --port 9132 [--chunks 20] [--host 127.0.0.1]

import http from "node:http";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "9132" },
    host: { type: "string", default: "127.0.0.1" },
    chunks: { type: "string", default: "20" },
  },
});
const chunks = Number(args.chunks);
const tokens = Array.from({ length: chunks }, (_, i) => (i === 0 ? "Hello" : ` tok${i}`));
const usage = { input_tokens: 8, output_tokens: chunks };
const message = {
  id: "msg_fakebench",
  type: "message",
  role: "assistant",
  model: "claude-bench",
  content: [{ type: "text", text: tokens.join("") }],
  stop_reason: "end_turn",
  stop_sequence: null,
  usage,
};
const event = (e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
const JSON_BODY = Buffer.from(JSON.stringify(message));
const STREAM_BODY = Buffer.from(
  [
    event({
      type: "message_start",
      message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } },
    }),
    event({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
    ...tokens.map((text) => event({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text } })),
    event({ type: "content_block_stop", index: 0 }),
    event({
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: chunks },
    }),
    event({ type: "message_stop" }),
  ].join(""),
);

const server = http.createServer((req, res) => {
  const parts = [];
  req.on("data", (c) => parts.push(c));
  req.on("end", () => {
    if (req.method === "GET" && req.url.startsWith("/v1/models")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ data: [{ type: "model", id: "claude-bench" }], has_more: false }));
      return;
    }
    if (req.method !== "POST" || !req.url.startsWith("/v1/messages")) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"type":"error","error":{"type":"not_found_error","message":"no such route"}}');
      return;
    }
    const stream = Buffer.concat(parts).includes('"stream":true');
    res.writeHead(200, { "content-type": stream ? "text/event-stream" : "application/json" });
    res.end(stream ? STREAM_BODY : JSON_BODY);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(args.port), args.host, () =>
  console.log(`fake-anthropic listening on http://${args.host}:${args.port}`),
);
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => server.close(() => process.exit(0)));

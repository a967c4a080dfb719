#!/usr/bin/env node
// The floor — a BENCHMARK FIXTURE ONLY, not part of Switchyard: the least an OpenAI-compatible proxy
// written in Node does, with the same two libraries Switchyard's request path stands on (Fastify in,
// undici out) and none of its features (no keys, routing, retries, breaker, metrics or request log).
// bench/run.mjs measures it beside Switchyard so that every run shows what any Node gateway costs on
// that machine at least, and how much of Switchyard's cost is its own.
//
// Per request it does what no proxy can skip: parse the client's JSON, set the upstream model,
// serialise it, call the upstream over a keep-alive pool, and either parse the answer (a gateway
// reads its usage) and send its text on, or pipe a stream through as it arrives.
//
// Usage: node bench/bare-proxy.mjs --port 9103 --upstream http://127.0.0.1:9101 [--host 127.0.0.1]
//          [--model fake-model]
// Prints one line `bare-proxy listening on http://HOST:PORT` when ready; stops on SIGTERM / SIGINT.

import { parseArgs } from "node:util";
import Fastify from "fastify";
import { Pool } from "undici";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "9103" },
    host: { type: "string", default: "127.0.0.1" },
    upstream: { type: "string", default: "http://127.0.0.1:9101" },
    model: { type: "string", default: "fake-model" },
  },
});

const upstream = new Pool(args.upstream, { connections: 1024, pipelining: 1 });
const app = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });

app.post("/v1/chat/completions", async (req, reply) => {
  const body = req.body;
  if (typeof body !== "object" || body === null) return reply.code(400).send({ error: "a JSON object is expected" });
  body.model = args.model;
  let res;
  try {
    res = await upstream.request({
      path: "/v1/chat/completions",
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (e) {
    return reply.code(502).send({ error: `upstream: ${e.message}` });
  }
  reply.code(res.statusCode);
  if (body.stream === true) return reply.type("text/event-stream").send(res.body);
  const text = await res.body.text();
  JSON.parse(text);
  return reply.type("application/json").send(text);
});

app.get("/readyz", async () => ({ status: "ready" }));

await app.listen({ port: Number(args.port), host: args.host });
console.log(`bare-proxy listening on http://${args.host}:${args.port}`);
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.once(sig, async () => {
    await app.close();
    await upstream.close();
    process.exit(0);
  });
}

#!/usr/bin/env node
// Fake OpenAI-compatible upstream — a BENCHMARK / TEST FIXTURE ONLY, not part of Switchyard.
//
// It answers like an OpenAI backend as cheaply as possible, so that the load generator and the
// gateway under test, not this process, are the bottleneck: every response body is serialised once
// (per model name) and reused; a request costs one small JSON.parse and one socket write.
//
//   POST /v1/chat/completions   non-streaming: a `chat.completion` with `usage`
//                               `"stream": true`: N `chat.completion.chunk` SSE events, then (if
//                               `stream_options.include_usage`) a usage chunk with `choices: []`,
//                               then `data: [DONE]`
//   GET  /v1/models             one model, `fake-model`
//   PUT  /__bench/config        {"delayMs":50,"chunks":20,"chunkIntervalMs":0} changes the behaviour at
//                               run time (used by bench/run.mjs so the gateway's pooled connections to
//                               this process survive a change of scenario)
//   GET  /__bench/stats         {"requests":N,...}
//   (the same routes also answer without the /v1 prefix)
//
// Usage: node bench/fake-upstream.mjs --port 9101 --delay-ms 0 --chunks 20 [--chunk-interval-ms 0]
//                                     [--host 127.0.0.1]
// Prints one line `fake-upstream listening on http://HOST:PORT ...` on stdout when ready; stops on
// SIGTERM / SIGINT. Also importable: `createFakeUpstream({ delayMs, chunks })`.

import http from "node:http";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const CREATED = Math.floor(Date.now() / 1000);
const ID = "chatcmpl-fakebench0000000000000000";
const PROMPT_TOKENS = 8;

function sse(obj) {
  return `data: ${JSON.stringify(obj)}\n\n`;
}

/** Serialise every body for one model name and one config. */
function buildBodies(model, chunks) {
  const tokens = [];
  for (let i = 0; i < chunks; i++) tokens.push(i === 0 ? "Hello" : ` tok${i}`);
  const content = tokens.join("");
  const usage = {
    prompt_tokens: PROMPT_TOKENS,
    completion_tokens: chunks,
    total_tokens: PROMPT_TOKENS + chunks,
  };
  const completion = Buffer.from(
    JSON.stringify({
      id: ID,
      object: "chat.completion",
      created: CREATED,
      model,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content, refusal: null },
          logprobs: null,
          finish_reason: "stop",
        },
      ],
      usage,
      system_fingerprint: "fp_fake",
    }),
  );
  const chunkBase = { id: ID, object: "chat.completion.chunk", created: CREATED, model, system_fingerprint: "fp_fake" };
  const events = [];
  for (let i = 0; i < chunks; i++) {
    const delta = i === 0 ? { role: "assistant", content: tokens[i] } : { content: tokens[i] };
    // exactly `chunks` events; the last one carries finish_reason
    const finish = i === chunks - 1 ? "stop" : null;
    events.push(sse({ ...chunkBase, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] }));
  }
  const usageEvent = sse({ ...chunkBase, choices: [], usage });
  const done = "data: [DONE]\n\n";
  return {
    completion,
    // headers built once too: writeHead() only reads them
    completionHeaders: { "content-type": "application/json", "content-length": String(completion.length) },
    events: events.map((e) => Buffer.from(e)),
    usageEvent: Buffer.from(usageEvent),
    done: Buffer.from(done),
    streamNoUsage: Buffer.from(events.join("") + done),
    streamWithUsage: Buffer.from(events.join("") + usageEvent + done),
  };
}

const MODELS_BODY = Buffer.from(
  JSON.stringify({
    object: "list",
    data: [{ id: "fake-model", object: "model", created: CREATED, owned_by: "switchyard-bench" }],
  }),
);

const JSON_HEADERS = { "content-type": "application/json" };
const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" };

function errorBody(status, message) {
  return Buffer.from(JSON.stringify({ error: { message, type: "invalid_request_error", code: status } }));
}

export function createFakeUpstream(options = {}) {
  const config = {
    delayMs: options.delayMs ?? 0,
    chunks: options.chunks ?? 20,
    chunkIntervalMs: options.chunkIntervalMs ?? 0,
  };
  /** model name -> pre-serialised bodies; bounded so a client sending random names cannot grow it */
  let cache = new Map();
  const stats = { requests: 0, chat: 0, stream: 0, errors: 0 };

  function bodiesFor(model) {
    let b = cache.get(model);
    if (b === undefined) {
      if (cache.size >= 64) cache = new Map();
      b = buildBodies(model, config.chunks);
      cache.set(model, b);
    }
    return b;
  }

  function send(res, status, headers, body) {
    headers["content-length"] = body.length;
    res.writeHead(status, headers);
    res.end(body);
  }

  function answerChat(res, raw) {
    let parsed;
    try {
      parsed = JSON.parse(raw);
    } catch {
      stats.errors++;
      return send(res, 400, { ...JSON_HEADERS }, errorBody(400, "invalid JSON body"));
    }
    if (parsed === null || typeof parsed !== "object" || !Array.isArray(parsed.messages)) {
      stats.errors++;
      return send(res, 400, { ...JSON_HEADERS }, errorBody(400, "`messages` must be an array"));
    }
    const model = typeof parsed.model === "string" && parsed.model.length > 0 ? parsed.model : "fake-model";
    const b = bodiesFor(model);
    stats.chat++;
    if (parsed.stream !== true) {
      const respond = () => {
        res.writeHead(200, b.completionHeaders);
        res.end(b.completion);
      };
      if (config.delayMs > 0) setTimeout(respond, config.delayMs);
      else respond();
      return;
    }
    stats.stream++;
    const withUsage = parsed.stream_options?.include_usage === true;
    const interval = config.chunkIntervalMs;
    const respond = () => {
      if (res.destroyed) return;
      res.writeHead(200, SSE_HEADERS);
      if (interval <= 0) {
        res.end(withUsage ? b.streamWithUsage : b.streamNoUsage);
        return;
      }
      let i = 0;
      const next = () => {
        if (res.destroyed) return;
        if (i < b.events.length) {
          res.write(b.events[i++]);
          setTimeout(next, interval);
        } else {
          if (withUsage) res.write(b.usageEvent);
          res.end(b.done);
        }
      };
      next();
    };
    if (config.delayMs > 0) setTimeout(respond, config.delayMs);
    else respond();
  }

  function readBody(req, cb) {
    const parts = [];
    req.on("data", (c) => parts.push(c));
    req.on("end", () => cb(parts.length === 1 ? parts[0].toString() : Buffer.concat(parts).toString()));
  }

  const server = http.createServer((req, res) => {
    stats.requests++;
    const q = req.url.indexOf("?");
    let path = q === -1 ? req.url : req.url.slice(0, q);
    if (path.startsWith("/v1/")) path = path.slice(3);
    if (req.method === "POST" && path === "/chat/completions") {
      readBody(req, (raw) => answerChat(res, raw));
      return;
    }
    if (req.method === "GET" && path === "/models") {
      req.resume();
      return send(res, 200, { ...JSON_HEADERS }, MODELS_BODY);
    }
    if (req.method === "GET" && path === "/__bench/stats") {
      req.resume();
      return send(res, 200, { ...JSON_HEADERS }, Buffer.from(JSON.stringify({ ...stats, config })));
    }
    if (req.method === "PUT" && path === "/__bench/config") {
      readBody(req, (raw) => {
        try {
          const next = JSON.parse(raw);
          for (const k of ["delayMs", "chunks", "chunkIntervalMs"]) {
            if (next[k] !== undefined) {
              if (!Number.isInteger(next[k]) || next[k] < 0) throw new Error(`${k} must be an integer >= 0`);
              config[k] = next[k];
            }
          }
          if (config.chunks < 1) config.chunks = 1;
          cache = new Map();
          send(res, 200, { ...JSON_HEADERS }, Buffer.from(JSON.stringify(config)));
        } catch (e) {
          send(res, 400, { ...JSON_HEADERS }, errorBody(400, String(e.message)));
        }
      });
      return;
    }
    req.resume();
    stats.errors++;
    send(res, 404, { ...JSON_HEADERS }, errorBody(404, `no route ${req.method} ${req.url}`));
  });
  // Keep client connections (the gateway's pool) open well past any client's idle timeout, so a
  // client never races a server-side close.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  server.requestTimeout = 0;
  server.maxRequestsPerSocket = 0;

  return {
    server,
    config,
    stats,
    listen(port = 0, host = "127.0.0.1") {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen({ port, host, backlog: 2048 }, () => {
          server.off("error", reject);
          resolve(server.address());
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "9101" },
      host: { type: "string", default: "127.0.0.1" },
      "delay-ms": { type: "string", default: "0" },
      chunks: { type: "string", default: "20" },
      "chunk-interval-ms": { type: "string", default: "0" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "usage: node bench/fake-upstream.mjs [--port 9101] [--host 127.0.0.1] [--delay-ms 0] [--chunks 20] [--chunk-interval-ms 0]",
    );
    return;
  }
  const int = (name) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 0) {
      console.error(`fake-upstream: --${name} must be an integer >= 0, got ${values[name]}`);
      process.exit(2);
    }
    return n;
  };
  const up = createFakeUpstream({
    delayMs: int("delay-ms"),
    chunks: Math.max(1, int("chunks")),
    chunkIntervalMs: int("chunk-interval-ms"),
  });
  let addr;
  try {
    addr = await up.listen(int("port"), values.host);
  } catch (e) {
    console.error(`fake-upstream: cannot listen on ${values.host}:${values.port}: ${e.message}`);
    process.exit(1);
  }
  console.log(
    `fake-upstream listening on http://${addr.address}:${addr.port} delayMs=${up.config.delayMs} chunks=${up.config.chunks} chunkIntervalMs=${up.config.chunkIntervalMs}`,
  );
  const stop = () => {
    up.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main();
}

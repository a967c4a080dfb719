#!/usr/bin/env node
// The embedded llama-cpp backend on the tests' tiny GGUF model (written here by the test fixture,
// nothing downloaded): time to first token, decode tokens/s and total time of one request, for
// node-llama-cpp called directly in this process and for the same generation through Switchyard
// (started in this process too, so both models run under the same conditions; its HTTP client,
// streamed and not, is a child process: llama-cpp-client.mjs). Requests run one at a time; each
// measured request runs the three targets back to back (rotating their order), so the overhead is
// the median of per-request differences; a warm-up precedes each round; medians are reported.
// Every answer must be the same text as the direct call's (same seed): mismatches are counted.
//
//   node --import tsx bench/llama-cpp.mjs                 # 3 rounds x 30 requests, 128 tokens, 1 thread
//   node --import tsx bench/llama-cpp.mjs --rounds 5 --requests 40 --max-tokens 256 --threads 2

import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { getLlama, LlamaChat, resolveChatWrapper } from "node-llama-cpp";
import { pino } from "pino";
import { writeTinyModel } from "../test/fixtures/tiny-gguf.ts";
import { build, median, writeResults } from "./children.mjs";

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, "..");
const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    requests: { type: "string", default: "30" },
    warmup: { type: "string", default: "3" },
    "max-tokens": { type: "string", default: "128" },
    threads: { type: "string", default: "1" },
    build: { type: "boolean", default: false },
  },
});
const ROUNDS = Number(args.rounds);
const REQUESTS = Number(args.requests);
const WARMUP = Number(args.warmup);
const MAX_TOKENS = Number(args["max-tokens"]);
const THREADS = Number(args.threads);
const CONTEXT = 512;
const SEED = 42;
const TEMPERATURE = 0.8;
const PROMPT = "hello the dog sat on the mat";

if (args.build || !fs.existsSync(path.join(ROOT, "dist/server/serve.js"))) build(ROOT);
const { validateConfig } = await import("../dist/core/config/parse.js");
const { startServer } = await import("../dist/server/serve.js");

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-bench-llama-"));
const modelPath = path.join(dir, "tiny.gguf");
writeTinyModel(modelPath);

// ── direct: node-llama-cpp as an application would call it ─────────────────
const llama = await getLlama({ gpu: false, build: "never", maxThreads: THREADS });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ contextSize: CONTEXT, sequences: 1, threads: THREADS });
const wrapper = resolveChatWrapper(model);

async function direct() {
  const t0 = performance.now();
  let ttft;
  const sequence = context.getSequence();
  try {
    const chat = new LlamaChat({ contextSequence: sequence, chatWrapper: wrapper, autoDisposeSequence: false });
    const res = await chat.generateResponse(
      [
        { type: "user", text: PROMPT },
        { type: "model", response: [] },
      ],
      {
        maxTokens: MAX_TOKENS,
        seed: SEED,
        temperature: TEMPERATURE,
        repeatPenalty: false,
        onTextChunk: () => {
          ttft ??= performance.now() - t0;
        },
      },
    );
    chat.dispose({ disposeSequence: false });
    return {
      ttft: ttft ?? null,
      total: performance.now() - t0,
      tokens: sequence.tokenMeter.usedOutputTokens,
      text: res.response,
    };
  } finally {
    sequence.dispose();
  }
}

// ── Switchyard: the same model behind a llama-cpp backend ──────────────────
const server = await startServer(
  validateConfig(
    {
      server: { host: "127.0.0.1", port: 0 },
      database: { url: path.join(dir, "switchyard.db") },
      auth: { required: false },
      logging: { level: "warn" },
      conversations: { store: false },
      backends: {
        local: { type: "llama-cpp", modelPath, contextSize: CONTEXT, parallel: 1, maxQueue: 4, threads: THREADS },
      },
      routes: { chat: { variants: [{ name: "tiny", backend: "local", model: "tiny" }] } },
    },
    "bench config",
  ),
  pino({ level: "warn" }),
);
await server.gateway.localEngines.get("local").engine.ready;
const requestBody = JSON.stringify({
  model: "chat",
  messages: [{ role: "user", content: PROMPT }],
  max_tokens: MAX_TOKENS,
  seed: SEED,
  temperature: TEMPERATURE,
});

// One client process for the whole run: a request per line asked, a JSON line answered.
const client = spawn(process.execPath, [path.join(BENCH, "llama-cpp-client.mjs"), server.url, requestBody], {
  stdio: ["pipe", "pipe", "inherit"],
});
const replies = [];
let pending;
let out = "";
client.stdout.on("data", (d) => {
  out += d;
  for (let i = out.indexOf("\n"); i >= 0; i = out.indexOf("\n")) {
    replies.push(JSON.parse(out.slice(0, i)));
    out = out.slice(i + 1);
    pending?.();
  }
});
function viaSwitchyard(mode) {
  return new Promise((resolve) => {
    pending = () => {
      pending = undefined;
      resolve(replies.shift());
    };
    client.stdin.write(`${mode}\n`);
  });
}

const targets = {
  direct: () => direct(),
  "switchyard-stream": () => viaSwitchyard("stream"),
  "switchyard-json": () => viaSwitchyard("json"),
};
const names = Object.keys(targets);
const reference = (await direct()).text;
const results = Object.fromEntries(names.map((k) => [k, { rounds: [], mismatches: 0 }]));
// Paired: each request of a round runs the three targets back to back (in an order that rotates),
// so a burst of load from elsewhere on the machine hits all three alike; differences are per triple.
const paired = { "switchyard-stream": [], "switchyard-json": [], "stream-ttft": [] };

for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < WARMUP; i++) for (const n of names) await targets[n]();
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < REQUESTS; i++) {
    const order = names.map((_, k) => names[(k + i) % names.length]);
    const got = {};
    for (const n of order) got[n] = await targets[n]();
    for (const n of names) {
      if (got[n].text !== reference) results[n].mismatches++;
      samples[n].push(got[n]);
    }
    paired["switchyard-stream"].push(got["switchyard-stream"].total - got.direct.total);
    paired["switchyard-json"].push(got["switchyard-json"].total - got.direct.total);
    paired["stream-ttft"].push(got["switchyard-stream"].ttft - got.direct.ttft);
  }
  for (const n of names) {
    const xs = samples[n];
    const m = {
      ttftMs: xs[0].ttft === null ? null : median(xs.map((s) => s.ttft)),
      totalMs: median(xs.map((s) => s.total)),
      tokens: median(xs.map((s) => s.tokens)),
      // Decode speed after the first token as the caller sees it (a JSON answer has no first token: its whole time).
      tokensPerSecond: median(xs.map((s) => ((s.tokens - 1) * 1000) / (s.total - (s.ttft ?? 0)))),
    };
    results[n].rounds.push(m);
    console.log(`round ${round + 1} ${n.padEnd(18)} ${JSON.stringify(m)}`);
  }
}
client.stdin.end();

const summary = Object.fromEntries(
  Object.entries(results).map(([name, r]) => [
    name,
    {
      ttftMs: r.rounds[0].ttftMs === null ? null : median(r.rounds.map((x) => x.ttftMs)),
      totalMs: median(r.rounds.map((x) => x.totalMs)),
      tokensPerSecond: median(r.rounds.map((x) => x.tokensPerSecond)),
      mismatches: r.mismatches,
    },
  ]),
);
const d = summary.direct;
for (const name of ["switchyard-stream", "switchyard-json"]) {
  const s = summary[name];
  // Medians of the per-triple differences, over every measured request of every round.
  s.overheadMs = median(paired[name]);
  s.totalRatio = s.totalMs / d.totalMs;
}
summary["switchyard-stream"].ttftOverheadMs = median(paired["stream-ttft"]);
// Switchyard's own view (the request log: from the request's arrival to the first chunk and the
// last byte written), which leaves out the client process and the loopback hops.
await server.gateway.recorded();
await server.gateway.log.flush();
const logged = await server.gateway.db.selectFrom("request_log").select(["stream", "ttft_ms", "latency_ms"]).execute();
const measured = (stream) => logged.filter((r) => r.stream === stream).slice(-ROUNDS * REQUESTS);
summary["switchyard-stream"].serverTtftMs = median(measured(1).map((r) => r.ttft_ms));
summary["switchyard-stream"].serverLatencyMs = median(measured(1).map((r) => r.latency_ms));
summary["switchyard-json"].serverLatencyMs = median(measured(0).map((r) => r.latency_ms));
console.log(JSON.stringify(summary, null, 1));
const engine = server.gateway.localEngines.get("local").stats();
const file = writeResults(BENCH, "llama-cpp", {
  command: process.argv.slice(1).join(" "),
  params: {
    rounds: ROUNDS,
    requests: REQUESTS,
    warmup: WARMUP,
    maxTokens: MAX_TOKENS,
    threads: THREADS,
    context: CONTEXT,
  },
  summary,
  results,
  engine: { memoryBytes: engine.memoryBytes, tokensPerSecond: engine.tokensPerSecond },
  nodeLlamaCpp: JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/node-llama-cpp/package.json"), "utf8"))
    .version,
});
console.log(`results: ${path.relative(ROOT, file)}`);
await server.shutdown();
await context.dispose();
await model.dispose();
fs.rmSync(dir, { recursive: true, force: true });

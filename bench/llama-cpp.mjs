#!/usr/bin/env node
// The embedded llama-cpp backend on the tests' tiny GGUF model (written here by the test fixture,
// nothing downloaded): time to first token, decode tokens/s and total time of one request, for
// node-llama-cpp called directly in this process and for the same generation through Switchyard
// (started in this process too, so both models run under the same conditions; its HTTP client,
// streamed and not, is a child process: llama-cpp-client.mjs). Requests run one at a time, the
// three targets alternate round by round, a warm-up precedes each round, medians are reported.
// Every answer must be the same text as the direct call's (same seed): mismatches are counted.
//
//   node --import tsx bench/llama-cpp.mjs                 # 3 rounds x 20 requests, 128 tokens, 1 thread
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
    requests: { type: "string", default: "20" },
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

/** `n` requests from the client process (warm-up included there); resolves with its samples. */
function viaSwitchyard(mode, n, warmup) {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(BENCH, "llama-cpp-client.mjs"), server.url, mode, String(n), String(warmup), requestBody],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`client exited ${code}`))));
  });
}

async function directBatch(n, warmup) {
  for (let i = 0; i < warmup; i++) await direct();
  const samples = [];
  for (let i = 0; i < n; i++) samples.push(await direct());
  return samples;
}

const targets = {
  direct: directBatch,
  "switchyard-stream": (n, w) => viaSwitchyard("stream", n, w),
  "switchyard-json": (n, w) => viaSwitchyard("json", n, w),
};
const reference = (await direct()).text;
const results = Object.fromEntries(Object.keys(targets).map((k) => [k, { rounds: [], mismatches: 0 }]));

for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(targets)) {
    const samples = await run(REQUESTS, WARMUP);
    for (const s of samples) if (s.text !== reference) results[name].mismatches++;
    const m = {
      ttftMs: samples[0].ttft === null ? null : median(samples.map((s) => s.ttft)),
      totalMs: median(samples.map((s) => s.total)),
      tokens: median(samples.map((s) => s.tokens)),
      // Decode speed after the first token, as a client sees it.
      tokensPerSecond: median(samples.map((s) => ((s.tokens - 1) * 1000) / (s.total - (s.ttft ?? 0)))),
      requestsPerSecond: 1000 / median(samples.map((s) => s.total)),
    };
    results[name].rounds.push(m);
    console.log(`round ${round + 1} ${name.padEnd(18)} ${JSON.stringify(m)}`);
  }
}

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
  s.overheadMs = s.totalMs - d.totalMs;
  s.totalRatio = s.totalMs / d.totalMs;
  if (s.ttftMs !== null) s.ttftOverheadMs = s.ttftMs - d.ttftMs;
}
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

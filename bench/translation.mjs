#!/usr/bin/env node
// What translation costs. One Switchyard answers the same prompt through
//   chat → openai        chat completions to an OpenAI-compatible upstream (passthrough: the baseline)
//   chat → anthropic     chat completions translated to Anthropic's Messages API and back
//   messages → openai    Anthropic's Messages API inbound, translated onto an OpenAI-compatible route
//   responses → openai   OpenAI's Responses API inbound, likewise
// each non-streaming and streaming (20 chunks), both fake upstreams answering at once, measured
// side by side in alternating, rotated rounds:
//   - latency, open loop at a fixed rate (bench/paced.mjs): p50 / p90 / p99 against the passthrough;
//   - throughput, closed loop (autocannon, 64 connections): req/s, and the gateway's CPU time per
//     request at saturation (all threads, /proc/PID/stat), against the passthrough;
//   - the translation functions alone, in this process (from dist/): µs per request.
//
//   node bench/translation.mjs                       # 3 rounds; 500 req/s and 64 connections, 2 s warm-up + 5 s each
//   node bench/translation.mjs --only responses      # those scenarios and the passthrough baselines
//   node bench/translation.mjs --rounds 1 --duration 2 --no-write   # smoke run

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { build, median, startChild, startSwitchyard, stopAll, waitReady, writeResults } from "./children.mjs";
import { runPaced } from "./paced.mjs";

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, "..");
const HOST = "127.0.0.1";
const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    rate: { type: "string", default: "500" },
    connections: { type: "string", default: "64" },
    duration: { type: "string", default: "5" },
    warmup: { type: "string", default: "2" },
    only: { type: "string" },
    "no-write": { type: "boolean", default: false },
  },
});
const opt = {
  rounds: Number(args.rounds),
  rate: Number(args.rate),
  connections: Number(args.connections),
  duration: Number(args.duration),
  warmup: Number(args.warmup),
  ports: { openai: 9131, anthropic: 9132, switchyard: 9133 },
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-translation-bench-"));
const children = new Set();
const messages = [{ role: "user", content: "Say hello" }];

const SCENARIOS = [];
for (const stream of [false, true]) {
  const s = stream ? " (stream)" : "";
  SCENARIOS.push(
    {
      name: `chat → openai${s}`,
      path: "/v1/chat/completions",
      body: { model: "oa", messages, stream },
      baseline: true,
    },
    { name: `chat → anthropic${s}`, path: "/v1/chat/completions", body: { model: "claude", messages, stream } },
    { name: `messages → openai${s}`, path: "/v1/messages", body: { model: "oa", max_tokens: 100, messages, stream } },
    {
      name: `responses → openai${s}`,
      path: "/v1/responses",
      body: { model: "oa", input: "Say hello", stream, store: false },
    },
  );
}
if (args.only) {
  const wanted = args.only.split(",").map((w) => w.trim());
  const keep = SCENARIOS.filter((sc) => sc.baseline || wanted.some((w) => sc.name.includes(w)));
  SCENARIOS.splice(0, SCENARIOS.length, ...keep);
}

/** CPU seconds used so far by a process, all its threads (utime + stime, USER_HZ 100). */
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const url = (sc) => `http://${HOST}:${opt.ports.switchyard}${sc.path}`;

async function paced(sc) {
  const res = await runPaced({
    url: url(sc),
    rate: opt.rate,
    durationSec: opt.duration,
    warmupSec: opt.warmup,
    body: JSON.stringify(sc.body),
  });
  const faults = res.non2xx + res.errors + res.timeouts + (res.warmup ? res.warmup.non2xx + res.warmup.errors : 0);
  return { p50: res.latencyMs.p50, p90: res.latencyMs.p90, p99: res.latencyMs.p99, faults };
}

function cannon(sc, seconds) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: url(sc),
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(sc.body),
        connections: opt.connections,
        duration: seconds,
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
}

async function closedLoop(gwPid, sc) {
  await cannon(sc, opt.warmup);
  const cpu0 = cpuSeconds(gwPid);
  const res = await cannon(sc, opt.duration);
  const cpu = cpuSeconds(gwPid) - cpu0;
  const done = res.requests.total;
  return {
    rps: Math.round(res.requests.average),
    cpuUsPerRequest: Math.round((cpu * 1e6) / Math.max(1, done)),
    faults: res.non2xx + res.errors + res.timeouts,
  };
}

/** The translations alone, timed in this process on the bench's own bodies. */
async function micro() {
  const load = (p) => import(pathToFileURL(path.join(ROOT, "dist", p)).href);
  const { toAnthropicRequest } = await load("backends/anthropic/request.js");
  const { fromAnthropicMessage } = await load("backends/anthropic/response.js");
  const { fromMessagesRequest } = await load("server/messages-api/request.js");
  const { toAnthropicMessage, MessagesStreamEncoder } = await load("server/messages-api/response.js");
  const { fromResponsesRequest } = await load("server/responses-api/request.js");
  const { toResponseObject, ResponsesStreamEncoder } = await load("server/responses-api/response.js");
  const text = Array.from({ length: 20 }, (_, i) => (i === 0 ? "Hello" : ` tok${i}`));
  const completion = {
    id: "c",
    object: "chat.completion",
    created: 1,
    model: "fake-model",
    choices: [{ index: 0, message: { role: "assistant", content: text.join("") }, finish_reason: "stop" }],
    usage: { prompt_tokens: 8, completion_tokens: 20, total_tokens: 28 },
  };
  const base = { id: "c", object: "chat.completion.chunk", created: 1, model: "fake-model" };
  const chunks = [
    ...text.map((t, i) => ({
      ...base,
      choices: [{ index: 0, delta: { content: t }, finish_reason: i === 19 ? "stop" : null }],
    })),
    { ...base, choices: [], usage: completion.usage },
  ].map((chunk) => ({ chunk, text: JSON.stringify(chunk) }));
  const anthropicMessage = {
    id: "msg",
    type: "message",
    role: "assistant",
    model: "claude-bench",
    content: [{ type: "text", text: text.join("") }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: 8, output_tokens: 20 },
  };
  const ctx = () => ({
    requestId: "req_0123",
    createdAt: Date.now(),
    request: { chat: {}, echo: { model: "oa" }, store: false, previousResponseId: null, instructions: null },
  });
  const cases = {
    "chat → anthropic: request + answer": () => {
      toAnthropicRequest({ model: "claude", messages }, { defaultMaxTokens: 4096 });
      fromAnthropicMessage(anthropicMessage);
    },
    "messages → openai: request + answer": () => {
      fromMessagesRequest({ model: "oa", max_tokens: 100, messages });
      JSON.stringify(toAnthropicMessage(completion, "req_0123", "openai"));
    },
    "messages → openai: 21 stream chunks": () => {
      const e = new MessagesStreamEncoder("req_0123", "oa");
      for (const c of chunks) e.chunk(c);
      e.end();
    },
    "responses → openai: request + answer": async () => {
      await fromResponsesRequest({ model: "oa", input: "Say hello", store: false }, async () => undefined);
      JSON.stringify(toResponseObject(ctx(), completion));
    },
    "responses → openai: 21 stream chunks": () => {
      const e = new ResponsesStreamEncoder(ctx(), "oa");
      for (const c of chunks) e.chunk(c);
      e.end();
    },
  };
  const out = {};
  for (const [name, fn] of Object.entries(cases)) {
    for (let i = 0; i < 20_000; i++) await fn(); // warm-up: let the JIT compile it
    const n = 100_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fn();
    out[name] = Math.round(((performance.now() - t0) * 1000 * 100) / n) / 100;
    console.log(`micro ${name.padEnd(40)} ${out[name]} µs`);
  }
  return out;
}

async function main() {
  build(ROOT);
  startChild(children, tmp, ROOT, "openai", [
    path.join(BENCH, "fake-upstream.mjs"),
    "--port",
    String(opt.ports.openai),
  ]);
  startChild(children, tmp, ROOT, "anthropic", [
    path.join(BENCH, "fake-anthropic.mjs"),
    "--port",
    String(opt.ports.anthropic),
  ]);
  await waitReady(`http://${HOST}:${opt.ports.openai}/v1/models`, "openai", tmp);
  await waitReady(`http://${HOST}:${opt.ports.anthropic}/v1/models`, "anthropic", tmp);
  const gw = await startSwitchyard(
    children,
    tmp,
    ROOT,
    `server: { host: ${HOST}, port: ${opt.ports.switchyard} }
database: { url: ${path.join(tmp, "bench.db")} }
auth: { required: false }
logging: { level: warn }
backends:
  openai: { type: openai, baseUrl: "http://${HOST}:${opt.ports.openai}/v1", maxConcurrency: 1024 }
  anthropic: { type: anthropic, baseUrl: "http://${HOST}:${opt.ports.anthropic}", apiKey: bench, maxConcurrency: 1024 }
routes:
  oa: { variants: [{ name: a, backend: openai, model: fake-model }] }
  claude: { variants: [{ name: c, backend: anthropic, model: claude-bench }] }
`,
    opt.ports.switchyard,
  );

  // Each scenario must give a real answer before anything is measured.
  for (const sc of SCENARIOS) {
    const res = await fetch(url(sc), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(sc.body),
    });
    const text = await res.text();
    if (res.status !== 200 || !text.includes("tok19")) {
      throw new Error(`${sc.name}: ${res.status} ${text.slice(0, 300)}`);
    }
  }

  const rounds = [];
  for (let r = 0; r < opt.rounds; r++) {
    // Rotated each round, so no scenario always runs first or last.
    const order = SCENARIOS.map((_, i) => SCENARIOS[(i + r * 3) % SCENARIOS.length]);
    for (const sc of order) {
      const lat = await paced(sc);
      const thr = await closedLoop(gw.pid, sc);
      const row = { round: r + 1, scenario: sc.name, ...lat, ...thr, faults: lat.faults + thr.faults };
      rounds.push(row);
      console.log(
        `round ${r + 1} ${sc.name.padEnd(28)} p50 ${row.p50} p90 ${row.p90} p99 ${row.p99} ms | ${row.rps} req/s, ${row.cpuUsPerRequest} µs CPU/request${row.faults ? ` | ${row.faults} FAULTS` : ""}`,
      );
    }
  }
  const med = (k, xs) => Math.round(median(xs.map((x) => x[k])) * 1000) / 1000;
  const summary = SCENARIOS.map((sc) => {
    const rs = rounds.filter((x) => x.scenario === sc.name);
    const base = SCENARIOS.find((b) => b.baseline && b.body.stream === sc.body.stream);
    const bs = rounds.filter((x) => x.scenario === base.name);
    const delta = (k) => Math.round((med(k, rs) - med(k, bs)) * 100) / 100;
    return {
      scenario: sc.name,
      p50: med("p50", rs),
      p90: med("p90", rs),
      p99: med("p99", rs),
      rps: med("rps", rs),
      cpuUsPerRequest: med("cpuUsPerRequest", rs),
      addedP50: delta("p50"),
      addedP99: delta("p99"),
      rpsRatio: Math.round((med("rps", rs) / med("rps", bs)) * 1000) / 1000,
      addedCpuUs: delta("cpuUsPerRequest"),
      faults: rs.reduce((n, x) => n + x.faults, 0),
    };
  });
  const sign = (x) => `${x >= 0 ? "+" : ""}${x}`;
  console.log(
    `\n| scenario | ${opt.rate} req/s: p50 / p90 / p99 ms (vs passthrough p50 / p99) | ${opt.connections} connections: req/s (ratio) | CPU µs/request (vs passthrough) |`,
  );
  console.log("|---|---|---|---|");
  for (const s of summary) {
    console.log(
      `| ${s.scenario} | ${s.p50} / ${s.p90} / ${s.p99} (${sign(s.addedP50)} / ${sign(s.addedP99)}) | ${s.rps} (${s.rpsRatio}) | ${s.cpuUsPerRequest} (${sign(s.addedCpuUs)})${s.faults ? ` ⚠ ${s.faults} faults` : ""} |`,
    );
  }
  const translations = await micro();
  if (!args["no-write"]) {
    const file = writeResults(BENCH, "translation", { options: opt, rounds, summary, translations });
    console.log(`results: ${path.relative(ROOT, file)}`);
  }
}

main()
  .catch((e) => {
    console.error(e.message ?? e);
    process.exitCode = 1;
  })
  .finally(() => stopAll(children, tmp));

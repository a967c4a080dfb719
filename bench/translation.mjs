#!/usr/bin/env node
// What translation costs: one Switchyard, answering the same prompt through
//   chat → openai        chat completions to an OpenAI-compatible upstream (passthrough, the baseline)
//   chat → anthropic     chat completions translated to Anthropic's Messages API and back
//   messages → openai    Anthropic's Messages API inbound, translated onto an OpenAI-compatible route
//   responses → openai   OpenAI's Responses API inbound, likewise
// each non-streaming and streaming (20 chunks), both fake upstreams answering at once. Every
// scenario runs open loop (bench/paced.mjs) at a fixed rate, targets alternated and rotated per
// round; reported: medians over rounds of p50 / p90 / p99 latency, and the gateway's CPU time per
// request (all threads, from /proc/PID/stat), each against the passthrough of the same round.
//
//   node bench/translation.mjs                       # 3 rounds, 300 req/s, 2 s warm-up + 6 s each
//   node bench/translation.mjs --rounds 5 --rate 500 --no-write
//   node bench/translation.mjs --only "responses"    # those scenarios and the passthrough baselines

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { median, startChild, waitReady } from "./children.mjs";
import { runPaced } from "./paced.mjs";

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, "..");
const HOST = "127.0.0.1";
const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    rate: { type: "string", default: "300" },
    duration: { type: "string", default: "6" },
    warmup: { type: "string", default: "2" },
    only: { type: "string" },
    "no-write": { type: "boolean", default: false },
  },
});
const opt = {
  rounds: Number(args.rounds),
  rate: Number(args.rate),
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
  // Keep the named scenarios (comma-separated substrings) and their passthrough baselines.
  const wanted = args.only.split(",").map((w) => w.trim());
  const keep = SCENARIOS.filter((sc) => sc.baseline || wanted.some((w) => sc.name.includes(w)));
  SCENARIOS.splice(0, SCENARIOS.length, ...keep);
}

/** CPU seconds used so far by a process, all its threads. */
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

async function measure(gwPid, sc) {
  let cpu0 = 0;
  const res = await runPaced({
    url: `http://${HOST}:${opt.ports.switchyard}${sc.path}`,
    rate: opt.rate,
    durationSec: opt.duration,
    warmupSec: opt.warmup,
    body: JSON.stringify(sc.body),
    beforeMeasure: () => {
      cpu0 = cpuSeconds(gwPid);
    },
  });
  const cpuUs = ((cpuSeconds(gwPid) - cpu0) * 1e6) / Math.max(1, res.ok);
  const faults = res.non2xx + res.errors + res.timeouts + (res.warmup ? res.warmup.non2xx + res.warmup.errors : 0);
  return {
    p50: res.latencyMs.p50,
    p90: res.latencyMs.p90,
    p99: res.latencyMs.p99,
    cpuUsPerRequest: Math.round(cpuUs),
    ok: res.ok,
    faults,
  };
}

async function main() {
  if (spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" }).status !== 0) throw new Error("build failed");
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
  const config = path.join(tmp, "switchyard.yaml");
  fs.writeFileSync(
    config,
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
  );
  const gw = startChild(children, tmp, ROOT, "switchyard", [
    "--max-semi-space-size=8",
    path.join(ROOT, "dist/cli/main.js"),
    "serve",
    "--config",
    config,
  ]);
  await waitReady(`http://${HOST}:${opt.ports.switchyard}/readyz`, "switchyard", tmp);

  // Each scenario must give a real answer before anything is measured.
  for (const sc of SCENARIOS) {
    const res = await fetch(`http://${HOST}:${opt.ports.switchyard}${sc.path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(sc.body),
    });
    const text = await res.text();
    if (res.status !== 200 || !text.includes("tok19"))
      throw new Error(`${sc.name}: ${res.status} ${text.slice(0, 300)}`);
  }

  const rounds = [];
  for (let r = 0; r < opt.rounds; r++) {
    // Rotate the order each round, so no scenario always runs first or last.
    const order = SCENARIOS.map((_, i) => SCENARIOS[(i + r * 3) % SCENARIOS.length]);
    for (const sc of order) {
      const m = await measure(gw.pid, sc);
      rounds.push({ round: r + 1, scenario: sc.name, ...m });
      console.log(
        `round ${r + 1} ${sc.name.padEnd(28)} p50 ${m.p50} p90 ${m.p90} p99 ${m.p99} ms, ${m.cpuUsPerRequest} µs CPU/request${m.faults ? `, ${m.faults} FAULTS` : ""}`,
      );
    }
  }
  const summary = SCENARIOS.map((sc) => {
    const rs = rounds.filter((x) => x.scenario === sc.name);
    const base = SCENARIOS.find((b) => b.baseline && b.body.stream === sc.body.stream);
    const bs = rounds.filter((x) => x.scenario === base.name);
    const med = (k, xs) => Math.round(median(xs.map((x) => x[k])) * 1000) / 1000;
    return {
      scenario: sc.name,
      p50: med("p50", rs),
      p90: med("p90", rs),
      p99: med("p99", rs),
      cpuUsPerRequest: med("cpuUsPerRequest", rs),
      addedP50: Math.round((med("p50", rs) - med("p50", bs)) * 100) / 100,
      addedP99: Math.round((med("p99", rs) - med("p99", bs)) * 100) / 100,
      addedCpuUs: med("cpuUsPerRequest", rs) - med("cpuUsPerRequest", bs),
      faults: rs.reduce((n, x) => n + x.faults, 0),
    };
  });
  console.log(
    "\n| scenario | p50 / p90 / p99 ms | vs passthrough p50 / p99 | gateway CPU µs/request (vs passthrough) |",
  );
  console.log("|---|---|---|---|");
  for (const s of summary) {
    console.log(
      `| ${s.scenario} | ${s.p50} / ${s.p90} / ${s.p99} | ${s.addedP50 >= 0 ? "+" : ""}${s.addedP50} / ${s.addedP99 >= 0 ? "+" : ""}${s.addedP99} | ${s.cpuUsPerRequest} (${s.addedCpuUs >= 0 ? "+" : ""}${s.addedCpuUs})${s.faults ? ` ⚠ ${s.faults} faults` : ""} |`,
    );
  }
  if (!args["no-write"]) {
    const file = path.join(BENCH, "results", `translation-${new Date().toISOString().replaceAll(":", "-")}.json`);
    fs.writeFileSync(
      file,
      `${JSON.stringify({ options: opt, node: process.version, cpus: os.cpus().length, rounds, summary }, null, 1)}\n`,
    );
    console.log(`results: ${path.relative(ROOT, file)}`);
  }
}

main()
  .catch((e) => {
    console.error(e.message ?? e);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const c of children) c.kill("SIGTERM");
    setTimeout(() => fs.rmSync(tmp, { recursive: true, force: true }), 500);
  });

#!/usr/bin/env node
// Switchyard benchmark: the direct call, the floor (bench/bare-proxy.mjs: Fastify + undici and nothing
// else, what any Node gateway costs here at least), Switchyard and the peer (Portkey's open-source
// gateway) side by side in one run, alternating targets, several rounds each, medians reported.
// Method: /work/shared/BENCHMARKING.md and bench/README.md.
//
//   npm run bench                         # everything, ~7-8 minutes
//   node bench/run.mjs --only switchyard  # direct + Switchyard (direct is always run: it is the baseline)
//   node bench/run.mjs --only direct,portkey --rounds 1 --duration 3
//
// Scenarios:
//   throughput  closed loop, non-streaming, 64 connections, autocannon: req/s, p50, p99;
//               peak RSS of each gateway sampled every 100 ms (/proc/PID/status VmRSS)
//   stream      closed loop, streaming (20 chunks), 32 connections, autocannon: req/s and time to
//               first body byte (direct, the floor and Switchyard; Portkey's streaming is broken on Node 20)
//   paced       open loop 500 req/s, upstream delay 50 ms, bench/paced.mjs: p50/p90/p99 and the
//               latency added over the direct call; CPU cores used by each process (/proc/PID/stat)
// Every process (fake upstream, floor, Switchyard, Portkey) is a child of this script, on 127.0.0.1, and is
// stopped at the end, also on error or Ctrl-C.

import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { SERVE_NODE_FLAGS } from "./children.mjs";
import { runPaced } from "./paced.mjs";

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, "..");
const HOST = "127.0.0.1";
const ALL_TARGETS = ["direct", "floor", "switchyard", "portkey"];
/** The targets that are proxies (every target but the direct call). */
const GATEWAYS = ["floor", "switchyard", "portkey"];
const ALL_SCENARIOS = ["throughput", "stream", "paced"];
const LABEL = { direct: "direct", floor: "floor (bare proxy)", switchyard: "Switchyard", portkey: "Portkey" };

// ---------------------------------------------------------------------------------------------
// options

const USAGE = `usage: node bench/run.mjs [options]
  --rounds N             measured rounds per target and scenario (default 3)
  --duration S           seconds per measured round (default 8)
  --warmup S             seconds of warm-up before each measured round (default 3)
  --only LIST            comma list of targets: direct,floor,switchyard,portkey (default all);
                         direct is always run, as the baseline
  --scenarios LIST       comma list: throughput,stream,paced (default all)
  --connections N        throughput connections (default 64)
  --stream-connections N streaming connections (default 32)
  --chunks N             SSE chunks per streamed answer (default 20)
  --rate N               paced rate, req/s (default 500)
  --delay-ms N           upstream delay in the paced scenario (default 50)
  --upstream-port P      fake upstream port (default 9101)
  --switchyard-port P    Switchyard port (default 9102)
  --floor-port P         the bare proxy's port (default 9103)
  --portkey-port P       Portkey port (default 8787)
  --quiet-wait S         before each round, wait up to S seconds for other processes to leave the
                         cores alone (default 10; 0 = do not wait)
  --no-write             do not write bench/results/<timestamp>.json
  --keep-tmp             keep the temp dir (config, SQLite DB, child logs)
  --switchyard-node-flags="F ..."
                         extra node flags for the Switchyard process, after --max-semi-space-size=4
                         --v8-pool-size=0 (npm start's);
                         written with "=" since they start with a dash
                         (e.g. --switchyard-node-flags=--heap-growing-percent=0: V8's default heap growth)`;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "3" },
      duration: { type: "string", default: "8" },
      warmup: { type: "string", default: "3" },
      only: { type: "string", default: ALL_TARGETS.join(",") },
      scenarios: { type: "string", default: ALL_SCENARIOS.join(",") },
      connections: { type: "string", default: "64" },
      "stream-connections": { type: "string", default: "32" },
      chunks: { type: "string", default: "20" },
      rate: { type: "string", default: "500" },
      "delay-ms": { type: "string", default: "50" },
      "upstream-port": { type: "string", default: "9101" },
      "switchyard-port": { type: "string", default: "9102" },
      "floor-port": { type: "string", default: "9103" },
      "portkey-port": { type: "string", default: "8787" },
      "quiet-wait": { type: "string", default: "10" },
      "no-write": { type: "boolean", default: false },
      "keep-tmp": { type: "boolean", default: false },
      "switchyard-node-flags": { type: "string", default: "" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const num = (k, min, max) => {
    const n = Number(values[k]);
    if (!Number.isFinite(n) || n < min || n > max)
      fail(`--${k} must be a number in [${min}, ${max}], got ${values[k]}`);
    return n;
  };
  const list = (k, allowed) => {
    const items = values[k]
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    for (const it of items) if (!allowed.includes(it)) fail(`--${k}: unknown "${it}" (allowed: ${allowed.join(", ")})`);
    return items;
  };
  const only = list("only", ALL_TARGETS);
  const targets = ALL_TARGETS.filter((t) => t === "direct" || only.includes(t));
  const scenarios = ALL_SCENARIOS.filter((s) => list("scenarios", ALL_SCENARIOS).includes(s));
  return {
    rounds: Math.round(num("rounds", 1, 20)),
    duration: num("duration", 1, 300),
    warmup: num("warmup", 0, 60),
    targets,
    scenarios,
    connections: Math.round(num("connections", 1, 1024)),
    streamConnections: Math.round(num("stream-connections", 1, 1024)),
    chunks: Math.round(num("chunks", 1, 1000)),
    rate: num("rate", 1, 20_000),
    delayMs: Math.round(num("delay-ms", 0, 10_000)),
    ports: {
      upstream: Math.round(num("upstream-port", 1, 65535)),
      switchyard: Math.round(num("switchyard-port", 1, 65535)),
      floor: Math.round(num("floor-port", 1, 65535)),
      portkey: Math.round(num("portkey-port", 1, 65535)),
    },
    quietWait: num("quiet-wait", 0, 600),
    write: !values["no-write"],
    keepTmp: values["keep-tmp"],
    switchyardNodeFlags: values["switchyard-node-flags"].split(/\s+/).filter(Boolean),
  };
}

class BenchError extends Error {}
function fail(msg) {
  throw new BenchError(msg);
}

const log = (...a) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// child processes

const children = new Set();

function startChild(name, args, tmpDir) {
  const logPath = path.join(tmpDir, `${name}.log`);
  const fd = fs.openSync(logPath, "a");
  // stdout/stderr go to a file, never to an undrained pipe that could block the child
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", fd, fd], env: process.env });
  fs.closeSync(fd);
  const child = { name, proc, pid: proc.pid, logPath, exitCode: null, signal: null, exited: false };
  child.exitPromise = new Promise((resolve) => {
    proc.on("exit", (code, signal) => {
      child.exited = true;
      child.exitCode = code;
      child.signal = signal;
      children.delete(child);
      resolve();
    });
    proc.on("error", (e) => {
      child.exited = true;
      child.error = e;
      children.delete(child);
      resolve();
    });
  });
  children.add(child);
  return child;
}

async function stopChild(child, graceMs = 10_000) {
  if (!child || child.exited) return { forced: false, exitCode: child?.exitCode ?? null };
  const t0 = performance.now();
  child.proc.kill("SIGTERM");
  const timedOut = await Promise.race([child.exitPromise.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut && !child.exited) {
    child.proc.kill("SIGKILL");
    await Promise.race([child.exitPromise, sleep(2000)]);
  }
  return {
    forced: timedOut,
    exitCode: child.exitCode,
    signal: child.signal,
    stopMs: Math.round(performance.now() - t0),
  };
}

function killAllNow() {
  for (const c of children) {
    try {
      c.proc.kill("SIGKILL");
    } catch {
      /* already gone */
    }
  }
}

function tail(file, lines = 20) {
  try {
    const t = fs.readFileSync(file, "utf8").replace(/\r/g, "\n").split("\n").filter(Boolean);
    return t.slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

function portInUse(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: HOST });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
  });
}

async function waitReady(child, url, timeoutMs = 60_000) {
  const deadline = performance.now() + timeoutMs;
  let last = "";
  while (performance.now() < deadline) {
    if (child.exited) {
      fail(
        `${child.name} exited before it was ready (code ${child.exitCode}, signal ${child.signal}). ` +
          `Last lines of ${child.logPath}:\n${tail(child.logPath)}`,
      );
    }
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      if (r.status === 200) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e.cause?.code ?? e.message;
    }
    await sleep(100);
  }
  fail(`${child.name} not ready at ${url} after ${timeoutMs / 1000} s (last: ${last}). Log:\n${tail(child.logPath)}`);
}

// ---------------------------------------------------------------------------------------------
// /proc sampling

let CLK_TCK = 100;
try {
  CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
} catch {
  /* default */
}

function childPids(pid) {
  const out = [];
  try {
    for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        const c = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
        if (c) out.push(...c.split(/\s+/).map(Number));
      } catch {
        /* not available */
      }
    }
  } catch {
    /* gone */
  }
  return out;
}

/** RSS (KiB) of a process plus its direct children; also its own VmHWM. */
function readRss(pid) {
  let rss = 0;
  let hwm = 0;
  for (const p of [pid, ...childPids(pid)]) {
    try {
      const s = fs.readFileSync(`/proc/${p}/status`, "utf8");
      const m = /VmRSS:\s+(\d+)/.exec(s);
      if (m) rss += Number(m[1]);
      if (p === pid) {
        const h = /VmHWM:\s+(\d+)/.exec(s);
        if (h) hwm = Number(h[1]);
      }
    } catch {
      /* gone */
    }
  }
  return { rssKiB: rss, hwmKiB: hwm };
}

function startRssSampler(pid, intervalMs = 100) {
  let peak = 0;
  let samples = 0;
  const read = () => {
    const { rssKiB } = readRss(pid);
    if (rssKiB > peak) peak = rssKiB;
    samples++;
  };
  read();
  const t = setInterval(read, intervalMs);
  return {
    stop() {
      clearInterval(t);
      read();
      return { peakMiB: round(peak / 1024, 1), samples };
    },
  };
}

/** utime+stime ticks of a process and its direct children. */
function cpuTicks(pid) {
  let ticks = 0;
  for (const p of [pid, ...childPids(pid)]) {
    try {
      const s = fs.readFileSync(`/proc/${p}/stat`, "utf8");
      const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
      ticks += Number(rest[11]) + Number(rest[12]);
    } catch {
      /* gone */
    }
  }
  return ticks;
}

/** Busy and idle jiffies of the whole machine, from the first line of /proc/stat. */
function machineTicks() {
  const f = fs.readFileSync("/proc/stat", "utf8").split("\n", 1)[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
  return { busy: user + nice + system + irq + softirq + (steal || 0), idle: idle + (iowait || 0) };
}

/**
 * CPU used during a measured phase: each of `procs` ({name, pid}), this process (the load
 * generator), the whole machine, and `other` = machine minus all of those (someone else"s work on
 * the shared cores: a round with much of it is noisy).
 */
function roundCpuMeter(procs) {
  const t0 = performance.now();
  const m0 = machineTicks();
  const p0 = procs.map((p) => cpuTicks(p.pid));
  const g0 = process.cpuUsage();
  return () => {
    const wall = (performance.now() - t0) / 1000;
    const m1 = machineTicks();
    const g = process.cpuUsage(g0);
    const out = {};
    let ours = 0;
    procs.forEach((p, i) => {
      const c = (cpuTicks(p.pid) - p0[i]) / CLK_TCK / wall;
      ours += c;
      out[p.name] = round(c, 3);
    });
    const gen = (g.user + g.system) / 1e6 / wall;
    ours += gen;
    out.generator = round(gen, 3);
    const machine = (m1.busy - m0.busy) / CLK_TCK / wall;
    out.machine = round(machine, 3);
    out.other = round(Math.max(0, machine - ours), 3);
    return out;
  };
}

// ---------------------------------------------------------------------------------------------
// stats helpers

function round(x, d = 2) {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

function median(xs) {
  const a = xs.filter((x) => x !== null && x !== undefined && Number.isFinite(x)).sort((p, q) => p - q);
  if (a.length === 0) return null;
  const m = Math.floor(a.length / 2);
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

function pct(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

// ---------------------------------------------------------------------------------------------
// build / versions / machine

function newestMtime(dir) {
  let newest = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath ?? e.path, e.name);
    const m = fs.statSync(p).mtimeMs;
    if (m > newest) newest = m;
  }
  return newest;
}

function ensureSwitchyardBuilt() {
  const main = path.join(ROOT, "dist", "cli", "main.js");
  const srcNewest = newestMtime(path.join(ROOT, "src"));
  const distNewest = fs.existsSync(main) ? newestMtime(path.join(ROOT, "dist")) : 0;
  if (srcNewest > 0 && (!fs.existsSync(main) || distNewest < srcNewest)) {
    log(
      fs.existsSync(main)
        ? "dist/ is older than src/: running npm run build"
        : "dist/cli/main.js missing: running npm run build",
    );
    const r = spawnSync("npm", ["run", "build"], {
      cwd: ROOT,
      stdio: ["ignore", "inherit", "inherit"],
      timeout: 300_000,
    });
    if (r.status !== 0) {
      fail(
        `Switchyard target: \`npm run build\` failed (exit ${r.status ?? r.signal ?? r.error?.message}). ` +
          "Fix the build, or leave Switchyard out with --only direct,portkey.",
      );
    }
  }
  if (!fs.existsSync(main)) {
    fail(
      "Switchyard target: dist/cli/main.js does not exist (the gateway is not built yet, or src/cli/main.ts is missing). " +
        "Run `npm run build`, or leave Switchyard out with --only direct,portkey.",
    );
  }
  return main;
}

function pkgVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

function machineInfo() {
  let cpuModel = os.cpus()[0]?.model ?? "unknown";
  try {
    const m = /model name\s*:\s*(.+)/.exec(fs.readFileSync("/proc/cpuinfo", "utf8"));
    if (m) cpuModel = m[1].trim();
  } catch {
    /* keep os.cpus() */
  }
  return {
    cpuModel,
    cores: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    memGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    loadavgAtStart: os.loadavg().map((x) => round(x, 2)),
    versions: {
      autocannon: pkgVersion("autocannon"),
      undici: pkgVersion("undici"),
      portkeyGateway: pkgVersion("@portkey-ai/gateway"),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// load

function runAutocannon(opts) {
  return new Promise((resolve, reject) => {
    const inst = autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
    current.autocannon = inst;
  });
}
const current = { autocannon: null };

async function closedLoopRound(target, { connections, stream, warmup, duration, rssPid, cpuProcs }) {
  const mk = (dur, setupClient) => ({
    url: target.url,
    method: "POST",
    headers: { "content-type": "application/json", ...target.headers },
    body: stream ? target.streamBody : target.body,
    connections,
    pipelining: 1,
    duration: dur,
    timeout: 10,
    // a 200 that is not a completion (or an unfinished stream) counts as a mismatch
    verifyBody: stream ? (b) => b.includes("data: [DONE]") : (b) => b.includes('"choices"'),
    setupClient,
  });
  const sampler = rssPid ? startRssSampler(rssPid) : null;
  let warm = null;
  if (warmup > 0) {
    const w = await runAutocannon(mk(warmup));
    warm = { non2xx: w.non2xx, errors: w.errors, timeouts: w.timeouts, mismatches: w.mismatches };
  }
  // time to first body byte, per request, from autocannon's client events
  const ttfb = [];
  const setupClient = stream
    ? (client) => {
        let t0 = 0;
        let waiting = false;
        client.on("request", () => {
          t0 = performance.now();
          waiting = true;
        });
        client.on("body", () => {
          if (waiting) {
            ttfb.push(performance.now() - t0);
            waiting = false;
          }
        });
      }
    : undefined;
  const meter = roundCpuMeter(cpuProcs);
  const r = await runAutocannon(mk(duration, setupClient));
  const cpuCores = meter();
  const rss = sampler ? sampler.stop() : null;
  ttfb.sort((a, b) => a - b);
  return {
    reqPerSec: round(r.requests.total / (r.duration || duration), 0),
    requests: r.requests.total,
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, mean: round(r.latency.mean, 2) },
    ttfbMs: stream
      ? { p50: round(pct(ttfb, 0.5), 3), p90: round(pct(ttfb, 0.9), 3), p99: round(pct(ttfb, 0.99), 3) }
      : undefined,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    mismatches: r.mismatches,
    statusCodes: Object.fromEntries(Object.entries(r.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
    warmup: warm,
    cpuCores,
    rssPeakMiB: rss?.peakMiB ?? null,
    rssSamples: rss?.samples ?? null,
  };
}

async function pacedRound(target, { rate, warmup, duration, cpuProcs }) {
  let meter = null;
  let cpuCores = null;
  const r = await runPaced({
    url: target.url,
    rate,
    durationSec: duration,
    warmupSec: warmup,
    headers: target.headers,
    body: target.body,
    beforeMeasure: () => {
      meter = roundCpuMeter(cpuProcs);
    },
    afterMeasure: () => {
      cpuCores = meter();
    },
  });
  return {
    sent: r.sent,
    ok: r.ok,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    errorSamples: r.errorSamples,
    maxInFlight: r.maxInFlight,
    latencyMs: r.latencyMs,
    serviceMs: r.serviceMs,
    lagMs: { p50: r.lagMs.p50, p99: r.lagMs.p99, max: r.lagMs.max },
    cpuCores,
    warmup: r.warmup,
  };
}

// a round during which processes other than ours kept this much CPU busy is flagged as noisy
const NOISY_OTHER_CORES = 0.25;

/**
 * Before a measured round, wait (at most maxSec) until processes other than ours leave the cores
 * alone for one second. Returns the seconds waited and the last `other` load seen.
 */
async function waitQuiet(procs, maxSec) {
  const t0 = performance.now();
  let other = 0;
  while (true) {
    const meter = roundCpuMeter(procs);
    await sleep(1000);
    other = meter().other;
    const waited = (performance.now() - t0) / 1000;
    if (other <= NOISY_OTHER_CORES || waited >= maxSec) return { waitedSec: round(waited, 1), other };
  }
}

function problems(r) {
  const p = [];
  if (r.cpuCores?.other > NOISY_OTHER_CORES) p.push(`noisy: other processes used ${r.cpuCores.other} cores`);
  for (const k of ["non2xx", "errors", "timeouts", "mismatches"]) if (r[k]) p.push(`${r[k]} ${k}`);
  if (r.warmup)
    for (const k of ["non2xx", "errors", "timeouts", "mismatches"])
      if (r.warmup[k]) p.push(`warm-up: ${r.warmup[k]} ${k}`);
  if (r.failed) p.push(r.failed);
  return p;
}

// ---------------------------------------------------------------------------------------------
// main

async function main() {
  const opt = parseOptions();
  const started = new Date();
  const machine = machineInfo();
  const nRounds =
    opt.rounds *
    ((opt.scenarios.includes("throughput") ? opt.targets.length : 0) +
      (opt.scenarios.includes("paced") ? opt.targets.length : 0) +
      (opt.scenarios.includes("stream") ? opt.targets.filter((t) => t !== "portkey").length : 0));
  log(
    `targets ${opt.targets.join(", ")}; scenarios ${opt.scenarios.join(", ")}; ${opt.rounds} rounds of ` +
      `${opt.warmup} s warm-up + ${opt.duration} s; about ${Math.ceil((nRounds * (opt.warmup + opt.duration + 1.5)) / 60)} min`,
  );

  let switchyardMain = null;
  if (opt.targets.includes("switchyard")) switchyardMain = ensureSwitchyardBuilt();

  for (const t of opt.targets) {
    const port = t === "direct" ? opt.ports.upstream : opt.ports[t];
    if (await portInUse(port))
      fail(`port ${HOST}:${port} (for ${t}) is already in use: stop whatever listens there, or pick another port`);
  }

  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-bench-"));
  state.tmpDir = tmpDir;
  state.keepTmp = opt.keepTmp;
  log(`temp dir (config, DB, child logs): ${tmpDir}`);

  const upstreamBase = `http://${HOST}:${opt.ports.upstream}`;
  const chatBody = (model, stream) =>
    JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], ...(stream ? { stream: true } : {}) });

  // -- start processes
  const procs = {};
  procs.upstream = startChild(
    "fake-upstream",
    [
      path.join(BENCH_DIR, "fake-upstream.mjs"),
      "--port",
      String(opt.ports.upstream),
      "--host",
      HOST,
      "--delay-ms",
      "0",
      "--chunks",
      String(opt.chunks),
    ],
    tmpDir,
  );
  await waitReady(procs.upstream, `${upstreamBase}/v1/models`);

  const targets = {
    direct: {
      name: "direct",
      url: `${upstreamBase}/v1/chat/completions`,
      headers: {},
      body: chatBody("fake-model", false),
      streamBody: chatBody("fake-model", true),
    },
  };

  if (opt.targets.includes("floor")) {
    procs.floor = startChild(
      "floor",
      [
        path.join(BENCH_DIR, "bare-proxy.mjs"),
        "--port",
        String(opt.ports.floor),
        "--host",
        HOST,
        "--upstream",
        upstreamBase,
      ],
      tmpDir,
    );
    await waitReady(procs.floor, `http://${HOST}:${opt.ports.floor}/readyz`);
    targets.floor = {
      name: "floor",
      url: `http://${HOST}:${opt.ports.floor}/v1/chat/completions`,
      headers: {},
      body: chatBody("fake-model", false),
      streamBody: chatBody("fake-model", true),
      proc: procs.floor,
    };
  }

  if (opt.targets.includes("switchyard")) {
    const dbPath = path.join(tmpDir, `switchyard-bench-${process.pid}.db`);
    const configPath = path.join(tmpDir, "switchyard.yaml");
    fs.writeFileSync(
      configPath,
      `server: { host: ${HOST}, port: ${opt.ports.switchyard} }
database: { url: ${dbPath} }
auth: { required: false }
logging: { level: warn }
backends:
  fake:
    type: openai
    baseUrl: ${upstreamBase}/v1
    apiKey: bench
    maxConcurrency: 1024
routes:
  chat:
    variants:
      - { name: a, backend: fake, model: fake-model }
`,
    );
    // The same node flags as `npm start` and the switchyard command's shebang.
    procs.switchyard = startChild(
      "switchyard",
      [...SERVE_NODE_FLAGS, ...opt.switchyardNodeFlags, switchyardMain, "serve", "--config", configPath],
      tmpDir,
    );
    await waitReady(procs.switchyard, `http://${HOST}:${opt.ports.switchyard}/readyz`);
    targets.switchyard = {
      name: "switchyard",
      url: `http://${HOST}:${opt.ports.switchyard}/v1/chat/completions`,
      headers: {},
      body: chatBody("chat", false),
      streamBody: chatBody("chat", true),
      proc: procs.switchyard,
    };
  }

  if (opt.targets.includes("portkey")) {
    const entry = path.join(ROOT, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");
    if (!fs.existsSync(entry))
      fail("Portkey is not installed: run `npm install` (it is a devDependency, @portkey-ai/gateway)");
    procs.portkey = startChild("portkey", [entry, `--port=${opt.ports.portkey}`, "--headless"], tmpDir);
    await waitReady(procs.portkey, `http://${HOST}:${opt.ports.portkey}/`);
    targets.portkey = {
      name: "portkey",
      url: `http://${HOST}:${opt.ports.portkey}/v1/chat/completions`,
      headers: {
        "x-portkey-provider": "openai",
        "x-portkey-custom-host": `${upstreamBase}/v1`,
        authorization: "Bearer anything",
      },
      body: chatBody("fake-model", false),
      streamBody: chatBody("fake-model", true),
      proc: procs.portkey,
    };
  }

  // -- preflight: one request per target must give a real completion
  const notes = [];
  for (const t of opt.targets) {
    const tg = targets[t];
    const r = await fetch(tg.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...tg.headers },
      body: tg.body,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await r.text();
    if (r.status !== 200 || !text.includes('"choices"')) {
      fail(`preflight: ${LABEL[t]} answered HTTP ${r.status}: ${text.slice(0, 300)}`);
    }
  }
  if (opt.targets.includes("portkey") && opt.scenarios.includes("stream")) {
    const tg = targets.portkey;
    const r = await fetch(tg.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...tg.headers },
      body: tg.streamBody,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await r.text();
    notes.push(
      `Portkey streaming not benchmarked (broken on Node 20, BENCHMARKING.md); probe in this run: HTTP ${r.status}` +
        (r.status === 200 && text.includes("[DONE]")
          ? " with a complete stream (it may work now: check)"
          : ` ${text.slice(0, 120).replace(/\s+/g, " ")}`),
    );
  }

  const setUpstream = async (cfg) => {
    const r = await fetch(`${upstreamBase}/__bench/config`, { method: "PUT", body: JSON.stringify(cfg) });
    if (r.status !== 200) fail(`cannot configure the fake upstream: HTTP ${r.status}`);
    await r.arrayBuffer();
  };

  // -- rounds: alternate targets, rotating the order every round
  const rounds = [];
  const order = (list, r) => list.map((_, i) => list[(i + r) % list.length]);
  const aliveOrFail = (t) =>
    t.proc?.exited ? `${LABEL[t.name]} process exited (code ${t.proc.exitCode}, signal ${t.proc.signal})` : null;

  for (const scenario of opt.scenarios) {
    const list = scenario === "stream" ? opt.targets.filter((t) => t !== "portkey") : opt.targets;
    if (scenario === "paced") await setUpstream({ delayMs: opt.delayMs, chunks: opt.chunks });
    else await setUpstream({ delayMs: 0, chunks: opt.chunks });
    for (let round = 1; round <= opt.rounds; round++) {
      for (const t of order(list, round - 1)) {
        const tg = targets[t];
        const dead = aliveOrFail(tg);
        let res;
        if (dead) {
          res = { failed: dead };
        } else {
          try {
            // CPU of every process we started (whatever the target) and of the generator, so that
            // `other` is only someone else's load
            const cpuProcs = [{ name: "upstream", pid: procs.upstream.pid }];
            for (const g of GATEWAYS) {
              if (procs[g] && !procs[g].exited)
                cpuProcs.push({ name: g === t ? "gateway" : `idle_${g}`, pid: procs[g].pid });
            }
            const quiet = opt.quietWait > 0 ? await waitQuiet(cpuProcs, opt.quietWait) : null;
            if (quiet && quiet.waitedSec > 1.5) {
              log(
                `waited ${quiet.waitedSec} s for other processes to leave the cores (last: ${quiet.other} cores busy)`,
              );
            }
            if (scenario === "paced") {
              res = await pacedRound(tg, { rate: opt.rate, warmup: opt.warmup, duration: opt.duration, cpuProcs });
              if (quiet) res.quiet = quiet;
            } else {
              res = await closedLoopRound(tg, {
                connections: scenario === "stream" ? opt.streamConnections : opt.connections,
                stream: scenario === "stream",
                warmup: opt.warmup,
                duration: opt.duration,
                rssPid: tg.proc?.pid,
                cpuProcs,
              });
              if (quiet) res.quiet = quiet;
            }
          } catch (e) {
            res = { failed: `${e.message}` };
          }
          const dead2 = aliveOrFail(tg);
          if (dead2) res.failed = dead2;
        }
        const rec = { scenario, round, target: t, ...res };
        rec.problems = problems(rec);
        rounds.push(rec);
        log(
          `${scenario} round ${round} ${LABEL[t]}: ${summaryLine(scenario, rec)}${rec.problems.length ? `  SUSPECT: ${rec.problems.join(", ")}` : ""}`,
        );
        await sleep(300);
      }
    }
  }

  // -- memory high-water marks, then stop everything
  const hwm = {};
  for (const t of GATEWAYS) if (procs[t] && !procs[t].exited) hwm[t] = round(readRss(procs[t].pid).hwmKiB / 1024, 1);
  const stops = {};
  for (const [name, c] of Object.entries(procs).reverse()) stops[name] = await stopChild(c);

  const summary = summarize(opt, rounds, hwm);
  const report = renderMarkdown(opt, machine, summary, rounds, notes, stops);
  console.log(report);

  const result = {
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    command: `node bench/run.mjs ${process.argv.slice(2).join(" ")}`.trim(),
    machine: { ...machine, loadavgAtEnd: os.loadavg().map((x) => round(x, 2)) },
    options: { ...opt, write: undefined, keepTmp: undefined },
    summary,
    notes,
    stops,
    rounds,
  };
  if (opt.write) {
    const dir = path.join(BENCH_DIR, "results");
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${started.toISOString().replace(/[:.]/g, "-")}.json`);
    fs.writeFileSync(file, `${JSON.stringify(result, null, 1)}\n`);
    log(`raw results: ${path.relative(ROOT, file)}`);
  }
  if (rounds.some((r) => r.problems.length)) process.exitCode = 1;
}

function summaryLine(scenario, r) {
  if (r.failed) return `FAILED: ${r.failed}`;
  const cpu = Object.entries(r.cpuCores ?? {})
    .filter(([k]) => !k.startsWith("idle_"))
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  if (scenario === "paced") {
    const l = r.latencyMs;
    return `p50 ${l.p50} p90 ${l.p90} p99 ${l.p99} ms (service p50 ${r.serviceMs.p50}, lag p99 ${r.lagMs.p99}); cores: ${cpu}`;
  }
  return (
    `${r.reqPerSec} req/s, p50 ${r.latencyMs.p50} p99 ${r.latencyMs.p99} ms` +
    (r.ttfbMs ? `, ttfb p50 ${r.ttfbMs.p50} p99 ${r.ttfbMs.p99} ms` : "") +
    (r.rssPeakMiB !== null ? `, peak RSS ${r.rssPeakMiB} MiB` : "") +
    `; cores: ${cpu}`
  );
}

/** Medians over rounds, per scenario and target. */
function summarize(opt, rounds, hwm) {
  const out = {};
  const by = (s, t) => rounds.filter((r) => r.scenario === s && r.target === t && !r.failed);
  const med = (rs, f) => round(median(rs.map(f)), 3);
  for (const s of opt.scenarios) {
    out[s] = {};
    for (const t of opt.targets) {
      const rs = by(s, t);
      if (rs.length === 0) continue;
      const suspect = rounds.filter((r) => r.scenario === s && r.target === t && r.problems.length).length;
      if (s === "paced") {
        out[s][t] = {
          rounds: rs.length,
          suspectRounds: suspect,
          p50: med(rs, (r) => r.latencyMs.p50),
          p90: med(rs, (r) => r.latencyMs.p90),
          p99: med(rs, (r) => r.latencyMs.p99),
          serviceP50: med(rs, (r) => r.serviceMs.p50),
          serviceP90: med(rs, (r) => r.serviceMs.p90),
          serviceP99: med(rs, (r) => r.serviceMs.p99),
          lagP99: med(rs, (r) => r.lagMs.p99),
          gatewayCores: t === "direct" ? null : med(rs, (r) => r.cpuCores.gateway),
          upstreamCores: med(rs, (r) => r.cpuCores.upstream),
          generatorCores: med(rs, (r) => r.cpuCores.generator),
        };
      } else {
        out[s][t] = {
          rounds: rs.length,
          suspectRounds: suspect,
          reqPerSec: med(rs, (r) => r.reqPerSec),
          p50: med(rs, (r) => r.latencyMs.p50),
          p99: med(rs, (r) => r.latencyMs.p99),
          rssPeakMiB: t === "direct" ? null : round(Math.max(...rs.map((r) => r.rssPeakMiB ?? 0)), 1),
        };
        if (s === "stream") {
          out[s][t].ttfbP50 = med(rs, (r) => r.ttfbMs.p50);
          out[s][t].ttfbP99 = med(rs, (r) => r.ttfbMs.p99);
        }
      }
    }
  }
  if (out.paced?.direct) {
    const d = out.paced.direct;
    for (const t of GATEWAYS) {
      const g = out.paced[t];
      if (!g) continue;
      g.addedP50 = round(g.p50 - d.p50, 3);
      g.addedP90 = round(g.p90 - d.p90, 3);
      g.addedP99 = round(g.p99 - d.p99, 3);
      // per-round differences (same round, adjacent in time) as a check on the medians
      g.addedPerRound = rounds
        .filter((r) => r.scenario === "paced" && r.target === t && !r.failed)
        .map((r) => {
          const dr = rounds.find(
            (x) => x.scenario === "paced" && x.target === "direct" && x.round === r.round && !x.failed,
          );
          return dr
            ? {
                round: r.round,
                p50: round(r.latencyMs.p50 - dr.latencyMs.p50, 3),
                p99: round(r.latencyMs.p99 - dr.latencyMs.p99, 3),
              }
            : null;
        })
        .filter(Boolean);
    }
  }
  out.vmHwmMiB = hwm;
  const tp = out.throughput ?? {};
  out.ratios = {
    switchyardOverPortkeyThroughput:
      tp.switchyard && tp.portkey ? round(tp.switchyard.reqPerSec / tp.portkey.reqPerSec, 2) : null,
    switchyardShareOfDirect:
      tp.switchyard && tp.direct ? round(tp.switchyard.reqPerSec / tp.direct.reqPerSec, 3) : null,
    portkeyShareOfDirect: tp.portkey && tp.direct ? round(tp.portkey.reqPerSec / tp.direct.reqPerSec, 3) : null,
    switchyardStreamShareOfDirect:
      out.stream?.switchyard && out.stream?.direct
        ? round(out.stream.switchyard.reqPerSec / out.stream.direct.reqPerSec, 3)
        : null,
    floorOverPortkeyThroughput: tp.floor && tp.portkey ? round(tp.floor.reqPerSec / tp.portkey.reqPerSec, 2) : null,
    switchyardShareOfFloor: tp.switchyard && tp.floor ? round(tp.switchyard.reqPerSec / tp.floor.reqPerSec, 3) : null,
  };
  return out;
}

function fmt(x, d = 1) {
  if (x === null || x === undefined) return "–";
  return Number(x).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }).replace(/,/g, " ");
}
const signed = (x, d = 1) => (x === null || x === undefined ? "–" : `${x >= 0 ? "+" : ""}${fmt(x, d)}`);

function renderMarkdown(opt, machine, s, rounds, notes, stops) {
  const cols = opt.targets;
  const lines = [];
  const row = (label, f) => lines.push(`| ${label} | ${cols.map((t) => f(t) ?? "–").join(" | ")} |`);
  const warn = (sc, t) => (s[sc]?.[t]?.suspectRounds ? ` ⚠${s[sc][t].suspectRounds}` : "");
  lines.push("");
  lines.push(`## Switchyard bench — ${new Date().toISOString()}`);
  lines.push("");
  lines.push(
    `Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memGiB} GiB, Node ${machine.node}, ${machine.kernel}; ` +
      `load average at start ${machine.loadavgAtStart.join(" / ")}. ` +
      `Medians of ${opt.rounds} rounds (${opt.warmup} s warm-up + ${opt.duration} s each), targets alternated.`,
  );
  if (opt.switchyardNodeFlags.length > 0)
    lines.push("", `Switchyard ran with extra node flags: ${opt.switchyardNodeFlags.join(" ")}`);
  lines.push("");
  lines.push(`| scenario | ${cols.map((t) => LABEL[t]).join(" | ")} |`);
  lines.push(`|---|${cols.map(() => "---").join("|")}|`);
  const tp = s.throughput;
  if (tp) {
    row(`non-streaming, ${opt.connections} connections: req/s`, (t) => {
      const x = tp[t];
      if (!x) return null;
      let extra = "";
      if (t !== "direct" && tp.direct) extra = ` (${fmt(x.reqPerSec / tp.direct.reqPerSec, 3)} of direct)`;
      if (t === "switchyard" && tp.portkey) extra += ` **${fmt(x.reqPerSec / tp.portkey.reqPerSec, 1)}× Portkey**`;
      if (t === "floor" && tp.portkey) extra += ` ${fmt(x.reqPerSec / tp.portkey.reqPerSec, 1)}× Portkey`;
      if (t === "switchyard" && tp.floor) extra += `, ${fmt(x.reqPerSec / tp.floor.reqPerSec, 2)} of the floor`;
      return `${fmt(x.reqPerSec, 0)}${extra}${warn("throughput", t)}`;
    });
    row("non-streaming: p50 / p99 ms", (t) => (tp[t] ? `${fmt(tp[t].p50, 0)} / ${fmt(tp[t].p99, 0)}` : null));
  }
  const pc = s.paced;
  if (pc) {
    row(`paced open loop ${opt.rate} req/s, ${opt.delayMs} ms upstream: p50 / p90 / p99 ms`, (t) => {
      const x = pc[t];
      if (!x) return null;
      const added =
        t === "direct" ? "" : ` (${signed(x.addedP50, 2)} / ${signed(x.addedP90, 2)} / ${signed(x.addedP99, 2)})`;
      return `${fmt(x.p50, 2)} / ${fmt(x.p90, 2)} / ${fmt(x.p99, 2)}${added}${warn("paced", t)}`;
    });
    row("paced: service time (from actual send) p50 / p90 / p99 ms", (t) =>
      pc[t] ? `${fmt(pc[t].serviceP50, 2)} / ${fmt(pc[t].serviceP90, 2)} / ${fmt(pc[t].serviceP99, 2)}` : null,
    );
    row("paced: CPU cores used by the gateway (upstream)", (t) =>
      pc[t] ? `${t === "direct" ? "–" : fmt(pc[t].gatewayCores, 3)} (${fmt(pc[t].upstreamCores, 3)})` : null,
    );
  }
  const st = s.stream;
  if (st) {
    row(`streaming ${opt.chunks} chunks, ${opt.streamConnections} connections: req/s`, (t) => {
      const x = st[t];
      if (t === "portkey") return "not run (broken on Node 20)";
      if (!x) return null;
      const extra = t !== "direct" && st.direct ? ` (${fmt(x.reqPerSec / st.direct.reqPerSec, 3)} of direct)` : "";
      return `${fmt(x.reqPerSec, 0)}${extra}${warn("stream", t)}`;
    });
    row("streaming: time to first byte p50 / p99 ms", (t) =>
      st[t] ? `${fmt(st[t].ttfbP50, 2)} / ${fmt(st[t].ttfbP99, 2)}` : null,
    );
    row("streaming: whole response p50 / p99 ms", (t) =>
      st[t] ? `${fmt(st[t].p50, 0)} / ${fmt(st[t].p99, 0)}` : null,
    );
  }
  if (tp) {
    row("peak RSS during throughput rounds (VmRSS every 100 ms), MiB", (t) =>
      t === "direct" ? "–" : tp[t] ? fmt(tp[t].rssPeakMiB, 1) : null,
    );
  }
  if (st) {
    row("peak RSS during streaming rounds, MiB", (t) =>
      t === "direct" || t === "portkey" ? "–" : st[t] ? fmt(st[t].rssPeakMiB, 1) : null,
    );
  }
  row("VmHWM at the end of the run, MiB", (t) =>
    t === "direct" ? "–" : s.vmHwmMiB[t] !== undefined ? fmt(s.vmHwmMiB[t], 1) : null,
  );
  lines.push("");

  if (opt.targets.includes("switchyard")) {
    const checks = [];
    const r = s.ratios.switchyardOverPortkeyThroughput;
    if (r !== null) checks.push(`throughput ≥ 10× Portkey: ${fmt(r, 1)}× → ${r >= 10 ? "PASS" : "FAIL"}`);
    const g = pc?.switchyard;
    if (g) {
      checks.push(`added latency p50 ≤ 0.5 ms: ${signed(g.addedP50, 2)} ms → ${g.addedP50 <= 0.5 ? "PASS" : "FAIL"}`);
      checks.push(`added latency p99 ≤ 2 ms: ${signed(g.addedP99, 2)} ms → ${g.addedP99 <= 2 ? "PASS" : "FAIL"}`);
    }
    const rss = tp?.switchyard?.rssPeakMiB;
    if (rss !== undefined && rss !== null)
      checks.push(`peak RSS ≤ 150 MiB: ${fmt(rss, 1)} MiB → ${rss <= 150 ? "PASS" : "FAIL"}`);
    if (checks.length) {
      lines.push("Targets:");
      for (const c of checks) lines.push(`- ${c}`);
      lines.push("");
    }
    const floor = [];
    if (s.ratios.floorOverPortkeyThroughput !== null)
      floor.push(`throughput ${fmt(s.ratios.floorOverPortkeyThroughput, 1)}× Portkey`);
    if (pc?.floor)
      floor.push(`added latency p50 ${signed(pc.floor.addedP50, 2)} / p99 ${signed(pc.floor.addedP99, 2)} ms`);
    if (tp?.floor?.rssPeakMiB) floor.push(`peak RSS ${fmt(tp.floor.rssPeakMiB, 1)} MiB`);
    if (floor.length) {
      lines.push(`The floor (a bare Fastify + undici proxy, bench/bare-proxy.mjs) in this run: ${floor.join("; ")}.`);
      lines.push("");
    }
  }
  const sus = rounds.filter((r) => r.problems.length);
  if (sus.length) {
    lines.push(
      `⚠ Suspect rounds (any non-2xx, error, timeout or body mismatch, or other processes using more than ${NOISY_OTHER_CORES} cores):`,
    );
    for (const r of sus) lines.push(`- ${r.scenario} round ${r.round} ${LABEL[r.target]}: ${r.problems.join(", ")}`);
    lines.push("");
  } else {
    lines.push("No non-2xx, error, timeout or body mismatch in any round (warm-ups included).");
    lines.push("");
  }
  for (const n of notes) lines.push(`Note: ${n}`);
  for (const [name, st2] of Object.entries(stops)) {
    if (st2.forced) lines.push(`Note: ${name} did not exit within 10 s of SIGTERM and was killed.`);
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------
// cleanup on every path

const state = { tmpDir: null, keepTmp: false, cleaning: false };

async function cleanup() {
  if (state.cleaning) return;
  state.cleaning = true;
  try {
    current.autocannon?.stop?.();
  } catch {
    /* ignore */
  }
  await Promise.all([...children].map((c) => stopChild(c, 5000)));
  if (state.tmpDir && !state.keepTmp) fs.rmSync(state.tmpDir, { recursive: true, force: true });
}

process.on("exit", killAllNow);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    log(`${sig}: stopping child processes`);
    setTimeout(() => {
      killAllNow();
      process.exit(130);
    }, 8000).unref();
    cleanup().finally(() => process.exit(130));
  });
}

main()
  .catch((e) => {
    if (e instanceof BenchError) log(`error: ${e.message}`);
    else log(`error: ${e.stack ?? e}`);
    process.exitCode = 2;
    if (state.tmpDir) state.keepTmp = true; // keep the child logs for a look
    if (state.tmpDir) log(`child logs kept in ${state.tmpDir}`);
  })
  .finally(async () => {
    await cleanup();
  });

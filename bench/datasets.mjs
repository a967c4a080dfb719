#!/usr/bin/env node
// Dataset export and feedback benchmark:
//   1. builds a SQLite store holding N synthetic logged requests (default 1 000 000: conversations of
//      4 turns, ~10 % thumbs, ~2 % corrections, ~1 % arena picks), written the way the gateway writes
//      them (the request log's batch writer, conversations and full-text index included);
//   2. runs `switchyard export sft` and `switchyard export dpo` on it as a user would, timing each and
//      sampling its peak RSS (VmRSS every 100 ms): rows/s and MiB;
//   3. starts `switchyard serve` on the store and measures POST /v1/feedback with autocannon
//      (64 connections, each request a different answer/user, so each is a new row or an upsert).
//
//   node bench/datasets.mjs                      # 1 000 000 requests; ~10 minutes the first time
//   node bench/datasets.mjs --requests 100000    # a quick run
//   node bench/datasets.mjs --db /tmp/big.db     # keep the store and reuse it next time
// Needs `npm run build` first (it runs dist/).

import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = (p) => path.join(ROOT, "dist", p);

const { values: args } = parseArgs({
  options: {
    requests: { type: "string", default: "1000000" },
    db: { type: "string" },
    "feedback-seconds": { type: "string", default: "10" },
    port: { type: "string", default: "9110" },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log(
    fs
      .readFileSync(fileURLToPath(import.meta.url), "utf8")
      .split("\n")
      .slice(1, 15)
      .join("\n"),
  );
  process.exit(0);
}
const N = Number(args.requests);
const TURNS = 4;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-datasets-"));
const dbFile = args.db ?? path.join(tmp, "store.db");

const { openDatabase, migrateToLatest, sqliteHandle } = await import(dist("store/db.js"));
const { sqliteLogWriter } = await import(dist("store/sqlite-log-writer.js"));
const { toColumnValues } = await import(dist("store/request-log-columns.js"));

const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

// ── 1. the store ──────────────────────────────────────────────────────────────────────────────
const WORDS =
  "the of and to in is you that it for on with as are this be at have from or one had by word but not what all were we when your can said there use an each which she do how their if will up other about out many then them these so some her would make like him into time has look two more write go see number no way could people my than first water been call who oil its now find long down day did get come made may part".split(
    " ",
  );
/** Deterministic filler text: a 32-bit LCG seeded by a multiplicative hash, so each seed gives its own. */
function text(seed, words) {
  let x = Math.imul(seed + 1, 2654435761) >>> 0;
  const out = [];
  for (let i = 0; i < words; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.push(WORDS[(x >>> 16) % WORDS.length]);
  }
  return out.join(" ");
}

const db = openDatabase(dbFile);
await migrateToLatest(db);
const sqlite = sqliteHandle(db);
const have = sqlite.prepare("SELECT count(*) AS n FROM request_log").get().n;
if (have === N) {
  log(`reusing ${dbFile}: ${have} logged requests`);
} else if (have !== 0) {
  throw new Error(`${dbFile} holds ${have} requests, not ${N}: give another --db or delete it`);
} else {
  log(`writing ${N} synthetic requests to ${dbFile}`);
  const write = sqliteLogWriter(sqlite);
  const insertFeedback = sqlite.prepare(
    "INSERT INTO feedback (id, request_id, tenant, user_key, kind, value, other_request_id, created_at, updated_at) VALUES (?, ?, 'default', 'u', ?, ?, ?, ?, ?)",
  );
  const t0 = performance.now();
  const start = Date.now() - N * 1000;
  const BATCH = 500;
  let previousRequest = null;
  for (let b = 0; b < N / BATCH; b++) {
    const rows = [];
    const turns = [];
    const feedback = [];
    for (let k = 0; k < BATCH; k++) {
      const i = b * BATCH + k;
      const conversation = Math.floor(i / TURNS);
      const turn = i % TURNS;
      const createdAt = start + i * 1000;
      const id = `req_${createdAt.toString(16).padStart(12, "0")}${i.toString(16).padStart(20, "0")}`;
      rows.push(
        toColumnValues({
          id,
          created_at: createdAt,
          tenant: "default",
          session_id: `ses_${conversation}`,
          route: "chat",
          variant: conversation % 2 ? "a" : "b",
          backend: "fake",
          upstream_model: "fake-model",
          stream: 0,
          status: 200,
          input_tokens: 40,
          output_tokens: 90,
          latency_ms: 800,
        }),
      );
      const messages = [{ role: "system", content: "You are a helpful assistant." }];
      for (let t = 0; t <= turn; t++) {
        messages.push({ role: "user", content: text(conversation * 10 + t, 30) });
        if (t < turn) messages.push({ role: "assistant", content: text(conversation * 10 + t + 5, 80) });
      }
      turns.push({
        tenant: "default",
        session: `ses_${conversation}`,
        user: `user_${conversation % 1000}`,
        route: "chat",
        requestId: id,
        createdAt,
        messages,
        answer: { role: "assistant", content: text(conversation * 10 + turn + 5, 80) },
      });
      if (i % 10 === 0) feedback.push([`fb_t${i}`, id, "thumbs", JSON.stringify(i % 20 ? "up" : "down"), null]);
      if (i % 50 === 7) feedback.push([`fb_c${i}`, id, "correction", JSON.stringify(text(i, 60)), null]);
      if (i % 100 === 3 && previousRequest) {
        feedback.push([
          `fb_p${i}`,
          id,
          "preference",
          JSON.stringify({ other_request_id: previousRequest, pick: "this" }),
          previousRequest,
        ]);
      }
      previousRequest = id;
    }
    write({ rows, turns, exposures: [], shadows: [] });
    sqlite.transaction(() => {
      const now = Date.now();
      for (const f of feedback) insertFeedback.run(...f, now, now);
    })();
    if (b % 200 === 0) log(`  ${(b + 1) * BATCH} / ${N}`);
  }
  log(
    `wrote ${N} requests in ${((performance.now() - t0) / 1000).toFixed(0)} s (${(fs.statSync(dbFile).size / 2 ** 20).toFixed(0)} MiB)`,
  );
}
const feedbackTargets = sqlite
  .prepare("SELECT id FROM request_log ORDER BY id LIMIT 20000")
  .all()
  .map((r) => r.id);
await db.destroy();

// ── 2. exports ────────────────────────────────────────────────────────────────────────────────
function peakRss(pid, into) {
  const timer = setInterval(() => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) into.peakKiB = Math.max(into.peakKiB, Number(m[1]));
    } catch {}
  }, 100);
  return () => clearInterval(timer);
}

const config = path.join(tmp, "switchyard.yaml");
fs.writeFileSync(
  config,
  `server: { host: 127.0.0.1, port: ${Number(args.port)} }\ndatabase: { url: ${dbFile} }\nauth: { required: false }\nlogging: { level: warn }\n`,
);

async function runExport(kind) {
  const out = path.join(tmp, kind);
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [dist("cli/main.js"), "-c", config, "export", kind, "--out", out, "--no-progress"],
    {
      stdio: ["ignore", "inherit", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const mem = { peakKiB: 0 };
  const stop = peakRss(child.pid, mem);
  const code = await new Promise((r) => child.on("exit", r));
  stop();
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`export ${kind} failed (${code}): ${stderr}`);
  const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
  return {
    kind,
    rows: summary.rows,
    seconds,
    rowsPerSecond: summary.rows / seconds,
    requestsPerSecond: N / seconds,
    peakRssMiB: mem.peakKiB / 1024,
  };
}

const results = { requests: N, machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version } };
for (const kind of ["sft", "dpo"]) {
  log(`export ${kind}…`);
  results[kind] = await runExport(kind);
  log(
    `export ${kind}: ${results[kind].rows} rows in ${results[kind].seconds.toFixed(1)} s = ${results[kind].rowsPerSecond.toFixed(0)} rows/s ` +
      `(${results[kind].requestsPerSecond.toFixed(0)} logged requests read/s), peak RSS ${results[kind].peakRssMiB.toFixed(1)} MiB`,
  );
}

// ── 3. feedback writes ────────────────────────────────────────────────────────────────────────
log("feedback writes…");
const server = spawn(process.execPath, [dist("cli/main.js"), "-c", config, "serve"], {
  stdio: ["ignore", "pipe", "inherit"],
});
server.stdout.resume();
server.on("exit", (c) => {
  if (c !== 0 && c !== null) log(`serve exited with ${c}`);
});
for (let i = 0; ; i++) {
  const ready = await fetch(`http://127.0.0.1:${Number(args.port)}/readyz`).then(
    (r) => r.status === 200 || r.status === 503,
    () => false,
  );
  if (ready) break;
  if (i > 300) throw new Error("switchyard serve did not start within 30 s");
  await new Promise((r) => setTimeout(r, 100));
}
let n = 0;
const ac = await autocannon({
  url: `http://127.0.0.1:${Number(args.port)}/v1/feedback`,
  connections: 64,
  duration: Number(args["feedback-seconds"]),
  requests: [
    {
      method: "POST",
      headers: { "content-type": "application/json" },
      setupRequest: (req) => {
        n++;
        const body = {
          request_id: feedbackTargets[n % feedbackTargets.length],
          kind: "stars",
          value: (n % 5) + 1,
          user: `bench_${n % 7}`,
        };
        return { ...req, body: JSON.stringify(body) };
      },
    },
  ],
});
server.kill("SIGTERM");
await new Promise((r) => server.on("exit", r));
results.feedback = {
  requestsPerSecond: ac.requests.average,
  p50Ms: ac.latency.p50,
  p99Ms: ac.latency.p99,
  non2xx: ac.non2xx,
  errors: ac.errors,
  timeouts: ac.timeouts,
};
log(
  `feedback: ${ac.requests.average.toFixed(0)} writes/s, p50 ${ac.latency.p50} ms, p99 ${ac.latency.p99} ms, non-2xx ${ac.non2xx}, errors ${ac.errors}`,
);

const file = path.join(ROOT, "bench", "results", `datasets-${new Date().toISOString().replaceAll(":", "-")}.json`);
fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
log(`results: ${path.relative(ROOT, file)}`);
if (!args.db) fs.rmSync(tmp, { recursive: true, force: true });

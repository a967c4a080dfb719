#!/usr/bin/env node
// Experiment report time against the size of the request log: synthetic traffic of one 50/50
// experiment (with feedback, preferences and exposures) written through the gateway's own batch
// writer, the report timed at 100 000, 250 000, 500 000 and 1 000 000 logged requests.
// Target: ≤ 500 ms at 1 000 000.
//
//   node bench/report.mjs                       # up to 1 000 000 requests, ~2-3 minutes
//   node bench/report.mjs --sizes 100000,200000 --runs 5
//
// Each size's report is run --runs times (default 3) in this process, on the same SQLite file, as
// `GET /v1/experiments/:name/report` and `switchyard report` run it (src/store/experiment-report.ts,
// over the whole history: hourly rollups plus the current hour from the log); the median is reported.
// Feedback rows are inserted directly and their rollups kept as the feedback API keeps them. Synthetic traffic: 200 000 users; latency log-normal around 800 ms; 2 %
// failures; a thumbs on 10 % of answers, stars on 3 %, a preference between the two variants on
// 0.5 %; spread over the past 7 days.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { median } from "./children.mjs";

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, "..");
const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "100000,250000,500000,1000000" },
    runs: { type: "string", default: "3" },
    db: { type: "string" },
    "no-write": { type: "boolean", default: false },
  },
});
const sizes = args.sizes.split(",").map(Number);
const runs = Number(args.runs);

if (spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" }).status !== 0) throw new Error("build failed");
const dist = (p) => path.join(ROOT, "dist", p);
const { openDatabase, migrateToLatest, sqliteHandle } = await import(dist("store/db.js"));
const { validateConfig } = await import(dist("core/config/parse.js"));
const { syncConfigExperiments, loadExperiment } = await import(dist("store/experiments.js"));
const { sqliteLogWriter } = await import(dist("store/sqlite-log-writer.js"));
const { toColumnValues } = await import(dist("store/request-log-columns.js"));
const { experimentReport } = await import(dist("store/experiment-report.js"));
const { seededRandom } = await import(dist("core/random.js"));
const { rollUpFeedback } = await import(dist("store/rollup-queries.js"));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-report-bench-"));
const file = args.db ?? path.join(dir, "report.db");
const db = openDatabase(file);
await migrateToLatest(db);
const cfg = validateConfig(
  {
    backends: { fake: { type: "openai", baseUrl: "http://127.0.0.1:9/v1" } },
    routes: {
      chat: {
        variants: [
          { name: "a", backend: "fake", model: "m" },
          { name: "b", backend: "fake", model: "m" },
        ],
      },
    },
    experiments: {
      bench: {
        route: "chat",
        variants: [
          { variant: "a", weight: 50 },
          { variant: "b", weight: 50 },
        ],
        criteria: [
          { metric: "success_rate", op: ">=", value: 0.97 },
          { metric: "p95_latency_ms", op: "<", value: 2500 },
          { metric: "thumbs_up_rate_vs_control", op: ">=", value: -0.05 },
        ],
      },
    },
  },
  "bench",
);
await syncConfigExperiments(db, cfg.experiments);
const sqlite = sqliteHandle(db);
const write = sqliteLogWriter(sqlite);
const insertFeedback = sqlite.prepare(
  "INSERT INTO feedback (id, request_id, tenant, user_key, kind, value, other_request_id, created_at, updated_at) VALUES (?, ?, 'default', ?, ?, ?, ?, ?, ?)",
);
const random = seededRandom(11);
const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const WEEK = 7 * 24 * 3600 * 1000;
const start = Date.now() - WEEK;
const exposed = new Set();
let written = 0;

async function writeUpTo(total) {
  const batchSize = 5000;
  const t0 = performance.now();
  let lastOfB = null;
  while (written < total) {
    const rows = [];
    const exposures = [];
    const feedback = [];
    const n = Math.min(batchSize, total - written);
    for (let i = 0; i < n; i++, written++) {
      const id = `req_${String(written).padStart(9, "0")}`;
      const user = `u${Math.floor(random() * 200_000)}`;
      const variant = random() < 0.5 ? "a" : "b";
      const failed = random() < 0.02;
      const latency = Math.exp(Math.log(800) + 0.5 * normal()) * (variant === "b" ? 0.95 : 1);
      const at = start + Math.floor((written / 1_000_000) * WEEK);
      rows.push(
        toColumnValues({
          id,
          created_at: at,
          tenant: "default",
          user_id: user,
          session_id: `s${written}`,
          route: "chat",
          experiment: "bench",
          variant,
          backend: "fake",
          upstream_model: "m",
          stream: 1,
          status: failed ? 502 : 200,
          error_code: failed ? "SY_ERR_UPSTREAM_STATUS" : null,
          input_tokens: 200 + Math.floor(random() * 100),
          output_tokens: 100 + Math.floor(random() * 300),
          cost_usd: 0.0004 + random() * 0.0004,
          latency_ms: latency,
          ttft_ms: latency / 4,
          served_by: 0,
          attempts: 1,
          unit_kind: "user",
          assigned_by: "hash",
        }),
      );
      if (!exposed.has(user)) {
        exposed.add(user);
        exposures.push(["bench", "default", "user", user, variant, id, at]);
      }
      const r = random();
      if (r < 0.1)
        feedback.push([
          `fb_${written}t`,
          id,
          user,
          "thumbs",
          random() < (variant === "b" ? 0.72 : 0.7) ? '"up"' : '"down"',
          null,
          at,
          at,
        ]);
      else if (r < 0.13)
        feedback.push([`fb_${written}s`, id, user, "stars", String(1 + Math.floor(random() * 5)), null, at, at]);
      else if (r < 0.135 && lastOfB && variant === "a") {
        const pick = random() < 0.45 ? "this" : random() < 0.8 ? "other" : "tie";
        feedback.push([
          `fb_${written}p`,
          id,
          user,
          "preference",
          JSON.stringify({ other_request_id: lastOfB, pick }),
          lastOfB,
          at,
          at,
        ]);
      }
      if (variant === "b") lastOfB = id;
    }
    write({ rows, turns: rows.map(() => null), exposures, shadows: [] });
    sqlite.transaction(() => {
      for (const f of feedback) insertFeedback.run(f);
    })();
    // The feedback rollups, as the feedback API keeps them on every write.
    for (const f of feedback) await rollUpFeedback(db, f[1], f[3], null, f[4]);
  }
  return (performance.now() - t0) / 1000;
}

const e = await loadExperiment(db, "bench");
const results = [];
for (const size of sizes) {
  const seconds = await writeUpTo(size);
  const times = [];
  let report;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    report = await experimentReport(db, e, "default", { from: 0 });
    times.push(performance.now() - t0);
  }
  const row = {
    requests: size,
    reportMs: Math.round(median(times)),
    runsMs: times.map((t) => Math.round(t)),
    writeSeconds: Math.round(seconds),
    verdict: report.verdict.decision,
    variantRequests: Object.fromEntries(report.variants.map((v) => [v.variant, v.requests])),
  };
  results.push(row);
  console.log(
    `${size} requests: report ${row.reportMs} ms (runs ${row.runsMs.join(", ")}); verdict ${row.verdict}; written in ${row.writeSeconds} s`,
  );
}
const sizeMb = Math.round(fs.statSync(file).size / 1024 / 1024);
console.log(`store: ${sizeMb} MB`);
if (!args["no-write"]) {
  const out = path.join(BENCH, "results", `report-${new Date().toISOString().replaceAll(":", "-")}.json`);
  fs.writeFileSync(out, `${JSON.stringify({ node: process.version, runs, results, storeMb: sizeMb }, null, 1)}\n`);
  console.log(`results: ${path.relative(ROOT, out)}`);
}
await db.destroy();
if (!args.db) fs.rmSync(dir, { recursive: true, force: true });

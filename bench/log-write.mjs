#!/usr/bin/env node
// Request-log write throughput (rows/s) on SQLite and on PostgreSQL, through the sinks the gateway
// itself writes with (src/store/log-sinks.ts): SQLite's writer thread, PostgreSQL's multi-row
// INSERTs. Batches of 500 (requestLog.batchSize's default), written one after another as the
// gateway's writer does; for PostgreSQL also three writers at once on one database (three replicas).
// Each row is a logged chat call of a 50/50 experiment (so its rollups are kept), with an
// exposure for a new user every tenth row; "with turns" also stores every call's conversation
// turn (a new session of one question and one answer), as `conversations.store` does by default.
//
//   node bench/log-write.mjs                      # 100 000 rows per case
//   node bench/log-write.mjs --rows 20000 --pg postgres://postgres@127.0.0.1:5432/postgres
//
// PostgreSQL: a fresh database `sy_bench_log_<pid>` is created on --pg's server and dropped after.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build, writeResults } from "./children.mjs";

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, "..");
const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "100000" },
    batch: { type: "string", default: "500" },
    pg: { type: "string", default: "postgres://postgres@127.0.0.1:5432/postgres" },
  },
});
const ROWS = Number(args.rows);
const BATCH = Number(args.batch);

build(ROOT);
const dist = (p) => path.join(ROOT, "dist", p);
const { openDatabase, migrateToLatest } = await import(dist("store/db.js"));
const { openLogSink } = await import(dist("store/log-sinks.js"));

let seq = 0;
function entry(withTurn) {
  const n = seq++;
  const id = `req_${process.pid}_${n}`;
  const now = Date.now();
  const variant = n % 2 ? "a" : "b";
  return {
    row: {
      id,
      created_at: now,
      tenant: "default",
      key_id: "key_bench",
      user_id: `user-${n % 10_000}`,
      session_id: withTurn ? `ses-${n}` : null,
      route: "chat",
      experiment: "exp",
      variant,
      backend: "fake",
      upstream_model: `m-${variant}`,
      stream: n % 3 === 0 ? 1 : 0,
      status: 200,
      finish_reason: "stop",
      input_tokens: 42,
      output_tokens: 100 + (n % 50),
      cost_usd: 0.00021,
      latency_ms: 400 + (n % 300),
      ttft_ms: 120 + (n % 40),
      served_by: 0,
      attempts: 1,
      unit_kind: "user",
      assigned_by: "hash",
      endpoint: "chat",
    },
    turn: withTurn
      ? {
          tenant: "default",
          session: `ses-${n}`,
          user: `user-${n % 10_000}`,
          route: "chat",
          requestId: id,
          createdAt: now,
          messages: [{ role: "user", content: `How do I reset the password of account ${n}? It says it is locked.` }],
          answer: {
            role: "assistant",
            content: `Open the account page, choose "Forgot password" and follow the link sent to you (${n}).`,
          },
        }
      : null,
    exposure:
      n % 10 === 0
        ? {
            experiment: "exp",
            tenant: "default",
            unitKind: "user",
            unitId: `new-${n}`,
            variant,
            requestId: id,
            at: now,
          }
        : null,
  };
}

/** Writes `rows` rows through `sink` in batches, one batch at a time; rows/s. */
async function drive(sink, rows, withTurn) {
  const start = performance.now();
  for (let done = 0; done < rows; done += BATCH) {
    const entries = Array.from({ length: Math.min(BATCH, rows - done) }, () => entry(withTurn));
    const r = await sink.write(entries, []);
    if (r.rejected || r.turnsRejected) throw new Error(`rows refused: ${JSON.stringify(r)}`);
  }
  return rows / ((performance.now() - start) / 1000);
}

async function sqliteCase(withTurn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-log-bench-"));
  const file = path.join(dir, "log.db");
  const db = openDatabase(file);
  await migrateToLatest(db);
  const sink = openLogSink(db, file);
  try {
    return await drive(sink, ROWS, withTurn);
  } finally {
    await sink.close();
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function psql(sql) {
  const r = spawnSync("psql", ["-X", "-q", "-d", args.pg, "-c", sql], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
}

async function postgresCase(withTurn, writers) {
  const name = `sy_bench_log_${process.pid}_${seq}`;
  psql(`CREATE DATABASE ${name}`);
  const url = new URL(args.pg);
  url.pathname = `/${name}`;
  const dbs = Array.from({ length: writers }, () => openDatabase(url.toString()));
  try {
    await migrateToLatest(dbs[0]);
    const sinks = dbs.map((db) => openLogSink(db, url.toString()));
    const start = performance.now();
    await Promise.all(sinks.map((s) => drive(s, Math.floor(ROWS / writers), withTurn)));
    return (Math.floor(ROWS / writers) * writers) / ((performance.now() - start) / 1000);
  } finally {
    await Promise.all(dbs.map((db) => db.destroy()));
    psql(`DROP DATABASE ${name} WITH (FORCE)`);
  }
}

const results = {};
for (const withTurn of [false, true]) {
  const label = withTurn ? "with turns" : "rows only";
  results[label] = {
    sqlite: Math.round(await sqliteCase(withTurn)),
    postgres: Math.round(await postgresCase(withTurn, 1)),
    postgres3Writers: Math.round(await postgresCase(withTurn, 3)),
  };
  console.log(label, results[label]);
}
const file = writeResults(BENCH, "log-write", { rows: ROWS, batch: BATCH, results });
console.log(`saved ${path.relative(ROOT, file)}`);

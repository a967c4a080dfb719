#!/usr/bin/env node
// What the response cache buys: one Switchyard, two routes on the same fake upstream, `cached`
// (cache on, in memory) and `plain` (no cache), measured closed loop with autocannon in
// alternating rounds. On `cached`, 90 % of requests repeat one of 20 questions asked before (hits)
// and 10 % are new (misses); `plain` gets the same mix. Reported: medians of req/s and p50 / p99,
// and the hit rate the gateway's own metrics counted. The upstream answers after --delay-ms (0 by
// default: the gateway's own cost; 50 shows what a hit saves a client).
//
//   node bench/cache.mjs                       # 3 rounds each, 2 s warm-up + 6 s, 64 connections
//   node bench/cache.mjs --delay-ms 50 --rounds 2

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { build, median, startChild, startSwitchyard, stopAll, waitReady, writeResults } from "./children.mjs";

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, "..");
const HOST = "127.0.0.1";
const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "6" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "64" },
    "delay-ms": { type: "string", default: "0" },
    "hit-share": { type: "string", default: "0.9" },
    "no-write": { type: "boolean", default: false },
  },
});
const opt = {
  rounds: Number(args.rounds),
  duration: Number(args.duration),
  warmup: Number(args.warmup),
  connections: Number(args.connections),
  delayMs: Number(args["delay-ms"]),
  hitShare: Number(args["hit-share"]),
  ports: { upstream: 9151, switchyard: 9152 },
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-cache-bench-"));
const children = new Set();
const REPEATED = 20;
let fresh = 0;

/** A body: one of the repeated questions, or (1 − hitShare of the time) one never asked before. */
function body(route) {
  const q =
    Math.random() < opt.hitShare
      ? `Question ${Math.floor(Math.random() * REPEATED)}`
      : `New ${fresh++} ${Math.random()}`;
  return JSON.stringify({ model: route, temperature: 0, messages: [{ role: "user", content: q }] });
}

function cannon(route, seconds) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://${HOST}:${opt.ports.switchyard}/v1/chat/completions`,
        method: "POST",
        headers: { "content-type": "application/json" },
        connections: opt.connections,
        duration: seconds,
        requests: [{ setupRequest: (req) => ({ ...req, body: body(route) }) }],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
}

async function lookups() {
  const text = await (await fetch(`http://${HOST}:${opt.ports.switchyard}/metrics`)).text();
  const count = (result) =>
    Number(
      new RegExp(`switchyard_cache_lookups_total\\{route="cached",result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? 0,
    );
  return { hit: count("hit"), miss: count("miss") };
}

async function main() {
  build(ROOT);
  startChild(children, tmp, ROOT, "upstream", [
    path.join(BENCH, "fake-upstream.mjs"),
    "--port",
    String(opt.ports.upstream),
    "--delay-ms",
    String(opt.delayMs),
  ]);
  await waitReady(`http://${HOST}:${opt.ports.upstream}/v1/models`, "upstream", tmp);
  await startSwitchyard(
    children,
    tmp,
    ROOT,
    `server: { host: ${HOST}, port: ${opt.ports.switchyard} }
database: { url: ${path.join(tmp, "bench.db")} }
auth: { required: false }
logging: { level: warn }
backends:
  fake: { type: openai, baseUrl: "http://${HOST}:${opt.ports.upstream}/v1", maxConcurrency: 1024 }
routes:
  cached: { cache: true, variants: [{ name: a, backend: fake, model: fake-model }] }
  plain: { variants: [{ name: a, backend: fake, model: fake-model }] }
`,
    opt.ports.switchyard,
  );

  const rounds = [];
  for (let r = 0; r < opt.rounds; r++) {
    for (const route of r % 2 === 0 ? ["plain", "cached"] : ["cached", "plain"]) {
      await cannon(route, opt.warmup);
      const before = await lookups();
      const res = await cannon(route, opt.duration);
      const after = await lookups();
      const hits = after.hit - before.hit;
      const misses = after.miss - before.miss;
      const row = {
        round: r + 1,
        route,
        rps: Math.round(res.requests.average),
        p50: res.latency.p50,
        p99: res.latency.p99,
        hitRate: route === "cached" ? Math.round((hits / Math.max(1, hits + misses)) * 1000) / 1000 : null,
        faults: res.non2xx + res.errors + res.timeouts,
      };
      rounds.push(row);
      console.log(
        `round ${row.round} ${route.padEnd(6)}: ${row.rps} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms${row.hitRate === null ? "" : `, hit rate ${row.hitRate}`}${row.faults ? `, ${row.faults} FAULTS` : ""}`,
      );
    }
  }
  const arm = (route) => {
    const rs = rounds.filter((x) => x.route === route);
    return {
      rps: median(rs.map((x) => x.rps)),
      p50: median(rs.map((x) => x.p50)),
      p99: median(rs.map((x) => x.p99)),
      hitRate: route === "cached" ? median(rs.map((x) => x.hitRate)) : null,
      faults: rs.reduce((n, x) => n + x.faults, 0),
    };
  };
  const summary = { plain: arm("plain"), cached: arm("cached") };
  summary.rpsRatio = Math.round((summary.cached.rps / summary.plain.rps) * 1000) / 1000;
  console.log(
    `\nmedians  no cache: ${summary.plain.rps} req/s, p50 ${summary.plain.p50} ms, p99 ${summary.plain.p99} ms`,
  );
  console.log(
    `         cache (hit rate ${summary.cached.hitRate}): ${summary.cached.rps} req/s, p50 ${summary.cached.p50} ms, p99 ${summary.cached.p99} ms (throughput ratio ${summary.rpsRatio})`,
  );
  if (!args["no-write"]) {
    const file = writeResults(BENCH, "cache", { options: opt, rounds, summary });
    console.log(`results: ${path.relative(ROOT, file)}`);
  }
}

main()
  .catch((e) => {
    console.error(e.message ?? e);
    process.exitCode = 1;
  })
  .finally(() => stopAll(children, tmp));

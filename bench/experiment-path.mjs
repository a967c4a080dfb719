#!/usr/bin/env node
// What an experiment costs on the request path: one Switchyard, two routes on the same fake
// upstream, `plain` (no experiment) and `split` (a running 50/50 experiment), measured closed loop
// with autocannon in alternating rounds; medians reported. Every request names a new user
// ([<id>] replaced per request), so each one is hashed and each is a first exposure (the worst
// case: one exposure row per request for the log writer).
//
//   node bench/experiment-path.mjs                      # 3 rounds each, 3 s warm-up + 8 s, 64 connections
//   node bench/experiment-path.mjs --rounds 5 --connections 32

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { median, SERVE_NODE_FLAGS, startChild, waitReady } from "./children.mjs";

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, "..");
const HOST = "127.0.0.1";
const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "8" },
    warmup: { type: "string", default: "3" },
    connections: { type: "string", default: "64" },
    "upstream-port": { type: "string", default: "9121" },
    "switchyard-port": { type: "string", default: "9122" },
    "no-write": { type: "boolean", default: false },
  },
});
const opt = {
  rounds: Number(args.rounds),
  duration: Number(args.duration),
  warmup: Number(args.warmup),
  connections: Number(args.connections),
  upstreamPort: Number(args["upstream-port"]),
  switchyardPort: Number(args["switchyard-port"]),
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-experiment-bench-"));
const children = new Set();

function cannon(route, seconds) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://${HOST}:${opt.switchyardPort}/v1/chat/completions`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: route, user: "u-[<id>]", messages: [{ role: "user", content: "hi" }] }),
        idReplacement: true,
        connections: opt.connections,
        duration: seconds,
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
}

async function main() {
  if (spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" }).status !== 0) throw new Error("build failed");
  startChild(children, tmp, ROOT, "upstream", [
    path.join(BENCH, "fake-upstream.mjs"),
    "--port",
    String(opt.upstreamPort),
  ]);
  await waitReady(`http://${HOST}:${opt.upstreamPort}/v1/models`, "upstream", tmp);
  const config = path.join(tmp, "switchyard.yaml");
  fs.writeFileSync(
    config,
    `server: { host: ${HOST}, port: ${opt.switchyardPort} }
database: { url: ${path.join(tmp, "bench.db")} }
auth: { required: false }
logging: { level: warn }
backends:
  fake: { type: openai, baseUrl: "http://${HOST}:${opt.upstreamPort}/v1", maxConcurrency: 1024 }
routes:
  plain:
    variants: [{ name: a, backend: fake, model: fake-model }]
  split:
    variants:
      - { name: a, backend: fake, model: fake-model }
      - { name: b, backend: fake, model: fake-model }
experiments:
  ab: { route: split, variants: [{ variant: a, weight: 50 }, { variant: b, weight: 50 }] }
`,
  );
  startChild(children, tmp, ROOT, "switchyard", [
    ...SERVE_NODE_FLAGS,
    path.join(ROOT, "dist/cli/main.js"),
    "serve",
    "--config",
    config,
  ]);
  await waitReady(`http://${HOST}:${opt.switchyardPort}/readyz`, "switchyard", tmp);

  const rounds = [];
  for (let r = 0; r < opt.rounds; r++) {
    for (const route of r % 2 === 0 ? ["plain", "split"] : ["split", "plain"]) {
      await cannon(route, opt.warmup);
      const res = await cannon(route, opt.duration);
      const row = {
        round: r + 1,
        route,
        rps: Math.round(res.requests.average),
        p50: res.latency.p50,
        p99: res.latency.p99,
        non2xx: res.non2xx,
        errors: res.errors,
      };
      rounds.push(row);
      console.log(
        `round ${row.round} ${route}: ${row.rps} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms, non-2xx ${row.non2xx}, errors ${row.errors}`,
      );
    }
  }
  const arm = (route) => {
    const rs = rounds.filter((x) => x.route === route);
    return { rps: median(rs.map((x) => x.rps)), p50: median(rs.map((x) => x.p50)), p99: median(rs.map((x) => x.p99)) };
  };
  const summary = { plain: arm("plain"), split: arm("split") };
  summary.rpsRatio = Math.round((summary.split.rps / summary.plain.rps) * 1000) / 1000;
  console.log(`\nmedians  plain: ${summary.plain.rps} req/s p99 ${summary.plain.p99} ms`);
  console.log(
    `         split: ${summary.split.rps} req/s p99 ${summary.split.p99} ms (throughput ratio ${summary.rpsRatio})`,
  );
  if (!args["no-write"]) {
    const file = path.join(BENCH, "results", `experiment-path-${new Date().toISOString().replaceAll(":", "-")}.json`);
    fs.writeFileSync(file, `${JSON.stringify({ options: opt, node: process.version, rounds, summary }, null, 1)}\n`);
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

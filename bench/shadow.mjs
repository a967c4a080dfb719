#!/usr/bin/env node
// Shadow benchmark: the primary path's latency with shadow traffic at 100 % versus 0 %, side by
// side in one run (rounds alternate, medians reported). Target: p99 within 5 %.
//
//   node bench/shadow.mjs                          # 3 rounds each, 400 req/s, 10 s, ~2 minutes
//   node bench/shadow.mjs --rounds 5 --rate 300 --duration 15
//
// Setup (all children of this script on 127.0.0.1, stopped at the end): two fake upstreams
// (bench/fake-upstream.mjs; primary and candidate, each answering after --delay-ms), one Switchyard
// (dist/, built first if stale) with an experiment on route `chat` whose shadow sends requests to
// the candidate. Between rounds the shadow share is switched between 0 and 1 through the admin API
// on the same process, so both arms share one warm process. Load: bench/paced.mjs, open loop;
// latency is from each request's scheduled start to the end of its body (no coordinated omission).
// Per round we also read /metrics for shadow calls made and shed, and the shadow rows stored.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { median, SERVE_NODE_FLAGS, startChild, waitReady } from "./children.mjs";
import { runPaced } from "./paced.mjs";

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, "..");
const HOST = "127.0.0.1";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    rate: { type: "string", default: "400" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "3" },
    "delay-ms": { type: "string", default: "50" },
    "primary-port": { type: "string", default: "9111" },
    "candidate-port": { type: "string", default: "9112" },
    "switchyard-port": { type: "string", default: "9113" },
    "no-write": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (args.help) {
  console.log(
    fs
      .readFileSync(fileURLToPath(import.meta.url), "utf8")
      .split("\n")
      .slice(1, 17)
      .join("\n"),
  );
  process.exit(0);
}
const opt = {
  rounds: Number(args.rounds),
  rate: Number(args.rate),
  duration: Number(args.duration),
  warmup: Number(args.warmup),
  delayMs: Number(args["delay-ms"]),
  ports: {
    primary: Number(args["primary-port"]),
    candidate: Number(args["candidate-port"]),
    switchyard: Number(args["switchyard-port"]),
  },
};

const children = new Set();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-shadow-bench-"));

function stopAll() {
  for (const c of children) c.kill("SIGTERM");
}
process.on("SIGINT", () => {
  stopAll();
  process.exit(130);
});

const sy = `http://${HOST}:${opt.ports.switchyard}`;

async function setShare(share) {
  const r = await fetch(`${sy}/v1/admin/experiments/bench-shadow`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ shadow: { variants: ["candidate"], share, timeoutMs: 10_000 } }),
  });
  if (!r.ok) throw new Error(`could not set the shadow share: ${r.status} ${await r.text()}`);
}

async function shadowCounters() {
  const text = await (await fetch(`${sy}/metrics`)).text();
  const sum = (prefix) =>
    text
      .split("\n")
      .filter((l) => l.startsWith(prefix))
      .reduce((s, l) => s + Number(l.split(" ").pop()), 0);
  return { calls: sum("switchyard_shadow_calls_total{"), shed: sum("switchyard_shadow_shed_total{") };
}

async function main() {
  const build = spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
  if (build.status !== 0) throw new Error("npm run build failed");
  for (const [name, port] of [
    ["primary", opt.ports.primary],
    ["candidate", opt.ports.candidate],
  ]) {
    startChild(children, tmp, ROOT, name, [
      path.join(BENCH, "fake-upstream.mjs"),
      "--port",
      String(port),
      "--delay-ms",
      String(opt.delayMs),
    ]);
    await waitReady(`http://${HOST}:${port}/v1/models`, name, tmp);
  }
  const config = path.join(tmp, "switchyard.yaml");
  fs.writeFileSync(
    config,
    `server: { host: ${HOST}, port: ${opt.ports.switchyard} }
database: { url: ${path.join(tmp, "bench.db")} }
auth: { required: false }
logging: { level: warn }
backends:
  primary: { type: openai, baseUrl: "http://${HOST}:${opt.ports.primary}/v1", maxConcurrency: 1024 }
  candidate: { type: openai, baseUrl: "http://${HOST}:${opt.ports.candidate}/v1", maxConcurrency: 1024 }
routes:
  chat:
    variants:
      - { name: control, backend: primary, model: fake-model }
      - { name: candidate, backend: candidate, model: fake-model }
experiments:
  bench-shadow:
    route: chat
    variants: [{ variant: control, weight: 100 }]
    shadow: { variants: [candidate], share: 0 }
# Enough room that at 100 % every request is shadowed (rate x delay = calls in flight).
shadow: { maxConcurrency: 256, maxQueue: 256 }
`,
  );
  startChild(children, tmp, ROOT, "switchyard", [
    ...SERVE_NODE_FLAGS,
    path.join(ROOT, "dist/cli/main.js"),
    "serve",
    "--config",
    config,
  ]);
  await waitReady(`${sy}/readyz`, "switchyard", tmp);

  const body = JSON.stringify({ model: "chat", user: "bench", messages: [{ role: "user", content: "hi" }] });
  const rounds = [];
  for (let r = 0; r < opt.rounds; r++) {
    // Alternate which arm goes first, so drift over the run does not favour one.
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    for (const share of order) {
      await setShare(share);
      const before = await shadowCounters();
      const res = await runPaced({
        url: `${sy}/v1/chat/completions`,
        rate: opt.rate,
        durationSec: opt.duration,
        warmupSec: opt.warmup,
        body,
      });
      const after = await shadowCounters();
      const row = {
        round: r + 1,
        share,
        ok: res.ok,
        failed: res.non2xx + res.errors + res.timeouts,
        ...res.latencyMs,
        shadowCalls: after.calls - before.calls,
        shadowShed: after.shed - before.shed,
      };
      rounds.push(row);
      console.log(
        `round ${row.round} shadow ${share * 100}%: ok ${row.ok} failed ${row.failed} p50 ${row.p50} p90 ${row.p90} p99 ${row.p99} ms; shadow calls ${row.shadowCalls}, shed ${row.shadowShed}`,
      );
    }
  }
  const arm = (share) => {
    const rs = rounds.filter((x) => x.share === share);
    return { p50: median(rs.map((x) => x.p50)), p90: median(rs.map((x) => x.p90)), p99: median(rs.map((x) => x.p99)) };
  };
  const off = arm(0);
  const on = arm(1);
  const summary = { off, on, p99Ratio: Math.round((on.p99 / off.p99) * 1000) / 1000 };
  console.log(`\nmedians  shadow 0 %: p50 ${off.p50} p90 ${off.p90} p99 ${off.p99} ms`);
  console.log(`         shadow 100 %: p50 ${on.p50} p90 ${on.p90} p99 ${on.p99} ms`);
  console.log(`p99 with shadow / without: ${summary.p99Ratio} (target ≤ 1.05)`);
  if (!args["no-write"]) {
    const file = path.join(BENCH, "results", `shadow-${new Date().toISOString().replaceAll(":", "-")}.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
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
    stopAll();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

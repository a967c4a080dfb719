#!/usr/bin/env node
// What prompts cost on the request path, and how fast a replay runs.
//
// 1. In process: applyPrompt (resolve NAME@LABEL in the in-memory registry, check the variables,
//    render, build the new message list) timed over many calls, next to the same loop without a
//    prompt: nanoseconds per request.
// 2. Over HTTP: one Switchyard, two routes on the same fake upstream, `plain` (no prompt) and
//    `prompted` (support@production, one variable), in alternating rounds: closed loop (autocannon,
//    64 connections) req/s and p50/p99, and open loop (paced.mjs, --rate req/s, 50 ms upstream)
//    p50/p90/p99. The added latency is prompted minus plain, medians over rounds.
// 3. Replay throughput: items/s of `switchyard replay` (in process, dist/) against the fake upstream
//    answering at once and after 20 ms, at concurrency 8 and 32.
//
//   node bench/prompts.mjs                     # 3 rounds each; about 3 minutes
//   node bench/prompts.mjs --rounds 1 --duration 3 --skip-http

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
    duration: { type: "string", default: "6" },
    warmup: { type: "string", default: "2" },
    rate: { type: "string", default: "500" },
    items: { type: "string", default: "2000" },
    "skip-http": { type: "boolean", default: false },
    "no-write": { type: "boolean", default: false },
  },
});
const opt = {
  rounds: Number(args.rounds),
  duration: Number(args.duration),
  warmup: Number(args.warmup),
  rate: Number(args.rate),
  items: Number(args.items),
  ports: { upstream: 9161, switchyard: 9162 },
};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "switchyard-prompts-bench-"));
const children = new Set();
const dist = (p) => import(pathToFileURL(path.join(ROOT, "dist", p)).href);

const TEMPLATE = {
  description: "bench",
  variables: { product: {}, tone: { default: "friendly" } },
  template: {
    system:
      "You are the support assistant of {{product}}. Answer in a {{tone}} tone, in the user's language, " +
      "in at most three sentences. If you do not know, say so and offer to hand over to a person.",
  },
};

async function inProcess() {
  const { openDatabase, migrateToLatest } = await dist("store/db.js");
  const { createVersion, moveLabel } = await dist("store/prompts.js");
  const { PromptRegistry } = await dist("server/prompt-registry.js");
  const { applyPrompt, withoutVariablesField } = await dist("server/apply-prompt.js");
  const { requestVariables } = await dist("core/prompts/request-variables.js");
  const db = openDatabase(path.join(tmp, "inproc.db"));
  await migrateToLatest(db);
  await createVersion(db, "support", TEMPLATE, { author: "bench", message: "" });
  await moveLabel(db, "support", "production", 1, { actor: "bench", message: "" });
  const registry = new PromptRegistry(db, { error() {}, warn() {} });
  await registry.start({ poll: false });
  const withPrompt = { name: "a", backend: "fake", model: "m", params: {}, prompt: "support@production" };
  const without = { name: "a", backend: "fake", model: "m", params: {} };
  const raw = { model: "chat", messages: [{ role: "user", content: "hi" }], switchyard_variables: { product: "Acme" } };
  const once = (variant) => {
    // What a request does: read the variables, drop the field, apply the variant's prompt.
    const vars = requestVariables(raw, undefined);
    return applyPrompt(registry, "chat", variant, withoutVariablesField(raw), vars);
  };
  const N = 1_000_000;
  const time = (variant) => {
    let sink = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) sink += once(variant).body.messages.length;
    const ns = Number(process.hrtime.bigint() - t0) / N;
    if (sink === 0) throw new Error("unreachable");
    return ns;
  };
  // Warm-up (JIT).
  for (let i = 0; i < 3; i++) {
    time(withPrompt);
    time(without);
  }
  const rounds = [];
  for (let r = 0; r < 5; r++) rounds.push({ prompted: time(withPrompt), plain: time(without) });
  await db.destroy();
  const p = median(rounds.map((x) => x.prompted));
  const q = median(rounds.map((x) => x.plain));
  console.log(
    `in process: ${p.toFixed(0)} ns per request with a prompt, ${q.toFixed(0)} ns without (added ${(p - q).toFixed(0)} ns)`,
  );
  return { nsPerRequestPrompted: p, nsPerRequestPlain: q, rounds };
}

function cannon(route, seconds) {
  const body = JSON.stringify({
    model: route,
    messages: [{ role: "user", content: "hi" }],
    ...(route === "prompted" ? { switchyard_variables: { product: "Acme" } } : {}),
  });
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://${HOST}:${opt.ports.switchyard}/v1/chat/completions`,
        method: "POST",
        headers: { "content-type": "application/json" },
        connections: 64,
        duration: seconds,
        body,
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
}

async function setDelay(ms) {
  await fetch(`http://${HOST}:${opt.ports.upstream}/__bench/config`, {
    method: "PUT",
    body: JSON.stringify({ delayMs: ms }),
  });
}

async function overHttp() {
  const sy = `http://${HOST}:${opt.ports.switchyard}`;
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
  plain: { variants: [{ name: a, backend: fake, model: fake-model }] }
  prompted: { variants: [{ name: a, backend: fake, model: fake-model, prompt: "support@production" }] }
`,
    opt.ports.switchyard,
  );
  const post = (p, b, method = "POST") =>
    fetch(`${sy}${p}`, { method, headers: { "content-type": "application/json" }, body: JSON.stringify(b) });
  await post("/v1/admin/prompts/support/versions", TEMPLATE);
  await post("/v1/admin/prompts/support/labels/production", { version: 1 }, "PUT");
  const probe = await post("/v1/chat/completions", {
    model: "prompted",
    messages: [{ role: "user", content: "hi" }],
    switchyard_variables: { product: "Acme" },
  });
  if (probe.headers.get("x-switchyard-prompt-version") !== "support@1")
    throw new Error(`probe failed: ${probe.status} ${await probe.text()}`);

  const closed = [];
  await setDelay(0);
  for (let r = 0; r < opt.rounds; r++) {
    for (const route of r % 2 === 0 ? ["plain", "prompted"] : ["prompted", "plain"]) {
      await cannon(route, opt.warmup);
      const res = await cannon(route, opt.duration);
      const row = {
        round: r + 1,
        route,
        rps: Math.round(res.requests.average),
        p50: res.latency.p50,
        p99: res.latency.p99,
        faults: res.non2xx + res.errors + res.timeouts,
      };
      closed.push(row);
      console.log(
        `closed loop round ${row.round} ${route.padEnd(8)}: ${row.rps} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms${row.faults ? `, ${row.faults} FAULTS` : ""}`,
      );
    }
  }
  const paced = [];
  await setDelay(50);
  for (let r = 0; r < opt.rounds; r++) {
    for (const route of r % 2 === 0 ? ["plain", "prompted"] : ["prompted", "plain"]) {
      const res = await runPaced({
        url: `${sy}/v1/chat/completions`,
        rate: opt.rate,
        durationSec: opt.duration,
        warmupSec: opt.warmup,
        body: JSON.stringify({
          model: route,
          messages: [{ role: "user", content: "hi" }],
          ...(route === "prompted" ? { switchyard_variables: { product: "Acme" } } : {}),
        }),
      });
      const row = { round: r + 1, route, ...res.latencyMs, faults: res.non2xx + res.errors + res.timeouts };
      paced.push(row);
      console.log(
        `paced ${opt.rate}/s round ${row.round} ${route.padEnd(8)}: p50 ${row.p50} / p90 ${row.p90} / p99 ${row.p99} ms${row.faults ? `, ${row.faults} FAULTS` : ""}`,
      );
    }
  }
  await setDelay(0);
  const med = (rows, route, k) => median(rows.filter((x) => x.route === route).map((x) => x[k]));
  const summary = {
    closed: Object.fromEntries(
      ["plain", "prompted"].map((r) => [
        r,
        { rps: med(closed, r, "rps"), p50: med(closed, r, "p50"), p99: med(closed, r, "p99") },
      ]),
    ),
    paced: Object.fromEntries(
      ["plain", "prompted"].map((r) => [
        r,
        { p50: med(paced, r, "p50"), p90: med(paced, r, "p90"), p99: med(paced, r, "p99") },
      ]),
    ),
  };
  const d = (k) => Math.round((summary.paced.prompted[k] - summary.paced.plain[k]) * 100) / 100;
  summary.pacedAdded = { p50: d("p50"), p90: d("p90"), p99: d("p99") };
  console.log(
    `\nclosed loop: plain ${summary.closed.plain.rps} req/s, prompted ${summary.closed.prompted.rps} req/s (ratio ${(summary.closed.prompted.rps / summary.closed.plain.rps).toFixed(3)})`,
  );
  console.log(`paced: prompt resolution adds p50 ${d("p50")} / p90 ${d("p90")} / p99 ${d("p99")} ms`);
  return { closed, paced, summary };
}

async function replay() {
  const { validateConfig } = await dist("core/config/parse.js");
  const { openDatabase, migrateToLatest } = await dist("store/db.js");
  const { PromptRegistry } = await dist("server/prompt-registry.js");
  const { createReplayRun, openBackends, runReplay } = await dist("server/replay-runner.js");
  const { parseReplayJsonl } = await dist("core/replay/dataset.js");
  const config = validateConfig(
    {
      backends: { fake: { type: "openai", baseUrl: `http://${HOST}:${opt.ports.upstream}/v1`, maxConcurrency: 1024 } },
      routes: { qa: { variants: [{ name: "a", backend: "fake", model: "fake-model" }] } },
    },
    "bench",
  );
  const text = Array.from({ length: opt.items }, (_, i) =>
    JSON.stringify({
      messages: [{ role: "user", content: `Question ${i}?` }],
      reference: "Hello from the fake upstream",
    }),
  ).join("\n");
  const parsed = parseReplayJsonl(text);
  const rows = [];
  for (const delayMs of [0, 20]) {
    await setDelay(delayMs);
    for (const concurrency of [8, 32]) {
      const db = openDatabase(path.join(tmp, `replay-${delayMs}-${concurrency}.db`));
      await migrateToLatest(db);
      const prompts = new PromptRegistry(db, { error() {}, warn() {} });
      await prompts.start({ poll: false });
      const backends = await openBackends(config);
      const env = { db, config, backends, prompts };
      const id = await createReplayRun(env, {
        tenant: "default",
        source: { bench: true },
        items: parsed.items,
        settings: { candidates: ["qa/a"], scorers: { scorers: ["exact", "contains", "chrf", "rouge_l"] } },
      });
      const t0 = performance.now();
      const p = await runReplay(env, id, { concurrency });
      const sec = (performance.now() - t0) / 1000;
      const row = {
        delayMs,
        concurrency,
        items: p.done,
        seconds: Math.round(sec * 1000) / 1000,
        itemsPerSec: Math.round(p.done / sec),
      };
      rows.push(row);
      console.log(
        `replay: upstream ${delayMs} ms, concurrency ${concurrency}: ${row.items} items in ${row.seconds} s = ${row.itemsPerSec} items/s (4 scorers, each result stored)`,
      );
      await Promise.all([...backends.values()].map((b) => b.close()));
      await db.destroy();
    }
  }
  await setDelay(0);
  return rows;
}

async function main() {
  build(ROOT);
  startChild(children, tmp, ROOT, "upstream", [
    path.join(BENCH, "fake-upstream.mjs"),
    "--port",
    String(opt.ports.upstream),
  ]);
  await waitReady(`http://${HOST}:${opt.ports.upstream}/v1/models`, "upstream", tmp);
  const inproc = await inProcess();
  const http = args["skip-http"] ? null : await overHttp();
  const replays = await replay();
  if (!args["no-write"]) {
    const file = writeResults(BENCH, "prompts", { options: opt, inProcess: inproc, http, replay: replays });
    console.log(`results: ${path.relative(ROOT, file)}`);
  }
}

main()
  .catch((e) => {
    console.error(e.stack ?? e.message ?? e);
    process.exitCode = 1;
  })
  .finally(() => stopAll(children, tmp));

#!/usr/bin/env node
// Smooth open-loop paced load generator (benchmark tool).
//
// Request i is started at t0 + i / rate, whatever the earlier requests are doing (open loop), so a
// slow target gets more requests in flight instead of fewer requests sent — unlike a closed loop or
// autocannon's rate limiter (which releases every connection's requests on a shared tick, i.e. in
// bursts). Requests go through one undici Pool with keep-alive connections (opened on demand, up to
// --connections).
//
// Latency is measured two ways, on a monotonic clock:
//   - `latencyMs`: from the request's *scheduled* start to the end of its response body. This is
//     free of coordinated omission: if the generator falls behind (event-loop lag, CPU contention),
//     the wait counts. This is the figure to report.
//   - `serviceMs`: from the moment the request was actually handed to undici to the end of its body.
// `lagMs` is actual start minus scheduled start (how late the generator itself was).
// Every non-2xx, error and timeout is counted; a run with any is suspect.
//
// CLI:  node bench/paced.mjs --url http://127.0.0.1:9101/v1/chat/completions --rate 500 --duration 10
//         [--warmup 2] [--body '{"model":"fake-model","messages":[{"role":"user","content":"hi"}]}']
//         [--header 'authorization: Bearer x']... [--connections 256] [--timeout-ms 10000] [--json]
// Module: `await runPaced({ url, rate, durationSec, warmupSec, body, headers })` -> result object
//         (optional `beforeMeasure` / `afterMeasure` callbacks bracket the measured phase, e.g. to read
//         a process's CPU time from /proc).

import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { Pool } from "undici";

export const DEFAULT_BODY = JSON.stringify({
  model: "fake-model",
  messages: [{ role: "user", content: "hi" }],
});

/** Nearest-rank percentile of an ascending-sorted array-like (q in [0,1]). */
export function percentile(sorted, q) {
  const n = sorted.length;
  if (n === 0) return null;
  const idx = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return sorted[idx];
}

function summarize(values, count) {
  const a = values.subarray(0, count).slice().sort();
  if (count === 0) return { p50: null, p90: null, p99: null, max: null, mean: null };
  let sum = 0;
  for (let i = 0; i < count; i++) sum += a[i];
  const r = (x) => Math.round(x * 1000) / 1000;
  return {
    p50: r(percentile(a, 0.5)),
    p90: r(percentile(a, 0.9)),
    p99: r(percentile(a, 0.99)),
    max: r(a[count - 1]),
    mean: r(sum / count),
  };
}

const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT"]);

/**
 * One paced phase on an existing pool. Resolves when every request has finished or timed out.
 */
function pacedPhase(pool, opts) {
  const { path, method, headers, body, rate, durationSec, timeoutMs } = opts;
  const total = Math.max(1, Math.round(rate * durationSec));
  const interval = 1000 / rate;
  const latency = new Float64Array(total);
  const service = new Float64Array(total);
  const lag = new Float64Array(total);
  let nOk = 0;
  let nLag = 0;
  let non2xx = 0;
  let errors = 0;
  let timeouts = 0;
  let completed = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const statusCounts = {};
  const errorSamples = [];
  let started = 0;

  return new Promise((resolve) => {
    const t0 = performance.now() + 5;
    let finishedScheduling = false;
    let endTimer = null;

    const maybeDone = () => {
      if (finishedScheduling && inFlight === 0) {
        if (endTimer) clearTimeout(endTimer);
        const wall = (performance.now() - t0) / 1000;
        resolve({
          rate,
          durationSec,
          scheduled: total,
          sent: started,
          completed,
          ok: nOk,
          non2xx,
          errors,
          timeouts,
          statusCounts,
          errorSamples,
          maxInFlight,
          wallSec: Math.round(wall * 1000) / 1000,
          latencyMs: summarize(latency, nOk),
          serviceMs: summarize(service, nOk),
          lagMs: summarize(lag, nLag),
        });
      }
    };

    const fire = (scheduledAt) => {
      const startedAt = performance.now();
      lag[nLag++] = startedAt - scheduledAt;
      started++;
      inFlight++;
      if (inFlight > maxInFlight) maxInFlight = inFlight;
      pool
        .request({ path, method, headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
        .then(async (res) => {
          // consume the whole body: latency is to the last byte
          for await (const _ of res.body) {
            /* drain */
          }
          const end = performance.now();
          completed++;
          if (res.statusCode >= 200 && res.statusCode < 300) {
            latency[nOk] = end - scheduledAt;
            service[nOk] = end - startedAt;
            nOk++;
          } else {
            non2xx++;
          }
          statusCounts[res.statusCode] = (statusCounts[res.statusCode] ?? 0) + 1;
        })
        .catch((err) => {
          completed++;
          if (TIMEOUT_CODES.has(err?.code)) timeouts++;
          else errors++;
          if (errorSamples.length < 5) errorSamples.push(`${err?.code ?? ""} ${err?.message ?? err}`.trim());
        })
        .finally(() => {
          inFlight--;
          maybeDone();
        });
    };

    let i = 0;
    const tick = () => {
      const now = performance.now();
      while (i < total) {
        const at = t0 + i * interval;
        if (at > now) break;
        fire(at);
        i++;
      }
      if (i < total) {
        setTimeout(tick, Math.max(0, t0 + i * interval - performance.now()));
      } else {
        finishedScheduling = true;
        // bounded: never wait more than the per-request timeout past the last start
        endTimer = setTimeout(() => {
          inFlight = 0;
          timeouts += started - completed;
          maybeDone();
        }, timeoutMs + 2000);
        maybeDone();
      }
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
}

/**
 * Paced open-loop run: optional warm-up phase (results discarded) then the measured phase, on the
 * same keep-alive pool.
 */
export async function runPaced({
  url,
  rate = 500,
  durationSec = 10,
  warmupSec = 0,
  method = "POST",
  headers = {},
  body = DEFAULT_BODY,
  connections = 256,
  timeoutMs = 10_000,
  beforeMeasure = null,
  afterMeasure = null,
}) {
  const u = new URL(url);
  const pool = new Pool(u.origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 60_000,
    connect: { timeout: timeoutMs },
  });
  const hdrs = { "content-type": "application/json", ...headers };
  const phase = { path: u.pathname + u.search, method, headers: hdrs, body, rate, timeoutMs };
  try {
    let warmup = null;
    if (warmupSec > 0) {
      const w = await pacedPhase(pool, { ...phase, durationSec: warmupSec });
      warmup = { ok: w.ok, non2xx: w.non2xx, errors: w.errors, timeouts: w.timeouts };
    }
    if (beforeMeasure) await beforeMeasure();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const result = await pacedPhase(pool, { ...phase, durationSec });
    const cpu = process.cpuUsage(cpu0);
    const wall = (performance.now() - t0) / 1000;
    if (afterMeasure) await afterMeasure(result);
    result.generatorCores = Math.round(((cpu.user + cpu.system) / 1e6 / wall) * 1000) / 1000;
    result.warmup = warmup;
    return result;
  } finally {
    // destroy, not close: close() would wait for requests still queued after a forced end
    await pool.destroy().catch(() => {});
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      url: { type: "string", default: "http://127.0.0.1:9101/v1/chat/completions" },
      rate: { type: "string", default: "500" },
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "0" },
      method: { type: "string", default: "POST" },
      body: { type: "string", default: DEFAULT_BODY },
      header: { type: "string", multiple: true, default: [] },
      connections: { type: "string", default: "256" },
      "timeout-ms": { type: "string", default: "10000" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "usage: node bench/paced.mjs --url URL [--rate 500] [--duration 10] [--warmup 0] [--body JSON]\n" +
        '         [--header "name: value"]... [--connections 256] [--timeout-ms 10000] [--json]',
    );
    return;
  }
  const headers = {};
  for (const h of values.header) {
    const c = h.indexOf(":");
    if (c < 1) throw new Error(`bad --header ${h}`);
    headers[h.slice(0, c).trim().toLowerCase()] = h.slice(c + 1).trim();
  }
  const num = (k) => {
    const n = Number(values[k]);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${k} must be a number >= 0`);
    return n;
  };
  const rate = num("rate");
  const durationSec = num("duration");
  if (rate <= 0 || rate > 20_000) throw new Error("--rate must be in (0, 20000]");
  if (durationSec <= 0 || durationSec > 600) throw new Error("--duration must be in (0, 600] seconds");
  const r = await runPaced({
    url: values.url,
    rate,
    durationSec,
    warmupSec: Math.min(num("warmup"), 120),
    method: values.method,
    headers,
    body: values.method === "GET" || values.method === "HEAD" ? undefined : values.body,
    connections: num("connections"),
    timeoutMs: num("timeout-ms"),
  });
  if (values.json) {
    console.log(JSON.stringify(r, null, 2));
    return;
  }
  const l = r.latencyMs;
  console.log(`paced ${rate} req/s for ${durationSec} s -> ${values.url}`);
  console.log(
    `  sent ${r.sent}, ok ${r.ok}, non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts}, max in flight ${r.maxInFlight}`,
  );
  console.log(`  latency (from scheduled start) ms: p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  max ${l.max}`);
  console.log(
    `  service (from actual start) ms:    p50 ${r.serviceMs.p50}  p90 ${r.serviceMs.p90}  p99 ${r.serviceMs.p99}`,
  );
  console.log(
    `  generator lag ms: p50 ${r.lagMs.p50}  p99 ${r.lagMs.p99}  max ${r.lagMs.max}; generator cores ${r.generatorCores}`,
  );
  if (r.errorSamples.length) console.log(`  errors: ${r.errorSamples.join(" | ")}`);
  if (r.non2xx || r.errors || r.timeouts) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(`paced: ${e.message}`);
    process.exit(2);
  });
}

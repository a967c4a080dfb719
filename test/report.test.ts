/**
 * The experiment report over fixture traffic: logged requests with chosen
 * latencies, statuses, tokens and costs, feedback and preferences through the
 * API, and exposures; every number in the report asserted exactly (worked by
 * hand in the comments), rows outside the analysis left out.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SKETCH_RELATIVE_ERROR } from "../src/core/sketch.js";
import { newcombeDiff, sampleRatioMismatch, wilson } from "../src/core/stats.js";
import type { LogRow } from "../src/store/request-log.js";
import { runCli } from "./cli-process.js";
import { startGateway, type TestGateway } from "./helpers.js";

let gw: TestGateway;
let report: Record<string, any>;
const ids = { a: [] as string[], b: [] as string[] };

beforeAll(async () => {
  gw = await startGateway({
    auth: { required: false },
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
      ab: {
        route: "chat",
        variants: [
          { variant: "a", weight: 50 },
          { variant: "b", weight: 50 },
        ],
        verdictMinRequests: 5,
        criteria: [
          { metric: "success_rate", op: ">=", value: 0.95 },
          { metric: "p95_latency_ms", op: "<", value: 1000 },
          { metric: "thumbs_up_rate", op: ">=", value: 0.8 },
        ],
      },
    },
  });
  const now = Date.now();
  let n = 0;
  const push = (variant: string, over: Partial<LogRow>, exposure = false) => {
    const id = `req_fixture_${String(n++).padStart(3, "0")}`;
    const row: LogRow = {
      id,
      created_at: now + n,
      tenant: "default",
      key_id: null,
      user_id: `u${n}`,
      session_id: `s${n}`,
      route: "chat",
      experiment: "ab",
      variant,
      backend: "fake",
      upstream_model: "m",
      prompt_version: null,
      stream: 0,
      status: 200,
      error_code: null,
      error_message: null,
      finish_reason: "stop",
      input_tokens: 10,
      output_tokens: 20,
      tokens_estimated: 0,
      cost_usd: 0.001,
      latency_ms: 100,
      ttft_ms: null,
      served_by: 0,
      fallback_used: 0,
      attempts: 1,
      failures: null,
      unit_kind: "user",
      assigned_by: "hash",
      ...over,
    };
    gw.gateway.log.push(
      row,
      null,
      exposure
        ? {
            experiment: "ab",
            tenant: row.tenant,
            unitKind: "user",
            unitId: row.user_id as string,
            variant,
            requestId: id,
            at: row.created_at,
          }
        : null,
    );
    return id;
  };
  // a: latencies 100…1000; the 1000 ms one failed (502, no cost). 6 of its users are first exposures.
  for (let k = 1; k <= 10; k++) {
    const failed = k === 10;
    ids.a.push(
      push(
        "a",
        failed
          ? { latency_ms: 1000, status: 502, error_code: "SY_ERR_UPSTREAM_STATUS", cost_usd: null }
          : { latency_ms: 100 * k },
        k <= 6,
      ),
    );
  }
  // b: latencies 110…1100, all answered, TTFT half the latency; 4 first exposures.
  for (let k = 1; k <= 10; k++) ids.b.push(push("b", { latency_ms: 110 * k, ttft_ms: 55 * k }, k <= 4));
  // Outside the analysis: an override, a client that left, another tenant.
  push("b", { assigned_by: "override", latency_ms: 99_999 });
  push("a", { status: 499, latency_ms: 99_999 });
  push("a", { tenant: "other", latency_ms: 99_999 });
  await gw.gateway.log.flush();

  const feedback = async (request_id: string, kind: string, value: unknown) => {
    const res = await fetch(`${gw.url}/v1/feedback`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ request_id, kind, value }),
    });
    expect(res.status).toBe(201);
  };
  const [a, b] = [ids.a, ids.b] as [string[], string[]];
  for (const [i, v] of ["up", "up", "up", "down"].entries()) await feedback(a[i] as string, "thumbs", v);
  for (const i of [0, 1, 2, 3]) await feedback(b[i] as string, "thumbs", "up");
  await feedback(a[4] as string, "stars", 4);
  await feedback(a[5] as string, "stars", 5);
  await feedback(b[4] as string, "stars", 2);
  await feedback(b[5] as string, "stars", 3);
  // Preferences: b beats a twice, a beats b once, one tie, one both bad (left out).
  await feedback(b[6] as string, "preference", { other_request_id: a[6], pick: "this" });
  await feedback(a[7] as string, "preference", { other_request_id: b[7], pick: "other" });
  await feedback(a[8] as string, "preference", { other_request_id: b[8], pick: "this" });
  await feedback(b[9] as string, "preference", { other_request_id: a[0], pick: "tie" });
  await feedback(b[0] as string, "preference", { other_request_id: a[1], pick: "both_bad" });

  const res = await fetch(`${gw.url}/v1/experiments/ab/report`);
  expect(res.status).toBe(200);
  report = await res.json();
});

afterAll(async () => {
  await gw.shutdown();
});

const variant = (name: string) => report.variants.find((v: any) => v.variant === name);

describe("the experiment report", () => {
  it("counts only hash-assigned requests of the tenant, client cancellations left out", () => {
    expect(variant("a").requests).toBe(10);
    expect(variant("b").requests).toBe(10);
    expect(report).toMatchObject({
      object: "experiment.report",
      experiment: "ab",
      route: "chat",
      control: "a",
      alpha: 0.05,
    });
  });

  it("gives success rates with Wilson intervals and latency from successful answers", () => {
    const w = wilson(9, 10);
    expect(variant("a").successRate).toEqual({ estimate: 0.9, lo: w.lo, hi: w.hi });
    // Means are exact; percentiles come from the latency sketch, within its relative error of the
    // nearest-rank value. a: successful latencies 100…900: mean 4500/9 = 500; p50 = 5th = 500,
    // p95 = p99 = 9th = 900. b: 110…1100: mean 605; p50 = 5th = 550; p95 = ceil(9.5) = 10th = 1100.
    const near = (got: number, want: number) =>
      expect(Math.abs(got - want)).toBeLessThanOrEqual(want * SKETCH_RELATIVE_ERROR);
    const checks: [string, string, number, number, number, number][] = [
      ["a", "latencyMs", 500, 500, 900, 900],
      ["b", "latencyMs", 605, 550, 1100, 1100],
      ["b", "ttftMs", 302.5, 275, 550, 550],
    ];
    for (const [name, metric, mean, p50, p95, p99] of checks) {
      const m = variant(name)[metric];
      expect(m.mean.estimate).toBeCloseTo(mean, 9);
      expect(m.mean.lo).toBeLessThan(mean);
      expect(m.mean.hi).toBeGreaterThan(mean);
      near(m.p50, p50);
      near(m.p95, p95);
      near(m.p99, p99);
    }
    expect(variant("a").ttftMs).toEqual({ mean: null, p50: null, p95: null, p99: null });
    // b's successful latencies 110…1100 counted into the histogram's bins (none within the sketch's
    // 0.5 % of an edge): ≤250: 110, 220; ≤500: 330, 440; ≤1000: 550…990; ≤2500: 1100.
    expect(
      report.latencyHistogram.b.map((bin: { upToMs: number | null; count: number }) => [bin.upToMs, bin.count]),
    ).toEqual([
      [50, 0],
      [100, 0],
      [250, 2],
      [500, 2],
      [1000, 5],
      [2500, 1],
      [5000, 0],
      [10_000, 0],
      [30_000, 0],
      [60_000, 0],
      [null, 0],
    ]);
  });

  it("gives tokens, cost, thumbs, stars and the preference record", () => {
    // Every request said 20 output tokens: no spread, so the interval is the value itself.
    expect(variant("a").tokens).toEqual({ inputMean: 10, outputMean: { estimate: 20, lo: 20, hi: 20 } });
    // The failed request has no cost: 9 × 0.001.
    expect(variant("a").costUsd.total).toBeCloseTo(0.009, 12);
    expect(variant("a").costUsd.perRequest.estimate).toBeCloseTo(0.001, 12);
    expect(variant("a").thumbsUp).toMatchObject({ up: 3, n: 4 });
    expect(variant("a").thumbsUp.rate.estimate).toBe(0.75);
    expect(variant("b").thumbsUp.rate.estimate).toBe(1);
    expect(variant("a").stars.n).toBe(2);
    expect(variant("a").stars.mean.estimate).toBe(4.5);
    expect(variant("b").stars.mean.estimate).toBe(2.5);
    // Win rate (wins + ties / 2) / picks with a Wilson interval: b 2.5 of 4, a 1.5 of 4.
    const b = wilson(2.5, 4);
    expect(variant("b").preference).toEqual({
      wins: 2,
      losses: 1,
      ties: 1,
      winRate: { estimate: 0.625, lo: b.lo, hi: b.hi },
    });
    expect(variant("a").preference.winRate.estimate).toBe(0.375);
    expect(report.leaderboard.map((r: any) => r.item)).toEqual(["b", "a"]);
  });

  it("compares each variant with the control, with fixed and always-valid intervals", () => {
    expect(variant("a").vsControl).toBeNull();
    const vs = variant("b").vsControl;
    const d = newcombeDiff(10, 10, 9, 10);
    expect(vs.successRate.difference).toEqual({ estimate: d.estimate, lo: d.lo, hi: d.hi });
    expect(vs.successRate.sequential.estimate).toBeCloseTo(0.1, 12);
    // The always-valid interval is wider than the fixed one.
    expect(vs.successRate.sequential.hi - vs.successRate.sequential.lo).toBeGreaterThan(d.hi - d.lo);
    expect(vs.meanLatencyMs.difference.estimate).toBeCloseTo(105, 9);
    expect(vs.meanLatencyMs.lift.estimate).toBeCloseTo(0.21, 12);
    // a has no TTFT at all: nothing to compare.
    expect(vs.meanTtftMs).toBeNull();
    expect(vs.meanStars.difference.estimate).toBeCloseTo(-2, 12);
  });

  it("checks the sample ratio on first exposures against the configured split", () => {
    const srm = sampleRatioMismatch([6, 4], [0.5, 0.5]);
    // (6 − 5)²/5 + (4 − 5)²/5 = 0.4 on 1 df.
    expect(report.srm).toMatchObject({
      chiSquare: 0.4,
      degreesOfFreedom: 1,
      mismatch: false,
      observed: { a: 6, b: 4 },
    });
    expect(report.srm.pValue).toBeCloseTo(srm.pValue, 12);
  });

  it("gives the GO / NO-GO verdict criterion by criterion", () => {
    expect(report.verdict.decision).toBe("no_go");
    expect(report.verdict.criteria).toEqual([
      { variant: "b", metric: "success_rate", op: ">=", threshold: 0.95, status: "pass", observed: 1, n: 10 },
      {
        variant: "b",
        metric: "p95_latency_ms",
        op: "<",
        threshold: 1000,
        status: "fail",
        observed: variant("b").latencyMs.p95,
        n: 10,
      },
      // 4 thumbs up of 4: the Wilson interval [0.51, 1] straddles 0.8, so four votes cannot decide yet.
      {
        variant: "b",
        metric: "thumbs_up_rate",
        op: ">=",
        threshold: 0.8,
        status: "pending",
        observed: [wilson(4, 4).lo, 1],
        n: 4,
      },
    ]);
  });

  it("answers bad parameters and unknown experiments precisely", async () => {
    const bad = await fetch(`${gw.url}/v1/experiments/ab/report?alpha=2`);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.param).toBe("alpha");
    const missing = await fetch(`${gw.url}/v1/experiments/nope/report`);
    expect(missing.status).toBe(404);
  });
});

describe("switchyard report", () => {
  it("prints the same report as JSON, Markdown or a standalone HTML page", () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-report-"));
    const config = join(dir, "switchyard.yaml");
    writeFileSync(config, `database: { url: ${gw.dbPath} }\n`);
    const json = runCli(["-c", config, "report", "ab", "--format", "json"], dir);
    expect(json.stderr).toBe("");
    expect(json.status).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.variants).toEqual(report.variants);
    expect(parsed.verdict).toEqual(report.verdict);

    const md = runCli(["-c", config, "report", "ab"], dir);
    expect(md.status).toBe(0);
    expect(md.stdout).toContain("## Verdict: NO-GO");
    expect(md.stdout).toMatch(/\| b \| p95_latency_ms < 1000 \| 1\d\d\d\.\d{4} \| 10 \| fail \|/);
    expect(md.stdout).toContain("| a (control) | 50 % | 10 | 90.0 % [");

    const out = join(dir, "report.html");
    expect(runCli(["-c", config, "report", "ab", "--format", "html", "--out", out], dir).status).toBe(0);
    const html = readFileSync(out, "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain("<h2>Verdict: NO-GO</h2>");
    expect(html).not.toContain("<script");

    const missing = runCli(["-c", config, "report", "nope"], dir);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toContain("no experiment 'nope'");
    const badAlpha = runCli(["-c", config, "report", "ab", "--alpha", "7"], dir);
    expect(badAlpha.status).not.toBe(0);
    expect(badAlpha.stderr).toContain("significance level");
  });
});

describe("hourly rollups", () => {
  it("give the same report as reading every request, feedback changes included", async () => {
    const hours = await startGateway({
      auth: { required: false },
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
        spread: {
          route: "chat",
          variants: [
            { variant: "a", weight: 50 },
            { variant: "b", weight: 50 },
          ],
        },
      },
    });
    try {
      const now = Date.now();
      const ids: string[] = [];
      // 300 requests over the past 30 hours, a few failures and fallbacks, and one in the current hour.
      for (let k = 0; k <= 300; k++) {
        const id = `req_spread_${k}`;
        ids.push(id);
        const variant = k % 3 === 0 ? "a" : "b";
        hours.gateway.log.push({
          id,
          created_at: k === 300 ? now - 1 : now - 30 * 3_600_000 + k * 360_000,
          tenant: "default",
          user_id: `u${k}`,
          route: "chat",
          experiment: "spread",
          variant,
          stream: 0,
          status: k % 17 === 0 ? 502 : 200,
          error_code: k % 17 === 0 ? "SY_ERR_UPSTREAM_STATUS" : null,
          fallback_used: k % 23 === 0 ? 1 : 0,
          input_tokens: 5 + (k % 7),
          output_tokens: 10 + (k % 11),
          cost_usd: 0.0001 * (1 + (k % 5)),
          latency_ms: 50 + ((k * 37) % 1000),
          ttft_ms: k % 4 === 0 ? null : 20 + ((k * 13) % 300),
          unit_kind: "user",
          assigned_by: "hash",
          attempts: 1,
          tokens_estimated: 0,
        });
      }
      // Rows both paths must leave out: an override, a client that left, another tenant, and a
      // fallback answer, which counts but as a failure.
      const past = now - 5 * 3_600_000;
      const extra = (id: string, over: Record<string, unknown>) =>
        hours.gateway.log.push({
          id,
          created_at: past,
          tenant: "default",
          route: "chat",
          experiment: "spread",
          variant: "b",
          stream: 0,
          status: 200,
          latency_ms: 77_777,
          unit_kind: "user",
          assigned_by: "hash",
          attempts: 1,
          tokens_estimated: 0,
          fallback_used: 0,
          ...over,
        });
      extra("req_spread_override", { assigned_by: "override" });
      extra("req_spread_cancelled", { status: 499 });
      extra("req_spread_tenant", { tenant: "other" });
      extra("req_spread_fallback", { fallback_used: 1, latency_ms: 120 });
      await hours.gateway.log.flush();
      const feedback = async (request_id: string, kind: string, value: unknown) => {
        const res = await fetch(`${hours.url}/v1/feedback`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ request_id, kind, value }),
        });
        expect([200, 201]).toContain(res.status);
      };
      for (let k = 0; k < 300; k += 5) await feedback(ids[k] as string, "thumbs", k % 10 === 0 ? "up" : "down");
      for (let k = 1; k < 300; k += 7) await feedback(ids[k] as string, "stars", 1 + (k % 5));
      // Changed minds: the rollups must take the old value out.
      for (let k = 0; k < 100; k += 10) await feedback(ids[k] as string, "thumbs", "down");
      await feedback(ids[1] as string, "stars", 5);

      const { experimentReport } = await import("../src/store/experiment-report.js");
      const { loadExperiment } = await import("../src/store/experiments.js");
      const e = await loadExperiment(hours.gateway.db, "spread");
      const window = { from: now - 31 * 3_600_000, to: now + 1 };
      const fromRollups = await experimentReport(hours.gateway.db, e as NonNullable<typeof e>, "default", window);
      const fromLog = await experimentReport(hours.gateway.db, e as NonNullable<typeof e>, "default", {
        ...window,
        withoutRollups: true,
      });
      const rounded = (x: unknown) =>
        JSON.parse(JSON.stringify(x, (_k, v) => (typeof v === "number" ? Number(v.toPrecision(10)) : v)));
      expect(rounded(fromRollups.variants)).toEqual(rounded(fromLog.variants));
      // 101 a, 200 b plus the fallback answer (a request, not a success); the others are left out.
      expect(fromRollups.variants.map((v) => v.requests)).toEqual([101, 201]);
      expect(fromRollups.variants[1]?.latencyMs.p99).toBeLessThan(77_777);
      const rollupRows = await hours.gateway.db.selectFrom("experiment_rollups").select("hour").execute();
      expect(rollupRows.length).toBeGreaterThan(25);
    } finally {
      await hours.shutdown();
    }
  });
});

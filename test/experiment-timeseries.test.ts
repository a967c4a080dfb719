/**
 * GET /v1/experiments/:name/timeseries over real HTTP: per variant and hour,
 * requests, share, successes, failures and latency p50 / p95, from the hourly
 * rollups for whole hours and from the request log for the partial hours at
 * the window's edges; another tenant's traffic, overrides and client
 * cancellations left out. Every number worked by hand in the comments.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SKETCH_RELATIVE_ERROR } from "../src/core/sketch.js";
import { createKey } from "../src/store/keys.js";
import type { LogRow } from "../src/store/request-log.js";
import { HOUR_MS, hourOf } from "../src/store/rollups.js";
import { startGateway, type TestGateway } from "./helpers.js";

let gw: TestGateway;
let admin: string;
let app: string;
let otherAdmin: string;
const now = Date.now();
const H = hourOf(now);
/** The window starts half-way through hour H-2, so that hour is an edge read from the log. */
const from = H - 2 * HOUR_MS + HOUR_MS / 2;

const get = (path: string, key = admin) => fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${key}` } });

beforeAll(async () => {
  gw = await startGateway({
    auth: { required: true },
    tenants: { acme: { routes: "*" }, other: { routes: "*" } },
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
      },
    },
  });
  const db = gw.gateway.db;
  admin = (await createKey(db, { tenant: "acme", role: "admin" })).key;
  app = (await createKey(db, { tenant: "acme", role: "app" })).key;
  otherAdmin = (await createKey(db, { tenant: "other", role: "admin" })).key;
  await gw.gateway.keys.refresh();
  let n = 0;
  const push = (variant: string, at: number, over: Partial<LogRow> = {}) => {
    n++;
    gw.gateway.log.push(
      {
        id: `req_ts_${String(n).padStart(3, "0")}`,
        created_at: at,
        tenant: "acme",
        key_id: null,
        user_id: `u${n}`,
        session_id: null,
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
      },
      null,
      null,
    );
  };
  const h2 = H - 2 * HOUR_MS;
  const h1 = H - HOUR_MS;
  // Hour H-2 (an edge: only its second half is in the window). Before `from`: left out.
  push("a", h2 + 10 * 60_000, { latency_ms: 99_999 });
  for (const ms of [100, 200, 300]) push("a", h2 + 40 * 60_000, { latency_ms: ms });
  push("b", h2 + 40 * 60_000, { latency_ms: 400 });
  // Hour H-1 (whole, from the rollups): a one answer and one failure, b two answers.
  push("a", h1 + 1000, { latency_ms: 500 });
  push("a", h1 + 2000, { latency_ms: 50, status: 502, error_code: "SY_ERR_UPSTREAM_STATUS", cost_usd: null });
  push("b", h1 + 3000, { latency_ms: 600 });
  push("b", h1 + 4000, { latency_ms: 700 });
  // Outside the analysis: another tenant, an override, a client that left.
  push("a", h1 + 5000, { tenant: "other", latency_ms: 99_999 });
  push("b", h1 + 6000, { assigned_by: "override", latency_ms: 99_999 });
  push("a", h1 + 7000, { status: 499, latency_ms: 99_999 });
  // The current hour (an edge, from the log).
  push("a", H, { latency_ms: 800 });
  for (const ms of [900, 1000, 1100]) push("b", H, { latency_ms: ms });
  await gw.gateway.log.flush();
});

afterAll(async () => {
  await gw.shutdown();
});

const near = (got: number | null, want: number) => {
  expect(got).not.toBeNull();
  expect(Math.abs((got as number) - want)).toBeLessThanOrEqual(want * SKETCH_RELATIVE_ERROR);
};

describe("an experiment's traffic over time", () => {
  it("gives each variant's requests, share, failures and latency per hour", async () => {
    const res = await get(`/v1/experiments/ab/timeseries?from=${from}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({
      object: "experiment.timeseries",
      experiment: "ab",
      tenant: "acme",
      from,
      bucket: "hour",
    });
    expect(body.variants.map((v: any) => v.variant)).toEqual(["a", "b"]);
    const [a, b] = body.variants as { points: any[] }[];
    const hours = [H - 2 * HOUR_MS, H - HOUR_MS, H];
    expect(a?.points.map((p) => p.t)).toEqual(hours);
    expect(b?.points.map((p) => p.t)).toEqual(hours);
    // H-2: a 3 of 4, b 1 of 4. H-1: 2 and 2, one of a's failed. H: 1 and 3.
    const counts = (points: any[]) => points.map((p) => [p.requests, p.share, p.successes, p.failures]);
    expect(counts(a?.points ?? [])).toEqual([
      [3, 0.75, 3, 0],
      [2, 0.5, 1, 1],
      [1, 0.25, 1, 0],
    ]);
    expect(counts(b?.points ?? [])).toEqual([
      [1, 0.25, 1, 0],
      [2, 0.5, 2, 0],
      [3, 0.75, 3, 0],
    ]);
    // Nearest-rank percentiles of the successful answers, within the sketch's relative error.
    // a: H-2 100/200/300 → p50 200, p95 300; H-1 only 500 (the failure is left out); H 800.
    // b: H-2 400; H-1 600/700 → p50 600, p95 700; H 900/1000/1100 → p50 1000, p95 1100.
    const want: [any[] | undefined, [number, number][]][] = [
      [
        a?.points,
        [
          [200, 300],
          [500, 500],
          [800, 800],
        ],
      ],
      [
        b?.points,
        [
          [400, 400],
          [600, 700],
          [1000, 1100],
        ],
      ],
    ];
    for (const [points, pcts] of want) {
      for (const [i, [p50, p95]] of pcts.entries()) {
        near(points?.[i].latencyMs.p50, p50);
        near(points?.[i].latencyMs.p95, p95);
      }
    }
  });

  it("merges hours into days", async () => {
    const body = (await (await get(`/v1/experiments/ab/timeseries?from=${from}&bucket=day`)).json()) as any;
    const days = [...new Set([H - 2 * HOUR_MS, H].map((t) => Math.floor(t / 86_400_000) * 86_400_000))];
    for (const v of body.variants) expect(v.points.map((p: any) => p.t)).toEqual(days);
    const total = (name: string) =>
      body.variants.find((v: any) => v.variant === name).points.reduce((s: number, p: any) => s + p.requests, 0);
    expect([total("a"), total("b")]).toEqual([6, 6]);
  });

  it("shows another tenant only its own traffic", async () => {
    const body = (await (await get(`/v1/experiments/ab/timeseries?from=${from}`, otherAdmin)).json()) as any;
    expect(body.tenant).toBe("other");
    expect(body.variants).toEqual([
      {
        variant: "a",
        points: [{ t: H - HOUR_MS, requests: 1, share: 1, successes: 1, failures: 0, latencyMs: expect.any(Object) }],
      },
    ]);
  });

  it("refuses app keys, unknown experiments and bad windows with a clear error", async () => {
    const forbidden = await get("/v1/experiments/ab/timeseries", app);
    expect(forbidden.status).toBe(403);
    const missing = await get("/v1/experiments/nope/timeseries");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.message).toBe("No experiment 'nope'");
    const bucket = await get("/v1/experiments/ab/timeseries?bucket=week");
    expect(bucket.status).toBe(400);
    expect(((await bucket.json()) as any).error).toMatchObject({
      param: "bucket",
      code: "SY_ERR_REQUEST_INVALID_QUERY",
    });
    const window = await get(`/v1/experiments/ab/timeseries?from=${now}&to=${now - 1}`);
    expect(window.status).toBe(400);
    expect(((await window.json()) as any).error.message).toContain("'to'");
  });
});

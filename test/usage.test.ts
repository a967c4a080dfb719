/** Route usage over time: hourly rollups of all traffic, by hour or by day, with exact counts. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SKETCH_RELATIVE_ERROR } from "../src/core/sketch.js";
import type { LogRow } from "../src/store/request-log.js";
import { startGateway, type TestGateway } from "./helpers.js";

let gw: TestGateway;
const HOUR = 3_600_000;
// Two whole days ago at midnight UTC: the fixture's hours start here.
const day0 = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 2 * 86_400_000;

beforeAll(async () => {
  gw = await startGateway({
    auth: { required: false },
    backends: { fake: { type: "openai", baseUrl: "http://127.0.0.1:9/v1" } },
    routes: {
      chat: { variants: [{ name: "a", backend: "fake", model: "m" }] },
      search: { variants: [{ name: "a", backend: "fake", model: "m" }] },
    },
  });
  let n = 0;
  const push = (route: string, hour: number, over: Partial<LogRow> = {}) =>
    gw.gateway.log.push({
      id: `req_usage_${n++}`,
      created_at: day0 + hour * HOUR + 60_000,
      tenant: "default",
      route,
      stream: 0,
      status: 200,
      latency_ms: 100,
      cost_usd: 0.01,
      input_tokens: 3,
      output_tokens: 7,
      attempts: 1,
      tokens_estimated: 0,
      fallback_used: 0,
      ...over,
    });
  // chat: hour 1 of day 0: 3 answers (100, 200, 300 ms), a 502, a broken stream, a client that left.
  push("chat", 1, { latency_ms: 100 });
  push("chat", 1, { latency_ms: 200 });
  push("chat", 1, { latency_ms: 300 });
  push("chat", 1, { status: 502, error_code: "SY_ERR_UPSTREAM_STATUS", cost_usd: null });
  push("chat", 1, { status: 200, error_code: "SY_ERR_UPSTREAM_STREAM_BROKEN" });
  push("chat", 1, { status: 499 });
  // chat: hour 30 (day 1): 2 answers; search: hour 2: 1 answer; another tenant: not counted.
  push("chat", 30, { latency_ms: 400 });
  push("chat", 30, { latency_ms: 600 });
  push("search", 2, { latency_ms: 50 });
  push("chat", 1, { tenant: "other" });
  await gw.gateway.log.flush();
});

afterAll(async () => {
  await gw.shutdown();
});

async function usage(query: string) {
  const res = await fetch(`${gw.url}/v1/admin/usage?${query}`);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe("GET /v1/admin/usage", () => {
  it("gives each route's traffic by hour", async () => {
    const { status, body } = await usage(`from=${day0}&to=${day0 + 3 * 86_400_000}`);
    expect(status).toBe(200);
    expect(body.routes.map((r: any) => r.route)).toEqual(["chat", "search"]);
    const chat = body.routes[0].points;
    expect(chat.map((p: any) => p.t)).toEqual([day0 + HOUR, day0 + 30 * HOUR]);
    expect(chat[0]).toMatchObject({ requests: 6, errors: 2, cancelled: 1, inputTokens: 18, outputTokens: 42 });
    expect(chat[0].costUsd).toBeCloseTo(0.05, 12);
    // Latency over the three successful answers: mean 200; p50 the 2nd = 200, p95 the 3rd = 300 (sketch, ±0.5 %).
    expect(chat[0].latencyMs.mean).toBe(200);
    expect(Math.abs(chat[0].latencyMs.p50 - 200)).toBeLessThanOrEqual(200 * SKETCH_RELATIVE_ERROR);
    expect(Math.abs(chat[0].latencyMs.p95 - 300)).toBeLessThanOrEqual(300 * SKETCH_RELATIVE_ERROR);
  });

  it("merges hours into UTC days, and filters by route", async () => {
    const { body } = await usage(`from=${day0}&to=${day0 + 3 * 86_400_000}&bucket=day&route=chat`);
    expect(body.routes).toHaveLength(1);
    expect(body.routes[0].points.map((p: any) => [p.t, p.requests, p.latencyMs.mean])).toEqual([
      [day0, 6, 200],
      [day0 + 86_400_000, 2, 500],
    ]);
  });

  it("answers bad parameters precisely", async () => {
    expect((await usage("bucket=week")).body.error.param).toBe("bucket");
    expect((await usage(`from=${day0}&to=${day0 - 1}`)).body.error.param).toBe("to");
    expect((await usage("from=yesterday")).body.error.param).toBe("from");
  });
});

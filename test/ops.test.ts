/** Health, readiness, metrics and the admin backend view, as an operator sees them. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKey } from "../src/store/keys.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { startGateway, type TestGateway } from "./helpers.js";

let upstream: FakeOpenAI;
let gw: TestGateway;
let admin: string;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  gw = await startGateway({
    backends: {
      fake: {
        type: "openai",
        baseUrl: upstream.url,
        breaker: { failureThreshold: 1, cooldownMs: 60_000 },
        retry: { maxRetries: 0 },
      },
    },
    routes: { chat: { variants: [{ name: "a", backend: "fake", model: "fake-model" }] } },
    tenants: { ops: { routes: "*" } },
  });
  admin = (await createKey(gw.gateway.db, { tenant: "ops", role: "admin" })).key;
  await gw.gateway.keys.refresh();
});

afterAll(async () => {
  await gw.shutdown();
  await upstream.close();
});

const chat = (stream = false) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${admin}` },
    body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }], stream }),
  });

describe("operations endpoints", () => {
  it("healthz answers without a key", async () => {
    const res = await fetch(`${gw.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("metrics count requests and latency by route, variant and backend", async () => {
    expect((await chat()).status).toBe(200);
    const s = await chat(true);
    await s.text();
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).toMatch(/switchyard_requests_total\{route="chat",variant="a",backend="fake",status="200"\} 2/);
    expect(text).toMatch(/switchyard_request_duration_seconds_count\{route="chat",variant="a",backend="fake"\} 2/);
    expect(text).toMatch(/switchyard_time_to_first_token_seconds_count\{route="chat",variant="a",backend="fake"\} 1/);
    expect(text).toMatch(/switchyard_breaker_state\{backend="fake"\} 0/);
    expect(text).toMatch(/switchyard_log_queue_depth \d+/);
  });

  it("readyz is 200 while a backend is usable, 503 once every breaker is open", async () => {
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", checks: { store: "ok", backends: "1/1 available" } });

    upstream.script.push({ kind: "status", status: 503 });
    expect((await chat()).status).toBe(502);
    const admin503 = await fetch(`${gw.url}/v1/admin/backends`, { headers: { authorization: `Bearer ${admin}` } });
    expect(await admin503.json()).toEqual({
      object: "list",
      data: [{ name: "fake", kind: "openai", breaker: "open", in_flight: 0, max_concurrency: 64 }],
    });
    const notReady = await fetch(`${gw.url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toMatchObject({ status: "not ready", checks: { backends: "0/1 available" } });
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).toMatch(/switchyard_breaker_state\{backend="fake"\} 2/);
    expect(text).toMatch(/switchyard_upstream_errors_total\{backend="fake",code="SY_ERR_UPSTREAM_STATUS"\} 1/);
  });
});

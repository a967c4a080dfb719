/** What clients see when a drain's grace period runs out, and when they call during a drain. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { rowsAfterShutdown, startGateway } from "./helpers.js";

let upstream: FakeOpenAI;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  // 20 chunks 100 ms apart: two seconds, far past the 300 ms grace below.
  upstream.fallback = { kind: "ok", chunks: 20, chunkDelayMs: 100 };
});

afterAll(async () => {
  await upstream.close();
});

async function start() {
  return startGateway({
    server: { shutdownGraceMs: 300 },
    auth: { required: false },
    backends: { fake: { type: "openai", baseUrl: upstream.url } },
    routes: { chat: { variants: [{ name: "a", backend: "fake", model: "fake-model" }] } },
  });
}

function call(url: string, stream: boolean) {
  return fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }], stream }),
  });
}

describe("drain", () => {
  it("refuses new calls in OpenAI's shape while draining, and says so on /readyz but not /healthz", async () => {
    const gw = await start();
    try {
      gw.gateway.stopAccepting();
      const refused = await call(gw.url, false);
      expect(refused.status).toBe(503);
      expect(refused.headers.get("connection")).toBe("close");
      expect(await refused.json()).toEqual({
        error: {
          message: "Switchyard is shutting down; retry on another replica",
          type: "overloaded_error",
          code: "SY_ERR_SERVER_SHUTTING_DOWN",
          param: null,
        },
      });
      const ready = await fetch(`${gw.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: "not ready", checks: { server: "draining" } });
      expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    } finally {
      await gw.shutdown();
    }
  });

  it("ends a stream still running when the grace period is over with an error event, and logs it", async () => {
    const gw = await start();
    const running = await call(gw.url, true);
    const id = running.headers.get("x-switchyard-request-id");
    const body = running.text();
    await gw.shutdown();
    const text = await body;
    expect(text).toContain('"code":"SY_ERR_SERVER_SHUTTING_DOWN"');
    expect(text).not.toContain("[DONE]");
    const row = (await rowsAfterShutdown(gw.dbPath)).find((r) => r.id === id);
    expect(row).toMatchObject({ status: 200, error_code: "SY_ERR_SERVER_SHUTTING_DOWN" });
  });
});

/**
 * The circuit breaker and the concurrency limit, seen from outside: which
 * requests reach which upstream, what the client and the log are told, and what
 * the admin API and /metrics show. Plus the error shape and the upstream key.
 */
import { describe, expect, it } from "vitest";
import { eventually } from "./helpers.js";
import {
  ask,
  askStream,
  expectOpenAIError,
  failuresOf,
  type Harness,
  post,
  rowFor,
  SECRET,
  setup,
  sleep,
  sseData,
} from "./resilience-harness.js";

async function breakerOf(h: Harness, backend: string): Promise<string> {
  const res = await fetch(`${h.gw.url}/v1/admin/backends`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { data: { name: string; breaker: string }[] };
  return body.data.find((b) => b.name === backend)?.breaker ?? "missing";
}

async function inFlight(h: Harness, backend: string): Promise<number> {
  const body = (await (await fetch(`${h.gw.url}/v1/admin/backends`)).json()) as {
    data: { name: string; in_flight: number }[];
  };
  return body.data.find((b) => b.name === backend)?.in_flight ?? Number.NaN;
}

async function breakerMetric(h: Harness, backend: string): Promise<number> {
  const text = await (await fetch(`${h.gw.url}/metrics`)).text();
  const m = new RegExp(`^switchyard_breaker_state\\{backend="${backend}"\\} (\\d+)$`, "m").exec(text);
  return Number(m?.[1] ?? Number.NaN);
}

describe("circuit breaker", () => {
  it("opens after failureThreshold consecutive failures, skips the upstream, and closes after a good probe", async () => {
    const h = await setup({
      primary: { retry: { maxRetries: 0 }, breaker: { failureThreshold: 2, cooldownMs: 800 } },
    });
    h.primary.fallback = { kind: "status", status: 500 };
    expect(await breakerOf(h, "primary")).toBe("closed");
    expect(await breakerMetric(h, "primary")).toBe(0);

    // Two failures in a row: each is answered by the fallback, and the breaker opens.
    for (let i = 0; i < 2; i++) expect((await post(h)).status).toBe(200);
    expect(h.primary.requests).toHaveLength(2);
    expect(await breakerOf(h, "primary")).toBe("open");
    expect(await breakerMetric(h, "primary")).toBe(2);

    // While open, requests do not reach the upstream at all; the fallback serves.
    h.primary.fallback = { kind: "ok" };
    const skipped = await post(h);
    expect(skipped.status).toBe(200);
    expect(skipped.headers.get("x-switchyard-backend")).toBe("backup");
    expect(h.primary.requests).toHaveLength(2);
    const row = await rowFor(h, skipped.requestId);
    expect(row).toMatchObject({ status: 200, fallback_used: 1, served_by: 1 });
    expect(failuresOf(row)).toEqual([
      expect.objectContaining({ backend: "primary", code: "SY_ERR_BACKEND_BREAKER_OPEN" }),
    ]);

    // After the cooldown, one probe reaches the upstream; it succeeds and the breaker closes.
    await sleep(850);
    const probe = await post(h);
    expect(probe.status).toBe(200);
    expect(probe.headers.get("x-switchyard-backend")).toBe("primary");
    expect(h.primary.requests).toHaveLength(3);
    expect(await breakerOf(h, "primary")).toBe("closed");
    expect(await breakerMetric(h, "primary")).toBe(0);
    expect(await rowFor(h, probe.requestId)).toMatchObject({ status: 200, fallback_used: 0, served_by: 0 });
    // Closed again: the next request goes to the variant as usual.
    expect((await post(h)).headers.get("x-switchyard-backend")).toBe("primary");
    expect(h.primary.requests).toHaveLength(4);
  });

  it("answers 503 SY_ERR_BACKEND_BREAKER_OPEN without a fallback, and reopens after a failed probe", async () => {
    const h = await setup({
      // Long enough that the checks below finish inside it even on a busy machine.
      primary: { retry: { maxRetries: 0 }, breaker: { failureThreshold: 2, cooldownMs: 4000 } },
      withFallback: false,
    });
    h.primary.fallback = { kind: "status", status: 500 };
    for (let i = 0; i < 2; i++) expect((await post(h)).status).toBe(502);
    const refused = await post(h);
    expect(refused.status).toBe(503);
    expect(expectOpenAIError(JSON.parse(refused.text), "SY_ERR_BACKEND_BREAKER_OPEN").type).toBe("overloaded_error");
    expect(h.primary.requests).toHaveLength(2);
    expect(await rowFor(h, refused.requestId)).toMatchObject({
      status: 503,
      error_code: "SY_ERR_BACKEND_BREAKER_OPEN",
    });
    // A streaming request is refused the same way, before any SSE.
    const refusedStream = await post(h, askStream);
    expect(refusedStream.status).toBe(503);
    expectOpenAIError(JSON.parse(refusedStream.text), "SY_ERR_BACKEND_BREAKER_OPEN");

    // The probe after the cooldown reaches the upstream, fails, and the breaker opens again.
    await sleep(4050);
    expect((await post(h)).status).toBe(502);
    expect(h.primary.requests).toHaveLength(3);
    expect(await breakerOf(h, "primary")).toBe("open");
    expect(await breakerMetric(h, "primary")).toBe(2);
    expect((await post(h)).status).toBe(503);
    expect(h.primary.requests).toHaveLength(3);
  });

  it("counts every failed attempt, retries included, but never a request the upstream rejected as bad", async () => {
    const h = await setup({
      primary: { retry: { maxRetries: 1 }, breaker: { failureThreshold: 2, cooldownMs: 10_000 } },
      withFallback: false,
    });
    // 400s are the request's fault, not the backend's: however many, the breaker stays closed.
    h.primary.fallback = { kind: "status", status: 400, body: { error: { message: "bad request" } } };
    for (let i = 0; i < 4; i++) expect((await post(h)).status).toBe(400);
    expect(await breakerOf(h, "primary")).toBe("closed");
    expect(h.primary.requests).toHaveLength(4);
    // One request whose try and retry both fail is two consecutive failures.
    h.primary.fallback = { kind: "status", status: 500 };
    expect((await post(h)).status).toBe(502);
    expect(h.primary.requests).toHaveLength(6);
    expect(await breakerOf(h, "primary")).toBe("open");
  });

  it("reports the upstream's failure, not the breaker, when a request's own retries opened it", async () => {
    const h = await setup({
      primary: { retry: { maxRetries: 3 }, breaker: { failureThreshold: 2, cooldownMs: 10_000 } },
      withFallback: false,
    });
    h.primary.fallback = { kind: "status", status: 500, body: { error: { message: "kaput" } } };
    const res = await post(h);
    // Two failures opened the breaker, so the third try never went out ...
    expect(h.primary.requests).toHaveLength(2);
    expect(await breakerOf(h, "primary")).toBe("open");
    // ... but what failed this request was the upstream's 500, and that is what it is told.
    expect(res.status).toBe(502);
    expect(expectOpenAIError(JSON.parse(res.text), "SY_ERR_UPSTREAM_STATUS").message).toContain("kaput");
    const row = await rowFor(h, res.requestId);
    expect(failuresOf(row)).toEqual([expect.objectContaining({ backend: "primary", code: "SY_ERR_UPSTREAM_STATUS" })]);
    // The next request is refused by the open breaker.
    const refused = await post(h);
    expect(refused.status).toBe(503);
    expectOpenAIError(JSON.parse(refused.text), "SY_ERR_BACKEND_BREAKER_OPEN");
  });
});

describe("concurrency limit", () => {
  it("answers 503 SY_ERR_BACKEND_SATURATED to a request over maxConcurrency when there is no fallback", async () => {
    const h = await setup({
      primary: { maxConcurrency: 1, timeouts: { firstByteMs: 10_000 }, breaker: { failureThreshold: 1 } },
      withFallback: false,
    });
    // The first request holds the only slot until its client gives up on it.
    h.primary.script.push({ kind: "hang" });
    const abort = new AbortController();
    const first = fetch(`${h.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(ask),
      signal: abort.signal,
    }).catch((e: unknown) => e);
    await eventually(() => expect(h.primary.requests).toHaveLength(1));
    const second = await post(h);
    expect(second.status).toBe(503);
    const err = expectOpenAIError(JSON.parse(second.text), "SY_ERR_BACKEND_SATURATED");
    expect(err.type).toBe("overloaded_error");
    expect(err.message).toContain("concurrency limit of 1");
    // The refused request never reached the upstream.
    expect(h.primary.requests).toHaveLength(1);
    expect(await rowFor(h, second.requestId)).toMatchObject({ status: 503, error_code: "SY_ERR_BACKEND_SATURATED" });
    // Being busy is not a fault: even with a threshold of 1 the breaker stayed closed.
    expect(await breakerOf(h, "primary")).toBe("closed");

    // Once the first call is over, its slot serves the next request.
    abort.abort();
    await first;
    await eventually(async () => expect(await inFlight(h, "primary")).toBe(0));
    expect((await post(h)).status).toBe(200);
    expect(h.primary.requests).toHaveLength(2);
  });

  it("sends a request over maxConcurrency to the fallback, and holds the slot until a stream ends", async () => {
    const h = await setup({ primary: { maxConcurrency: 1 } });
    // 40 chunks 50 ms apart: the stream holds the only slot for about two seconds after its first byte.
    h.primary.script.push({ kind: "ok", content: Array(40).fill("x").join(" "), chunkDelayMs: 50 });
    const res = await fetch(`${h.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(askStream),
    });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let streamed = decoder.decode((await reader.read()).value, { stream: true });

    // The stream has started and still holds the slot: the next request goes to the fallback.
    const second = await post(h, ask);
    expect(second.status).toBe(200);
    expect(second.headers.get("x-switchyard-backend")).toBe("backup");
    const row = await rowFor(h, second.requestId);
    expect(row).toMatchObject({ status: 200, fallback_used: 1, served_by: 1 });
    expect(failuresOf(row)).toEqual([
      expect.objectContaining({ backend: "primary", code: "SY_ERR_BACKEND_SATURATED" }),
    ]);

    for (let r = await reader.read(); !r.done; r = await reader.read())
      streamed += decoder.decode(r.value, { stream: true });
    expect(sseData(streamed).at(-1)).toBe("[DONE]");
    // The stream is over, so the slot is free again.
    await eventually(async () => expect(await inFlight(h, "primary")).toBe(0));
    const third = await post(h, ask);
    expect(third.headers.get("x-switchyard-backend")).toBe("primary");
    expect(h.primary.requests).toHaveLength(2);
  });
});

describe("error shape and the upstream key", () => {
  it("never shows the upstream key, even when the upstream quotes it back", async () => {
    const h = await setup({ primary: { retry: { maxRetries: 0 } }, withFallback: false });
    const quoting = { error: { message: `Incorrect API key provided: ${SECRET}.` } };

    h.primary.script.push({ kind: "status", status: 400, body: quoting });
    const rejected = await post(h);
    expect(rejected.status).toBe(400);
    expect(expectOpenAIError(JSON.parse(rejected.text), "SY_ERR_UPSTREAM_REJECTED").message).toContain(
      "Incorrect API key provided",
    );

    h.primary.script.push({ kind: "status", status: 500, body: quoting });
    const failed = await post(h);
    expect(failed.status).toBe(502);
    expectOpenAIError(JSON.parse(failed.text), "SY_ERR_UPSTREAM_STATUS");

    h.primary.script.push({ kind: "status", status: 401, body: quoting });
    const refused = await post(h);
    expect(refused.status).toBe(502);
    expect(expectOpenAIError(JSON.parse(refused.text), "SY_ERR_UPSTREAM_AUTH").message).toContain("apiKey");

    // An error event as the very first stream event: nothing was sent yet, so it is a status.
    h.primary.script.push({ kind: "error-mid-stream", after: 0, message: `bad key ${SECRET}` });
    const early = await post(h, askStream);
    expect(early.status).toBe(502);
    expectOpenAIError(JSON.parse(early.text), "SY_ERR_UPSTREAM_STREAM_BROKEN");

    for (const a of [rejected, failed, refused, early]) {
      expect(a.text).not.toContain(SECRET);
      const row = await rowFor(h, a.requestId);
      expect(row.error_message ?? "").not.toContain(SECRET);
      expect(row.error_message).toBeTruthy();
    }
  });

  it("answers gateway-side failures in OpenAI's shape too", async () => {
    const h = await setup({ withFallback: false });
    const unknown = await post(h, { ...ask, model: "no-such-route" });
    expect(unknown.status).toBe(404);
    expectOpenAIError(JSON.parse(unknown.text), "SY_ERR_ROUTE_UNKNOWN");
    const bad = await post(h, { model: "chat", messages: "hello" });
    expect(bad.status).toBe(400);
    expectOpenAIError(JSON.parse(bad.text), "SY_ERR_REQUEST_INVALID_BODY");
  });
});

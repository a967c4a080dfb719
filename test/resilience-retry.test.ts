/**
 * Retries, timeouts and the fallback chain, over real HTTP: what the client
 * receives, what the upstreams saw, and what the request log says happened.
 */
import { describe, expect, it } from "vitest";
import {
  ask,
  askStream,
  expectOpenAIError,
  failuresOf,
  post,
  rowFor,
  SECRET,
  setup,
  sseData,
} from "./resilience-harness.js";

describe("retries", () => {
  it("retries an upstream 500 and answers 200 from the second attempt", async () => {
    const h = await setup({ primary: { retry: { maxRetries: 2 } } });
    h.primary.script.push({ kind: "status", status: 500 });
    const res = await post(h);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text).choices[0].message.content).toBe("Hello from the fake upstream");
    expect(h.primary.requests).toHaveLength(2);
    expect(h.backup.requests).toHaveLength(0);
    const row = await rowFor(h, res.requestId);
    expect(row).toMatchObject({ status: 200, attempts: 2, served_by: 0, fallback_used: 0, backend: "primary" });
    expect(row.error_code).toBeNull();
    // A failure the retry fixed is not a failed target of the chain.
    expect(row.failures).toBeNull();
  });

  it("gives up after maxRetries and answers 502 in OpenAI's shape when nothing else can serve", async () => {
    const h = await setup({ primary: { retry: { maxRetries: 2 } }, withFallback: false });
    h.primary.fallback = { kind: "status", status: 503, body: { error: { message: "model is overloaded" } } };
    const res = await post(h);
    expect(res.status).toBe(502);
    const err = expectOpenAIError(JSON.parse(res.text), "SY_ERR_UPSTREAM_STATUS");
    expect(err.type).toBe("api_error");
    expect(err.message).toContain("HTTP 503");
    expect(err.message).toContain("model is overloaded");
    expect(h.primary.requests).toHaveLength(3); // the first try and two retries
    const row = await rowFor(h, res.requestId);
    expect(row).toMatchObject({ status: 502, error_code: "SY_ERR_UPSTREAM_STATUS" });
    expect(failuresOf(row)).toEqual([expect.objectContaining({ backend: "primary", code: "SY_ERR_UPSTREAM_STATUS" })]);
  });

  it("waits for the upstream's retry-after before retrying a 429", async () => {
    const h = await setup({ primary: { retry: { maxRetries: 1, baseDelayMs: 5, maxDelayMs: 5000 } } });
    h.primary.script.push({ kind: "status", status: 429, headers: { "retry-after": "1" } });
    const res = await post(h);
    expect(res.status).toBe(200);
    expect(h.primary.requests).toHaveLength(2);
    const [first, second] = h.primary.requests;
    // A lower bound: the retry did wait about the second the upstream asked for
    // (the base delay alone would have been a few milliseconds).
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(900);
    expect(await rowFor(h, res.requestId)).toMatchObject({ status: 200, attempts: 2 });
  });

  it("caps a retry-after longer than maxDelayMs at maxDelayMs", async () => {
    const h = await setup({ primary: { retry: { maxRetries: 1, baseDelayMs: 5, maxDelayMs: 200 } } });
    h.primary.script.push({ kind: "status", status: 429, headers: { "retry-after": "30" } });
    const res = await post(h);
    expect(res.status).toBe(200);
    const [first, second] = h.primary.requests;
    const gap = (second?.at ?? 0) - (first?.at ?? 0);
    // It waited the cap (not the 5 ms base delay) ...
    expect(gap).toBeGreaterThanOrEqual(190);
    // ... and not the 30 s the upstream asked for (a bound far from any timing noise).
    expect(gap).toBeLessThan(15_000);
  });

  it("does not retry or fall back on a 400 the upstream blamed on the request", async () => {
    const h = await setup({ primary: { retry: { maxRetries: 3 } } });
    h.primary.script.push({
      kind: "status",
      status: 400,
      body: { error: { message: "max_tokens is too large for this model", type: "invalid_request_error" } },
    });
    const res = await post(h);
    expect(res.status).toBe(400);
    const err = expectOpenAIError(JSON.parse(res.text), "SY_ERR_UPSTREAM_REJECTED");
    expect(err.type).toBe("invalid_request_error");
    expect(err.message).toContain("max_tokens is too large for this model");
    expect(h.primary.requests).toHaveLength(1);
    expect(h.backup.requests).toHaveLength(0);
    const row = await rowFor(h, res.requestId);
    expect(row).toMatchObject({ status: 400, error_code: "SY_ERR_UPSTREAM_REJECTED", fallback_used: 0 });
    expect(failuresOf(row).map((f) => f.backend)).toEqual(["primary"]);
  });

  it("answers 429 in OpenAI's shape when the upstream keeps rate limiting and nothing else can serve", async () => {
    const h = await setup({ primary: { retry: { maxRetries: 1 } }, withFallback: false });
    h.primary.fallback = { kind: "status", status: 429 };
    const res = await post(h);
    expect(res.status).toBe(429);
    expect(expectOpenAIError(JSON.parse(res.text), "SY_ERR_UPSTREAM_RATE_LIMITED").type).toBe("rate_limit_error");
    expect(h.primary.requests).toHaveLength(2);
  });
});

describe("timeouts", () => {
  it("falls back to the next backend when the variant's upstream hangs past the first-byte timeout", async () => {
    const h = await setup({ primary: { timeouts: { firstByteMs: 300 }, retry: { maxRetries: 1 } } });
    h.primary.fallback = { kind: "hang" };
    const res = await post(h);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-backend")).toBe("backup");
    expect(JSON.parse(res.text).model).toBe("fake-large");
    expect(h.primary.requests).toHaveLength(2); // the hang was retried once, then given up on
    expect(h.backup.requests).toHaveLength(1);
    expect(h.backup.requests[0]?.body.model).toBe("fake-large");
    const row = await rowFor(h, res.requestId);
    expect(row).toMatchObject({
      status: 200,
      fallback_used: 1,
      served_by: 1,
      backend: "backup",
      upstream_model: "fake-large",
      attempts: 3, // two calls to primary, one to backup
    });
    const failures = failuresOf(row);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ backend: "primary", model: "fake-model", code: "SY_ERR_UPSTREAM_TIMEOUT" });
    expect(failures[0]?.message).toContain("first byte timeout of 300 ms");
    // The abandoned calls were hung up on, not left open.
    expect(h.primary.requests.every((r) => r.cutAt !== undefined)).toBe(true);
  });

  it("answers 504 in OpenAI's shape when the upstream hangs and there is no fallback", async () => {
    const h = await setup({ primary: { retry: { maxRetries: 0 } }, withFallback: false });
    h.primary.fallback = { kind: "hang" };
    const res = await post(h);
    expect(res.status).toBe(504);
    const err = expectOpenAIError(JSON.parse(res.text), "SY_ERR_UPSTREAM_TIMEOUT");
    expect(err.type).toBe("timeout_error");
    expect(err.message).toContain("first byte");
    const row = await rowFor(h, res.requestId);
    expect(row).toMatchObject({ status: 504, error_code: "SY_ERR_UPSTREAM_TIMEOUT", backend: null });
  });

  it("serves a slow first byte that arrives within the timeout, JSON and streamed", async () => {
    // 100 ms late, under a 1 s first-byte timeout.
    const h = await setup({ primary: { timeouts: { firstByteMs: 1000 } }, withFallback: false });
    h.primary.script.push({ kind: "ok", delayMs: 100 }, { kind: "ok", delayMs: 100 });
    const plain = await post(h);
    expect(plain.status).toBe(200);
    const streamed = await post(h, askStream);
    expect(streamed.status).toBe(200);
    expect(sseData(streamed.text).at(-1)).toBe("[DONE]");
    expect(h.primary.requests).toHaveLength(2); // neither was retried
    expect(await rowFor(h, plain.requestId)).toMatchObject({ status: 200, attempts: 1, error_code: null });
    expect(await rowFor(h, streamed.requestId)).toMatchObject({ status: 200, attempts: 1, error_code: null });
  });

  it("times out a first byte slower than the timeout, JSON and streamed", async () => {
    const h = await setup({
      primary: { timeouts: { firstByteMs: 200 }, retry: { maxRetries: 0 } },
      withFallback: false,
    });
    h.primary.script.push({ kind: "ok", delayMs: 700 }, { kind: "ok", delayMs: 700 });
    const plain = await post(h);
    expect(plain.status).toBe(504);
    expectOpenAIError(JSON.parse(plain.text), "SY_ERR_UPSTREAM_TIMEOUT");
    // A stream that has not started yet fails like a JSON answer: a status, not an event.
    const streamed = await post(h, askStream);
    expect(streamed.status).toBe(504);
    expectOpenAIError(JSON.parse(streamed.text), "SY_ERR_UPSTREAM_TIMEOUT");
  });

  it("ends the total timeout even while a retry is waiting out a long retry-after", async () => {
    const h = await setup({
      primary: { timeouts: { totalMs: 400 }, retry: { maxRetries: 1, maxDelayMs: 60_000 } },
      withFallback: false,
    });
    h.primary.script.push({ kind: "status", status: 429, headers: { "retry-after": "60" } });
    const t0 = Date.now();
    const res = await post(h);
    expect(res.status).toBe(504);
    const err = expectOpenAIError(JSON.parse(res.text), "SY_ERR_UPSTREAM_TIMEOUT");
    expect(err.message).toContain("total timeout of 400 ms");
    // The answer came at the total timeout, not after the minute the upstream asked
    // for (a bound far from any timing noise, not a performance assertion).
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(h.primary.requests).toHaveLength(1);
  });
});

describe("connection failures before the first byte", () => {
  it("retries a connection reset on the same backend", async () => {
    const h = await setup({ primary: { retry: { maxRetries: 1 } } });
    h.primary.script.push({ kind: "reset" });
    const res = await post(h);
    expect(res.status).toBe(200);
    expect(h.primary.requests).toHaveLength(2);
    expect(h.backup.requests).toHaveLength(0);
    expect(await rowFor(h, res.requestId)).toMatchObject({ status: 200, attempts: 2, fallback_used: 0 });
  });

  it("falls back when every attempt is reset, and the log names the unreachable backend", async () => {
    const h = await setup({ primary: { retry: { maxRetries: 1 } } });
    h.primary.fallback = { kind: "reset" };
    const res = await post(h, askStream);
    expect(res.status).toBe(200);
    expect(sseData(res.text).at(-1)).toBe("[DONE]");
    expect(h.primary.requests).toHaveLength(2);
    expect(h.backup.requests).toHaveLength(1);
    const row = await rowFor(h, res.requestId);
    expect(row).toMatchObject({ status: 200, fallback_used: 1, served_by: 1, error_code: null });
    expect(failuresOf(row)).toEqual([
      expect.objectContaining({ backend: "primary", code: "SY_ERR_UPSTREAM_UNREACHABLE" }),
    ]);
  });

  it("treats malformed SSE as the first event as a failure: retried on the same backend", async () => {
    const h = await setup({ primary: { retry: { maxRetries: 1 } } });
    h.primary.script.push({ kind: "malformed-sse" });
    const res = await post(h, askStream);
    expect(res.status).toBe(200);
    const data = sseData(res.text);
    expect(data.at(-1)).toBe("[DONE]");
    // The client saw none of the broken stream's bytes.
    expect(res.text).not.toContain("this is not json");
    expect(h.primary.requests).toHaveLength(2);
    expect(await rowFor(h, res.requestId)).toMatchObject({ status: 200, attempts: 2, fallback_used: 0 });
  });

  it("treats malformed SSE as the first event as a failure: falls back, SY_ERR_UPSTREAM_PROTOCOL in the log", async () => {
    const h = await setup({ primary: { retry: { maxRetries: 1 } } });
    h.primary.fallback = { kind: "malformed-sse" };
    const res = await post(h, askStream);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-backend")).toBe("backup");
    expect(res.text).not.toContain("this is not json");
    expect(h.primary.requests).toHaveLength(2);
    expect(h.backup.requests).toHaveLength(1);
    const row = await rowFor(h, res.requestId);
    expect(row).toMatchObject({ status: 200, fallback_used: 1, served_by: 1 });
    expect(failuresOf(row)).toEqual([
      expect.objectContaining({ backend: "primary", code: "SY_ERR_UPSTREAM_PROTOCOL" }),
    ]);
  });

  it("answers 502 when the variant and every fallback fail, listing each in the log", async () => {
    const h = await setup({ primary: { retry: { maxRetries: 0 } }, backup: { retry: { maxRetries: 0 } } });
    h.primary.fallback = { kind: "reset" };
    h.backup.fallback = { kind: "status", status: 500 };
    const res = await post(h, ask);
    expect(res.status).toBe(502);
    expectOpenAIError(JSON.parse(res.text), "SY_ERR_UPSTREAM_STATUS");
    const row = await rowFor(h, res.requestId);
    expect(row).toMatchObject({ status: 502, error_code: "SY_ERR_UPSTREAM_STATUS", attempts: 2 });
    expect(failuresOf(row).map((f) => [f.backend, f.code])).toEqual([
      ["primary", "SY_ERR_UPSTREAM_UNREACHABLE"],
      ["backup", "SY_ERR_UPSTREAM_STATUS"],
    ]);
    expect(JSON.stringify(row)).not.toContain(SECRET);
  });
});

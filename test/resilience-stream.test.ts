/**
 * Failures after a stream has started: once the client has bytes, nothing is
 * retried or moved to a fallback; the client gets what arrived, then an SSE
 * error event, then the end of the stream. And a client that leaves mid-answer
 * ends the upstream call at once.
 */
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { eventually } from "./helpers.js";
import { askStream, expectOpenAIError, post, rowFor, SECRET, setup, sseData } from "./resilience-harness.js";

const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(" ");

describe("a stream that breaks after the client has bytes", () => {
  it("forwards the chunks that arrived, then an error event, and neither retries nor falls back", async () => {
    const h = await setup({ primary: { retry: { maxRetries: 3 } } });
    h.primary.script.push({ kind: "reset-mid-stream", after: 2 });
    const res = await post(h, askStream);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const data = sseData(res.text);
    // The role chunk and the two content chunks, as the upstream sent them ...
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks.map((c) => c.choices[0].delta.content)).toEqual(["", "part0 ", "part1 "]);
    // ... then one error event in OpenAI's shape, and the stream ends without [DONE].
    const last = JSON.parse(data.at(-1) ?? "{}");
    const err = expectOpenAIError(last, "SY_ERR_UPSTREAM_STREAM_BROKEN");
    expect(err.message).toContain("primary");
    expect(data).not.toContain("[DONE]");
    expect(h.primary.requests).toHaveLength(1);
    expect(h.backup.requests).toHaveLength(0);
    const row = await rowFor(h, res.requestId);
    expect(row).toMatchObject({
      status: 200,
      error_code: "SY_ERR_UPSTREAM_STREAM_BROKEN",
      fallback_used: 0,
      served_by: 0,
      attempts: 1,
      stream: 1,
    });
    expect(row.error_message).toContain("primary");
  });

  it("makes the official openai SDK throw an APIError after the chunks that arrived", async () => {
    const h = await setup();
    h.primary.script.push({ kind: "reset-mid-stream", after: 2 });
    const client = new OpenAI({ baseURL: `${h.gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    const parts: string[] = [];
    const thrown = await (async () => {
      for await (const c of stream) parts.push(c.choices[0]?.delta.content ?? "");
    })().catch((e: unknown) => e);
    expect(parts.join("")).toBe("part0 part1 ");
    expect(thrown).toBeInstanceOf(OpenAI.APIError);
    expect((thrown as InstanceType<typeof OpenAI.APIError>).code).toBe("SY_ERR_UPSTREAM_STREAM_BROKEN");
    expect(h.backup.requests).toHaveLength(0);
  });

  it("passes on an upstream's own mid-stream error event, without the upstream key it quoted", async () => {
    const h = await setup();
    h.primary.script.push({ kind: "error-mid-stream", after: 2, message: `quota exceeded for key ${SECRET}` });
    const res = await post(h, askStream);
    expect(res.status).toBe(200);
    const data = sseData(res.text);
    expect(JSON.parse(data[1] ?? "{}").choices[0].delta.content).toBe("part0 ");
    const err = expectOpenAIError(JSON.parse(data.at(-1) ?? "{}"), "SY_ERR_UPSTREAM_STREAM_BROKEN");
    expect(err.message).toContain("quota exceeded");
    expect(err.message).not.toContain(SECRET);
    expect(h.backup.requests).toHaveLength(0);
    const row = await rowFor(h, res.requestId);
    expect(row).toMatchObject({ status: 200, error_code: "SY_ERR_UPSTREAM_STREAM_BROKEN" });
    expect(row.error_message).toContain("quota exceeded");
  });

  it("ends a stream that trickles past the total timeout with an error event naming the timeout", async () => {
    const h = await setup({ primary: { timeouts: { firstByteMs: 300, totalMs: 500 } } });
    // 100 chunks 20 ms apart: about two seconds, four times the total timeout.
    h.primary.script.push({ kind: "ok", content: words(100), chunkDelayMs: 20 });
    const res = await post(h, askStream);
    expect(res.status).toBe(200);
    const data = sseData(res.text);
    const contents = data.slice(0, -1).map((d) => JSON.parse(d).choices[0].delta.content as string);
    expect(contents.length).toBeGreaterThan(2); // some of the answer reached the client first
    expect(contents.length).toBeLessThan(100);
    const err = expectOpenAIError(JSON.parse(data.at(-1) ?? "{}"), "SY_ERR_UPSTREAM_TIMEOUT");
    expect(err.type).toBe("timeout_error");
    expect(err.message).toContain("total timeout of 500 ms");
    expect(data).not.toContain("[DONE]");
    // The gateway hung up on the upstream rather than letting it trickle on.
    await eventually(() => expect(h.primary.requests[0]?.cutAt).toBeDefined(), 2000);
    expect(h.backup.requests).toHaveLength(0);
    const row = await rowFor(h, res.requestId);
    expect(row).toMatchObject({ status: 200, error_code: "SY_ERR_UPSTREAM_TIMEOUT", fallback_used: 0 });
    expect(row.error_message).toContain("total timeout");
  });
});

describe("a client that disconnects", () => {
  it("mid-stream: the upstream connection is closed promptly and the log row says 499", async () => {
    const h = await setup();
    // 200 chunks 25 ms apart: about five seconds if nobody hung up.
    h.primary.script.push({ kind: "ok", content: words(200), chunkDelayMs: 25 });
    const abort = new AbortController();
    const res = await fetch(`${h.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(askStream),
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    const requestId = res.headers.get("x-switchyard-request-id") ?? "";
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let got = "";
    while (!got.includes('"w2 "')) {
      const { value, done } = await reader.read();
      if (done) break;
      got += decoder.decode(value, { stream: true });
    }
    expect(got).toContain('"w2 "');
    abort.abort();
    // Long before the upstream would have finished on its own.
    await eventually(() => expect(h.primary.requests[0]?.cutAt).toBeDefined(), 2000);
    const row = await rowFor(h, requestId);
    expect(row).toMatchObject({ status: 499, error_code: "SY_ERR_REQUEST_CLIENT_CLOSED", served_by: 0, stream: 1 });
    expect(h.backup.requests).toHaveLength(0);
    // The concurrency slot was given back.
    const admin = await (await fetch(`${h.gw.url}/v1/admin/backends`)).json();
    expect(admin.data.find((b: { name: string }) => b.name === "primary").in_flight).toBe(0);
  });

  it("while a retry waits out a long retry-after: the call ends at once, 499, no further attempt", async () => {
    const h = await setup({ primary: { retry: { maxRetries: 1, maxDelayMs: 60_000 } } });
    h.primary.script.push({ kind: "status", status: 429, headers: { "retry-after": "60" } });
    const abort = new AbortController();
    const pending = fetch(`${h.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(askStream),
      signal: abort.signal,
    }).catch((e: unknown) => e);
    await eventually(() => expect(h.primary.requests).toHaveLength(1));
    abort.abort();
    expect(await pending).toBeInstanceOf(Error);
    // The row is written when the call ends: now, not after the minute's wait.
    const row = await eventually(async () => {
      const [r] = await h.gw.rows();
      if (!r) throw new Error("no row yet");
      return r;
    }, 3000);
    expect(row).toMatchObject({ status: 499, error_code: "SY_ERR_REQUEST_CLIENT_CLOSED" });
    expect(h.primary.requests).toHaveLength(1);
    expect(h.backup.requests).toHaveLength(0);
  });

  it("before the first byte: the pending upstream call is closed and the log row says 499", async () => {
    const h = await setup({ primary: { timeouts: { firstByteMs: 10_000 } } });
    h.primary.fallback = { kind: "hang" };
    const abort = new AbortController();
    const pending = fetch(`${h.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(askStream),
      signal: abort.signal,
    }).catch((e: unknown) => e);
    await eventually(() => expect(h.primary.requests).toHaveLength(1));
    abort.abort();
    expect(await pending).toBeInstanceOf(Error);
    await eventually(() => expect(h.primary.requests[0]?.cutAt).toBeDefined(), 2000);
    const row = await eventually(async () => {
      const [r] = await h.gw.rows();
      if (!r) throw new Error("no row yet");
      return r;
    });
    expect(row).toMatchObject({ status: 499, error_code: "SY_ERR_REQUEST_CLIENT_CLOSED" });
    // A client leaving is not the upstream's fault: no retry, no fallback.
    expect(h.primary.requests).toHaveLength(1);
    expect(h.backup.requests).toHaveLength(0);
  });
});

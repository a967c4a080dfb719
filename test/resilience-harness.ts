/**
 * Shared set-up for the resilience tests: a gateway on loopback in front of two
 * fake upstreams ("primary", the route's variant, and "backup", its fallback),
 * with small timeouts so failures happen in milliseconds. Every body a client
 * sees and every log row are checked for the upstream API key when a test ends.
 */
import { afterEach, expect } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { eventually, type RequestLogTable, startGateway, type TestGateway } from "./helpers.js";

/** The upstream key configured on both backends; it must never reach a client or the log. */
// Not shaped like an sk-… key on purpose: only the configured-secret redaction can hide it.
export const SECRET = "upstream-secret-0123456789abcdef";

export interface Tuning {
  timeouts?: { connectMs?: number; firstByteMs?: number; totalMs?: number };
  retry?: { maxRetries?: number; baseDelayMs?: number; maxDelayMs?: number };
  breaker?: { failureThreshold?: number; cooldownMs?: number };
  maxConcurrency?: number;
}

export interface Harness {
  gw: TestGateway;
  primary: FakeOpenAI;
  backup: FakeOpenAI;
  /** Every response body (JSON or SSE text) a client received in this test. */
  seen: string[];
}

function backendConfig(url: string, t: Tuning = {}) {
  return {
    type: "openai",
    baseUrl: url,
    apiKey: SECRET,
    timeouts: { connectMs: 1000, firstByteMs: 300, totalMs: 5000, ...t.timeouts },
    retry: { maxRetries: 1, baseDelayMs: 5, maxDelayMs: 50, ...t.retry },
    breaker: { failureThreshold: 5, cooldownMs: 300, ...t.breaker },
    maxConcurrency: t.maxConcurrency ?? 8,
  };
}

const running: Harness[] = [];

/**
 * Starts two fakes and a gateway whose route `chat` is served by `primary`
 * (upstream model fake-model), with `backup` (fake-large) as its fallback unless
 * `withFallback` is false.
 */
export async function setup(
  opts: { primary?: Tuning; backup?: Tuning; withFallback?: boolean } = {},
): Promise<Harness> {
  const primary = await startFakeOpenAI();
  const backup = await startFakeOpenAI();
  const gw = await startGateway({
    auth: { required: false },
    backends: { primary: backendConfig(primary.url, opts.primary), backup: backendConfig(backup.url, opts.backup) },
    routes: {
      chat: {
        variants: [{ name: "main", backend: "primary", model: "fake-model" }],
        fallbacks: opts.withFallback === false ? [] : [{ backend: "backup", model: "fake-large" }],
      },
    },
  });
  const h: Harness = { gw, primary, backup, seen: [] };
  running.push(h);
  return h;
}

afterEach(async () => {
  const hs = running.splice(0);
  for (const h of hs) {
    // Whatever went wrong upstream, the key stays out of every answer and every log row.
    for (const body of h.seen) expect(body).not.toContain(SECRET);
    for (const row of await h.gw.rows()) {
      expect(row.error_message ?? "").not.toContain(SECRET);
      expect(row.failures ?? "").not.toContain(SECRET);
    }
  }
  for (const h of hs) {
    await h.gw.shutdown();
    await Promise.all([h.primary.close(), h.backup.close()]);
  }
});

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  requestId: string;
}

export const ask = { model: "chat", messages: [{ role: "user", content: "Say hello" }] };
export const askStream = { ...ask, stream: true };

/** One chat call over raw HTTP, read to the end; the body is kept for the leak check. */
export async function post(h: Harness, body: Record<string, unknown> = ask): Promise<Answer> {
  const res = await fetch(`${h.gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer client-key" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  h.seen.push(text);
  return {
    status: res.status,
    headers: res.headers,
    text,
    requestId: res.headers.get("x-switchyard-request-id") ?? "",
  };
}

/** The `data:` payloads of an SSE body, in order. */
export function sseData(text: string): string[] {
  return text
    .split("\n\n")
    .filter((block) => block.startsWith("data: "))
    .map((block) => block.slice("data: ".length));
}

/** Asserts OpenAI's error shape exactly and returns the error object. */
export function expectOpenAIError(
  payload: unknown,
  code: string,
): { message: string; type: string; code: string; param: string | null } {
  const err = (payload as { error?: Record<string, unknown> }).error;
  expect(err, JSON.stringify(payload)).toBeDefined();
  expect(Object.keys(err ?? {}).sort()).toEqual(["code", "message", "param", "type"]);
  expect(typeof err?.message).toBe("string");
  expect(typeof err?.type).toBe("string");
  expect(err?.param === null || typeof err?.param === "string").toBe(true);
  expect(err?.code).toBe(code);
  return err as { message: string; type: string; code: string; param: string | null };
}

/** The request-log row of one request, once the writer has it. */
export function rowFor(h: Harness, requestId: string): Promise<RequestLogTable> {
  expect(requestId).toMatch(/^req_/);
  return eventually(async () => {
    const row = (await h.gw.rows()).find((r) => r.id === requestId);
    if (!row) throw new Error(`no log row for ${requestId} yet`);
    return row;
  });
}

export interface Failure {
  backend: string;
  model: string;
  code: string;
  message: string;
}

export function failuresOf(row: RequestLogTable): Failure[] {
  return row.failures ? (JSON.parse(row.failures) as Failure[]) : [];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

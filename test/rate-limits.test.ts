/**
 * Per-key rate limits over real HTTP: requests and tokens per minute from the
 * tenant's limits, x-ratelimit-* headers as OpenAI sends them, 429s in OpenAI's
 * shape (Anthropic's on /v1/messages) that the SDKs raise as rate-limit errors,
 * keys counted apart, and one count across replicas on Redis.
 */
import { randomUUID } from "node:crypto";
import Anthropic from "@anthropic-ai/sdk";
import { Redis } from "ioredis";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetText } from "../src/server/rate-limits.js";
import { createKey } from "../src/store/keys.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { startGateway, type TestGateway, tempDbPath } from "./helpers.js";
import { REDIS_URL } from "./redis.js";

let upstream: FakeOpenAI;
let gw: TestGateway;
const keys: Record<string, string> = {};

const tenants = {
  limited: { routes: "*", limits: { requestsPerMinute: 3 } },
  thrifty: { routes: "*", limits: { tokensPerMinute: 20 } },
  free: { routes: "*" },
};

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  gw = await startGateway({
    backends: { fake: { type: "openai", baseUrl: upstream.url } },
    routes: { chat: { variants: [{ name: "a", backend: "fake", model: "fake-model" }] } },
    tenants,
  });
  for (const [name, tenant] of [
    ["a", "limited"],
    ["b", "limited"],
    ["c", "limited"],
    ["t", "thrifty"],
    ["f", "free"],
  ] as const) {
    keys[name] = (await createKey(gw.gateway.db, { tenant, role: "app" })).key;
  }
  await gw.gateway.keys.refresh();
});

afterAll(async () => {
  await gw.shutdown();
  await upstream.close();
});

async function chat(url: string, key: string) {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }] }),
  });
  const h = (n: string) => res.headers.get(n);
  return {
    status: res.status,
    body: await res.json(),
    limit: h("x-ratelimit-limit-requests"),
    remaining: h("x-ratelimit-remaining-requests"),
    reset: h("x-ratelimit-reset-requests"),
    tokensRemaining: h("x-ratelimit-remaining-tokens"),
    retryAfter: h("retry-after"),
  };
}

describe("requests per minute", () => {
  it("counts each key's requests down in the headers, then refuses with a 429 in OpenAI's shape", async () => {
    const answered = [
      await chat(gw.url, keys.a as string),
      await chat(gw.url, keys.a as string),
      await chat(gw.url, keys.a as string),
    ];
    expect(answered.map((r) => [r.status, r.limit, r.remaining])).toEqual([
      [200, "3", "2"],
      [200, "3", "1"],
      [200, "3", "0"],
    ]);
    expect(answered[0]?.reset).toMatch(/^(\d+ms|\d+s|1m0s)$/);
    const refused = await chat(gw.url, keys.a as string);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ type: "rate_limit_error", code: "SY_ERR_LIMIT_REQUESTS" });
    expect(refused.body.error.message).toContain("3 requests per minute");
    expect(refused.remaining).toBe("0");
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    // Another key of the same tenant has its own count, streamed answers carry the headers too,
    // and a tenant without limits gets none.
    expect((await chat(gw.url, keys.b as string)).remaining).toBe("2");
    const streamed = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${keys.b}` },
      body: JSON.stringify({ model: "chat", stream: true, messages: [{ role: "user", content: "hi" }] }),
    });
    await streamed.text();
    expect([streamed.status, streamed.headers.get("x-ratelimit-remaining-requests")]).toEqual([200, "1"]);
    const free = await chat(gw.url, keys.f as string);
    expect([free.status, free.limit]).toEqual([200, null]);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/switchyard_rate_limited_total\{tenant="limited",code="SY_ERR_LIMIT_REQUESTS"\} 1/);
  });

  it("is raised by the openai SDK as a RateLimitError, and by the Anthropic SDK as its own", async () => {
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: keys.c, maxRetries: 0 });
    for (let i = 0; i < 3; i++)
      await openai.chat.completions.create({ model: "chat", messages: [{ role: "user", content: "x" }] });
    const err = await openai.chat.completions
      .create({ model: "chat", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const anthropic = new Anthropic({ baseURL: gw.url, apiKey: keys.c, maxRetries: 0 });
    const aerr = await anthropic.messages
      .create({ model: "chat", max_tokens: 10, messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(aerr).toBeInstanceOf(Anthropic.RateLimitError);
  });
});

describe("tokens per minute", () => {
  it("refuses a key whose answered calls spent its tokens, and says what is left", async () => {
    // Each answer here costs 11 prompt + 5 completion tokens (the fake upstream's usage).
    const first = await chat(gw.url, keys.t as string);
    expect([first.status, first.tokensRemaining]).toEqual([200, "20"]);
    await gw.rows(); // the tokens are counted once the call's log row is built
    const second = await chat(gw.url, keys.t as string);
    expect([second.status, second.tokensRemaining]).toEqual([200, "4"]);
    await gw.rows();
    const third = await chat(gw.url, keys.t as string);
    expect(third.status).toBe(429);
    expect(third.body.error).toMatchObject({ code: "SY_ERR_LIMIT_TOKENS" });
    expect(third.tokensRemaining).toBe("0");
  });
});

describe("limits across replicas on Redis", () => {
  it("counts one key's requests together on every replica", async () => {
    const keyPrefix = `switchyard-test-${randomUUID()}:`;
    const db = tempDbPath();
    const config = {
      redis: { url: REDIS_URL, keyPrefix },
      limits: { store: "redis" },
      backends: { fake: { type: "openai", baseUrl: upstream.url } },
      routes: { chat: { variants: [{ name: "a", backend: "fake", model: "fake-model" }] } },
      tenants: { shared: { routes: "*", limits: { requestsPerMinute: 4 } } },
    };
    const [r1, r2] = [await startGateway(config, db), await startGateway(config, db)];
    const redis = new Redis(REDIS_URL);
    try {
      const key = (await createKey(r1.gateway.db, { tenant: "shared", role: "app" })).key;
      await Promise.all([r1.gateway.keys.refresh(), r2.gateway.keys.refresh()]);
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await chat((i % 2 ? r2 : r1).url, key)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    } finally {
      const written = await redis.keys(`${keyPrefix}*`);
      if (written.length > 0) await redis.del(...written);
      await redis.quit();
      await Promise.all([r1.shutdown(), r2.shutdown()]);
    }
  });
});

describe("resetText", () => {
  it("writes delays as OpenAI's headers do", () => {
    expect([resetText(120), resetText(1000), resetText(59_001), resetText(360_000)]).toEqual([
      "120ms",
      "1s",
      "1m0s",
      "6m0s",
    ]);
  });
});

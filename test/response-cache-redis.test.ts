/**
 * The response cache on Redis, shared by replicas: an answer cached through
 * one replica is a hit on another (same body, no upstream call), tenants stay
 * apart, expiry follows the TTL, and a Redis that is unreachable only turns
 * the cache into misses: every request is still answered.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKey } from "../src/store/keys.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { eventually, startGateway, type TestGateway, tempDbPath } from "./helpers.js";
import { REDIS_URL } from "./redis.js";

let upstream: FakeOpenAI;
let a: TestGateway;
let b: TestGateway;
let redis: Redis;
let acme: string;
let globex: string;
/** Each run writes under its own prefix, so runs (and CI) never read each other's answers. */
const keyPrefix = `switchyard-test-${randomUUID()}:`;

const config = (redisUrl: string) => ({
  redis: { url: redisUrl, keyPrefix, commandTimeoutMs: 500 },
  cache: { store: "redis" },
  backends: { fake: { type: "openai", baseUrl: upstream.url } },
  routes: { faq: { cache: { ttlMs: 60_000 }, variants: [{ name: "a", backend: "fake", model: "fake-model" }] } },
  tenants: { acme: { routes: "*" }, globex: { routes: "*" } },
});

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  const db = tempDbPath();
  a = await startGateway(config(REDIS_URL), db);
  b = await startGateway(config(REDIS_URL), db);
  acme = (await createKey(a.gateway.db, { tenant: "acme", role: "app" })).key;
  globex = (await createKey(a.gateway.db, { tenant: "globex", role: "app" })).key;
  await Promise.all([a.gateway.keys.refresh(), b.gateway.keys.refresh()]);
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  const keys = await redis.keys(`${keyPrefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
  await Promise.all([a.shutdown(), b.shutdown()]);
  await upstream.close();
});

async function ask(gw: TestGateway, content: string, key = acme) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: "faq", temperature: 0, messages: [{ role: "user", content }] }),
  });
  return { status: res.status, cache: res.headers.get("x-switchyard-cache"), text: await res.text() };
}

describe("the response cache shared on Redis", () => {
  it("answers on one replica what another cached, with the same body and no upstream call", async () => {
    upstream.script.push({ kind: "ok", content: "shared answer" });
    const first = await ask(a, "Opening hours?");
    expect(first.cache).toBe("miss");
    // The write is not waited for by the request: wait for it here.
    await eventually(async () => expect((await redis.keys(`${keyPrefix}cache:*`)).length).toBe(1));
    const calls = upstream.requests.length;
    const second = await ask(b, "Opening hours?");
    expect(second.cache).toBe("hit");
    expect(second.text).toBe(first.text);
    expect(upstream.requests.length).toBe(calls);
    const [key] = await redis.keys(`${keyPrefix}cache:*`);
    const ttl = await redis.pttl(key as string);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it("keeps tenants apart across replicas", async () => {
    await ask(a, "Tenant only?");
    await eventually(async () => expect((await redis.keys(`${keyPrefix}cache:*`)).length).toBe(2));
    expect((await ask(b, "Tenant only?", globex)).cache).toBe("miss");
    expect((await ask(b, "Tenant only?", acme)).cache).toBe("hit");
  });

  it("answers every request when Redis cannot be reached, as misses counted in the metrics", async () => {
    // A port nothing listens on: connections are refused at once.
    const down = await startGateway({
      ...config("redis://127.0.0.1:1"),
      tenants: { default: { routes: "*" } },
      auth: { required: false },
    });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await ask(down, "Anyone there?");
        expect(r.status).toBe(200);
        expect(r.cache).toBe("miss");
      }
      const metrics = await (await fetch(`${down.url}/metrics`)).text();
      const failures = Number(/switchyard_cache_store_failures (\d+)/.exec(metrics)?.[1]);
      expect(failures).toBeGreaterThanOrEqual(3);
    } finally {
      await down.shutdown();
    }
  });
});

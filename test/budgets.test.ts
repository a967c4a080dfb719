/**
 * Spend budgets and a key's own limits over real HTTP: a tenant's budget
 * shared by its keys, a key's own budget on top, 429s in OpenAI's shape that
 * the SDK raises once without retrying, the spend kept across a restart and
 * seen by another replica on the same store, a key's own requests per minute
 * set and cleared through the admin API, and the `keys` commands that set them.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { periodEnd, periodStart } from "../src/core/budget-period.js";
import { createKey } from "../src/store/keys.js";
import { runCli } from "./cli-process.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { eventually, startGateway, type TestGateway, tempDbPath } from "./helpers.js";

// 11 prompt tokens and 9 completion tokens at $1 000 per million each: $0.02 a call.
const ANSWER = "one two three four five six seven eight nine";
const CALL_USD = 0.02;

let upstream: FakeOpenAI;

const config = () => ({
  backends: {
    fake: { type: "openai", baseUrl: upstream.url, prices: { "fake-model": { input: 1000, output: 1000 } } },
  },
  routes: { chat: { variants: [{ name: "a", backend: "fake", model: "fake-model" }] } },
  tenants: {
    capped: { routes: "*", budget: { usd: 0.05, period: "day" } },
    limited: { routes: "*", limits: { requestsPerMinute: 3 } },
    free: { routes: "*" },
  },
});

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  upstream.fallback = { kind: "ok", content: ANSWER };
});

afterAll(async () => {
  await upstream.close();
});

async function chat(url: string, key: string) {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }] }),
  });
  const body = (await res.json()) as { error?: { code: string; type: string; message: string } };
  return { status: res.status, body, header: (n: string) => res.headers.get(n) };
}

async function admin(gw: TestGateway, key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${gw.url}/v1/admin/keys${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { message: string } } };
}

describe("a tenant's budget", () => {
  it("is shared by the tenant's keys, refused in OpenAI's shape once spent, and kept across a restart", async () => {
    const dbPath = tempDbPath();
    let gw = await startGateway(config(), dbPath);
    const one = (await createKey(gw.gateway.db, { tenant: "capped", role: "app" })).key;
    const two = (await createKey(gw.gateway.db, { tenant: "capped", role: "app" })).key;
    const other = (await createKey(gw.gateway.db, { tenant: "free", role: "app" })).key;
    await gw.gateway.keys.refresh();
    try {
      // $0.00, $0.02, $0.04 spent before each: all under $0.05.
      expect((await chat(gw.url, one)).status).toBe(200);
      expect((await chat(gw.url, two)).status).toBe(200);
      expect((await chat(gw.url, one)).status).toBe(200);
      for (const key of [one, two]) {
        const refused = await chat(gw.url, key);
        expect(refused.status).toBe(429);
        expect(refused.body.error).toMatchObject({ code: "SY_ERR_LIMIT_BUDGET", type: "insufficient_quota" });
        expect(refused.body.error?.message).toContain("tenant 'capped'");
        expect(refused.body.error?.message).toContain(`$${(3 * CALL_USD).toFixed(4)} of $0.05 this day`);
        expect(refused.body.error?.message).toContain(new Date(periodEnd("day", Date.now())).toISOString());
        expect(refused.header("x-should-retry")).toBe("false");
        expect(Number(refused.header("retry-after"))).toBeGreaterThan(0);
      }
      // Another tenant is not affected.
      expect((await chat(gw.url, other)).status).toBe(200);
      const rows = await gw.rows();
      expect(rows.filter((r) => r.tenant === "capped")).toHaveLength(3);
    } finally {
      await gw.shutdown();
    }

    // A restart reads the day's spend back from the store.
    gw = await startGateway(config(), dbPath);
    try {
      expect((await chat(gw.url, one)).status).toBe(429);
    } finally {
      await gw.shutdown();
    }
  });

  it("is raised by the openai SDK as a RateLimitError, once: the SDK is told not to retry", async () => {
    const gw = await startGateway({ ...config(), tenants: { capped: { routes: "*", budget: { usd: 0.01 } } } });
    const key = (await createKey(gw.gateway.db, { tenant: "capped", role: "app" })).key;
    await gw.gateway.keys.refresh();
    try {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 2 });
      await client.chat.completions.create({ model: "chat", messages: [{ role: "user", content: "hi" }] });
      const err = await client.chat.completions
        .create({ model: "chat", messages: [{ role: "user", content: "hi" }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect((err as InstanceType<typeof OpenAI.RateLimitError>).code).toBe("SY_ERR_LIMIT_BUDGET");
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      expect(metrics).toContain('switchyard_rate_limited_total{tenant="capped",code="SY_ERR_LIMIT_BUDGET"} 1');
    } finally {
      await gw.shutdown();
    }
  });

  it("holds across replicas on one store once the other replica's spend is in it", async () => {
    const dbPath = tempDbPath();
    const a = await startGateway(config(), dbPath);
    const b = await startGateway(config(), dbPath);
    const key = (await createKey(a.gateway.db, { tenant: "capped", role: "app" })).key;
    await a.gateway.keys.refresh();
    await b.gateway.keys.refresh();
    try {
      expect((await chat(b.url, key)).status).toBe(200); // b has read the day's spend: $0.02 now
      await b.rows(); // and logged it, so a reads it when it first checks this key's tenant
      expect((await chat(a.url, key)).status).toBe(200);
      expect((await chat(a.url, key)).status).toBe(200);
      expect((await chat(a.url, key)).status).toBe(429);
      // b counted only its own $0.02 until it reads the store again (every 5 s).
      await eventually(async () => expect((await chat(b.url, key)).status).toBe(429), 12_000);
    } finally {
      await a.shutdown();
      await b.shutdown();
    }
  });
});

describe("a key's own limits and budget", () => {
  let gw: TestGateway;
  let adminKey: string;

  beforeAll(async () => {
    gw = await startGateway(config());
    adminKey = (await createKey(gw.gateway.db, { tenant: "limited", role: "admin" })).key;
    await gw.gateway.keys.refresh();
  });

  afterAll(async () => {
    await gw.shutdown();
  });

  it("replace the tenant's requests per minute, and clearing them restores the tenant's", async () => {
    const created = await admin(gw, adminKey, "POST", "", { role: "app", limits: { requests_per_minute: 5 } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      own: { requests_per_minute: 5, tokens_per_minute: null, budget: null },
      limits: { requests_per_minute: 5, tokens_per_minute: null },
    });
    const key = created.body.key as string;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await chat(gw.url, key);
      statuses.push(r.status);
      expect(r.header("x-ratelimit-limit-requests")).toBe("5");
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);

    const cleared = await admin(gw, adminKey, "PATCH", `/${created.body.id}`, {
      limits: { requests_per_minute: null },
    });
    expect(cleared.status).toBe(200);
    expect(cleared.body).toMatchObject({ own: { requests_per_minute: null }, limits: { requests_per_minute: 3 } });
    const after = await chat(gw.url, key);
    expect(after.header("x-ratelimit-limit-requests")).toBe("3");
  });

  it("a budget of its own refuses that key alone, and the listing says what each has spent", async () => {
    const created = await admin(gw, adminKey, "POST", "", { role: "app", budget: { usd: 0.03, period: "week" } });
    const sibling = await admin(gw, adminKey, "POST", "", { role: "app" });
    const key = created.body.key as string;
    expect((await chat(gw.url, key)).status).toBe(200);
    expect((await chat(gw.url, key)).status).toBe(200);
    const refused = await chat(gw.url, key);
    expect(refused.status).toBe(429);
    expect(refused.body.error?.message).toContain("this key");
    expect(refused.body.error?.message).toContain("this week");
    expect((await chat(gw.url, sibling.body.key as string)).status).toBe(200);

    const list = await admin(gw, adminKey, "GET", "");
    const mine = (list.body.data as Array<Record<string, unknown>>).find((k) => k.id === created.body.id);
    expect(mine?.budgets).toEqual([
      {
        scope: "key",
        usd: 0.03,
        period: "week",
        spent_usd: expect.closeTo(2 * CALL_USD, 10),
        resets_at: periodEnd("week", Date.now()),
      },
    ]);
    // A new amount alone keeps the budget's period.
    const raised = await admin(gw, adminKey, "PATCH", `/${created.body.id}`, { budget: { usd: 1 } });
    expect(raised.body).toMatchObject({ own: { budget: { usd: 1, period: "week" } } });
    expect((await chat(gw.url, key)).status).toBe(200);
  });

  it("refuses bad settings, naming the field", async () => {
    const zero = await admin(gw, adminKey, "POST", "", { role: "app", limits: { requests_per_minute: 0 } });
    expect(zero.status).toBe(400);
    expect(zero.body.error?.message).toContain("limits.requests_per_minute");
    const period = await admin(gw, adminKey, "POST", "", { role: "app", budget: { usd: 5, period: "year" } });
    expect(period.status).toBe(400);
    expect(period.body.error?.message).toContain("budget.period");
    const unknown = await admin(gw, adminKey, "PATCH", "/key_nope", { budget: null });
    expect(unknown.status).toBe(404);
  });
});

describe("switchyard keys", () => {
  it("create and limit set a key's own limits and budget, and list shows them", () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-keys-"));
    writeFileSync(
      join(dir, "switchyard.yaml"),
      JSON.stringify({ database: { url: tempDbPath() }, tenants: { acme: {} } }),
    );
    const created = runCli(
      ["keys", "create", "--tenant", "acme", "--rpm", "10", "--budget-usd", "5", "--budget-period", "week"],
      dir,
    );
    expect(created.status).toBe(0);
    const id = /created (key_[0-9a-f]+)/.exec(created.stderr)?.[1] as string;
    expect(runCli(["keys", "list"], dir).stdout).toContain(`${id}`);
    expect(runCli(["keys", "list"], dir).stdout).toContain("rpm=10 tpm=tenant budget=$5/week");
    const limited = runCli(["keys", "limit", id, "--rpm", "none", "--tpm", "5000"], dir);
    expect(limited.status).toBe(0);
    expect(limited.stdout).toContain("rpm=tenant tpm=5000 budget=$5/week");
    const bad = runCli(["keys", "limit", id, "--rpm", "0"], dir);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain("--rpm takes a whole number above 0, or none");
    const orphan = runCli(["keys", "limit", id, "--budget-period", "day"], dir);
    expect(orphan.stderr).toContain("--budget-period needs --budget-usd");
  });
});

describe("budget periods (UTC)", () => {
  it("start at midnight, on Monday and on the 1st, and end where the next begins", () => {
    const wednesday = Date.UTC(2026, 11, 2, 15, 30); // Wed 2 Dec 2026
    expect(periodStart("day", wednesday)).toBe(Date.UTC(2026, 11, 2));
    expect(periodStart("week", wednesday)).toBe(Date.UTC(2026, 10, 30)); // Mon 30 Nov
    expect(periodStart("month", wednesday)).toBe(Date.UTC(2026, 11, 1));
    const sunday = Date.UTC(2026, 11, 6, 23, 59);
    expect(periodStart("week", sunday)).toBe(Date.UTC(2026, 10, 30));
    expect(periodStart("week", Date.UTC(2026, 11, 7))).toBe(Date.UTC(2026, 11, 7));
    expect(periodEnd("month", Date.UTC(2026, 11, 31, 23))).toBe(Date.UTC(2027, 0, 1));
    expect(periodEnd("week", wednesday)).toBe(Date.UTC(2026, 11, 7));
    expect(periodEnd("day", wednesday)).toBe(Date.UTC(2026, 11, 3));
  });
});

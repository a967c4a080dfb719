/**
 * Three `switchyard serve` processes on one PostgreSQL and one Redis, as
 * replicas behind a load balancer, under concurrent load from many users:
 * every user gets one variant whichever replica answers, each unit's first
 * exposure is stored once, nothing is lost from the log, a key's rate limit
 * holds across the replicas, and a staged rollout takes one decision per
 * evaluation although every replica's scheduler evaluates it. Runs in the
 * suite's PostgreSQL pass (SWITCHYARD_TEST_STORE=postgres).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Db, migrateToLatest, openDatabase } from "../src/store/db.js";
import { createKey } from "../src/store/keys.js";
import { type ServeProcess, serve } from "./cli-process.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { createTestDatabase, testStore } from "./postgres.js";
import { REDIS_URL } from "./redis.js";

const REPLICAS = 3;
const USERS = 150;
const REQUESTS_PER_USER = 4;
const LIMIT = 40;
const EVALUATE_EVERY_MS = 1_000;

describe.runIf(testStore() === "postgres")("three replicas on one PostgreSQL and one Redis", () => {
  let upstream: FakeOpenAI;
  let db: Db;
  const replicas: ServeProcess[] = [];
  const keys = { app: "", limited: "", admin: "" };

  beforeAll(async () => {
    upstream = await startFakeOpenAI();
    upstream.fallback = { kind: "ok", content: "an answer", delayMs: 2 };
    const url = createTestDatabase();
    db = openDatabase(url);
    await migrateToLatest(db);
    keys.app = (await createKey(db, { tenant: "default", role: "app" })).key;
    keys.limited = (await createKey(db, { tenant: "limited", role: "app" })).key;
    keys.admin = (await createKey(db, { tenant: "default", role: "admin" })).key;
    const dir = mkdtempSync(join(tmpdir(), "switchyard-pg-replicas-"));
    const variants = (route: string) => [
      { name: "control", backend: "fake", model: `${route}-control` },
      { name: "candidate", backend: "fake", model: `${route}-candidate` },
    ];
    const rollout = {
      candidate: "candidate",
      steps: [10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
      evaluateEveryMs: EVALUATE_EVERY_MS,
      // Never enough samples to promote: every evaluation is a stored hold, one per interval.
      minSamples: 1_000_000,
      minDurationMs: 0,
      minSuccessRate: 0.5,
      maxP95LatencyMs: 10_000,
    };
    const config = {
      server: { host: "127.0.0.1", port: 0 },
      database: { url, poolSize: 5 },
      logging: { level: "info" },
      redis: { url: REDIS_URL, keyPrefix: `sy-test-${process.pid}-${Date.now()}:` },
      limits: { store: "redis" },
      backends: { fake: { type: "openai", baseUrl: upstream.url } },
      routes: {
        chat: { variants: variants("chat") },
        staged: { variants: variants("staged") },
        manual: { variants: variants("manual") },
      },
      tenants: { default: { routes: "*" }, limited: { routes: ["chat"], limits: { requestsPerMinute: LIMIT } } },
      experiments: {
        split: {
          route: "chat",
          variants: [
            { variant: "control", weight: 50 },
            { variant: "candidate", weight: 50 },
          ],
        },
        staged: {
          route: "staged",
          variants: [
            { variant: "control", weight: 90 },
            { variant: "candidate", weight: 10 },
          ],
          rollout,
        },
      },
    };
    // Evaluated only when asked (through the admin API), so every decision in its history is one asked for.
    Object.assign(config.experiments, {
      manual: { ...config.experiments.staged, route: "manual", rollout: { ...rollout, evaluateEveryMs: 3_600_000 } },
    });
    writeFileSync(join(dir, "switchyard.yaml"), JSON.stringify(config));
    for (let i = 0; i < REPLICAS; i++) replicas.push(await serve(["--config", "switchyard.yaml"], dir));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await db?.destroy();
    await upstream?.close();
  });

  const call = (replica: number, key: string, user: string, model = "chat") =>
    fetch(`${replicas[replica % REPLICAS]?.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ model, user, messages: [{ role: "user", content: `hello from ${user}` }] }),
    });

  /** Runs `jobs` with at most `concurrency` in flight. */
  async function pool<T>(jobs: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
    const out: T[] = new Array(jobs.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < jobs.length) {
          const i = next++;
          out[i] = await (jobs[i] as () => Promise<T>)();
        }
      }),
    );
    return out;
  }

  it("give each user one variant, store each first exposure once and lose no row", async () => {
    const started = Date.now();
    // Every user calls every replica, in an order that interleaves users and replicas.
    const jobs = Array.from({ length: USERS * REQUESTS_PER_USER }, (_, i) => async () => {
      const user = `user-${i % USERS}`;
      const res = await call(i * 7 + Math.floor(i / USERS), keys.app, user);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      return { user, variant: res.headers.get("x-switchyard-variant") as string };
    });
    const answers = await pool(jobs, 24);
    const seen = new Map<string, Set<string>>();
    for (const a of answers) seen.set(a.user, (seen.get(a.user) ?? new Set()).add(a.variant));
    expect([...seen.values()].every((v) => v.size === 1)).toBe(true);
    const variantOf = new Map([...seen].map(([u, v]) => [u, [...v][0]]));
    expect(new Set(variantOf.values())).toEqual(new Set(["control", "candidate"]));

    // The replicas flush every 200 ms; wait until all rows are in.
    const logged = async () =>
      Number(
        (
          await db
            .selectFrom("request_log")
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .where("route", "=", "chat")
            .where("created_at", ">=", started)
            .executeTakeFirstOrThrow()
        ).n,
      );
    for (let i = 0; i < 100 && (await logged()) < answers.length; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await logged()).toBe(answers.length);

    const exposures = await db
      .selectFrom("experiment_exposures")
      .select(["unit_id", "variant"])
      .where("experiment", "=", "split")
      .execute();
    expect(exposures).toHaveLength(USERS);
    for (const e of exposures) expect(e.variant).toBe(variantOf.get(e.unit_id));

    // Concurrent batches from three writers add up in the hourly rollups.
    const rolled = await db
      .selectFrom("experiment_rollups")
      .select((eb) => eb.fn.sum<number>("requests").as("n"))
      .where("experiment", "=", "split")
      .executeTakeFirstOrThrow();
    expect(Number(rolled.n)).toBe(answers.length);
  });

  it("enforce a key's requests per minute across the replicas, exactly (Redis counts atomically)", async () => {
    const jobs = Array.from({ length: LIMIT * 3 }, (_, i) => async () => {
      const res = await call(i, keys.limited, `limited-${i}`);
      await res.arrayBuffer();
      return { status: res.status, remaining: res.headers.get("x-ratelimit-remaining-requests") };
    });
    const results = await pool(jobs, 12);
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    expect(ok).toHaveLength(LIMIT);
    expect(refused).toHaveLength(LIMIT * 2);
    expect(new Set(refused.map((r) => r.remaining))).toEqual(new Set(["0"]));
  });

  it("take one rollout decision per evaluation, whichever replica takes it", async () => {
    // Some traffic for the rollout to look at, while the three schedulers keep evaluating.
    const end = Date.now() + 6 * EVALUATE_EVERY_MS;
    let n = 0;
    while (Date.now() < end) {
      const res = await call(n, keys.app, `staged-${n % 20}`, "staged");
      await res.arrayBuffer();
      n++;
      await new Promise((r) => setTimeout(r, 20));
    }
    const events = await db
      .selectFrom("experiment_events")
      .select(["at", "kind", "actor"])
      .where("experiment", "=", "staged")
      .where("actor", "=", "rollout")
      .orderBy("at")
      .execute();
    expect(events.length).toBeGreaterThanOrEqual(3);
    expect(new Set(events.map((e) => e.kind))).toEqual(new Set(["hold"]));
    // Two replicas deciding the same evaluation would leave two events milliseconds apart;
    // one decision per evaluation leaves them an interval apart (the next is due an interval later).
    for (let i = 1; i < events.length; i++) {
      const gap = Number(events[i]?.at) - Number(events[i - 1]?.at);
      // (Less a few ms: the event is stamped when stored, a little after the evaluation began.)
      expect(gap).toBeGreaterThan(EVALUATE_EVERY_MS * 0.5);
    }
  });

  it("let one of simultaneous evaluations on several replicas decide, and refuse the others with a 409", async () => {
    const decisions = async () =>
      (
        await db
          .selectFrom("experiment_events")
          .select("id")
          .where("experiment", "=", "manual")
          .where("actor", "=", "rollout")
          .execute()
      ).length;
    const statuses: number[] = [];
    for (let round = 0; round < 10; round++) {
      const answers = await Promise.all(
        replicas.map((r) =>
          fetch(`${r.url}/v1/admin/experiments/manual/evaluate`, {
            method: "POST",
            headers: { authorization: `Bearer ${keys.admin}` },
          }),
        ),
      );
      for (const a of answers) {
        statuses.push(a.status);
        await a.arrayBuffer();
      }
    }
    expect(new Set(statuses)).toEqual(new Set([200, 409]));
    // Each decision asked for is stored once; each refused one left nothing behind.
    expect(await decisions()).toBe(statuses.filter((s) => s === 200).length);
  });
});

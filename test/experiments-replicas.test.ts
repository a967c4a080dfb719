/**
 * Experiments across processes and restarts: two separate `switchyard serve`
 * processes (separate stores, same config) give every user the same variant; a
 * change made on one replica reaches another on the same store without a
 * restart; and the config file is applied only when its declaration changes.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../src/core/config/parse.js";
import { migrateToLatest, openDatabase } from "../src/store/db.js";
import { loadExperiment, syncConfigExperiments } from "../src/store/experiments.js";
import { createKey } from "../src/store/keys.js";
import { type ServeProcess, serve } from "./cli-process.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { eventually, startGateway, tempDbPath } from "./helpers.js";

let upstream: FakeOpenAI;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
});

afterAll(async () => {
  await upstream.close();
});

function configFor(weights: [number, number]) {
  return {
    backends: { fake: { type: "openai", baseUrl: upstream.url } },
    routes: {
      chat: {
        variants: [
          { name: "control", backend: "fake", model: "m-control" },
          { name: "candidate", backend: "fake", model: "m-candidate" },
        ],
      },
    },
    experiments: {
      swap: {
        route: "chat",
        variants: [
          { variant: "control", weight: weights[0] },
          { variant: "candidate", weight: weights[1] },
        ],
      },
    },
  };
}

async function variantFor(url: string, user: string): Promise<string> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "chat", user, messages: [{ role: "user", content: "hi" }] }),
  });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  return res.headers.get("x-switchyard-variant") as string;
}

describe("two processes on the same config", () => {
  const procs: ServeProcess[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
  });

  it("give every user the same variant, with no store in common", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-replicas-"));
    const config = (db: string) => ({
      ...configFor([50, 50]),
      server: { host: "127.0.0.1", port: 0 },
      database: { url: join(dir, db) },
      auth: { required: false },
    });
    writeFileSync(join(dir, "a.yaml"), JSON.stringify(config("a.db")));
    writeFileSync(join(dir, "b.yaml"), JSON.stringify(config("b.db")));
    procs.push(await serve(["--config", "a.yaml"], dir), await serve(["--config", "b.yaml"], dir));
    const [a, b] = procs as [ServeProcess, ServeProcess];
    const users = Array.from({ length: 100 }, (_, i) => `replica-user-${i}`);
    const fromA: string[] = [];
    const fromB: string[] = [];
    for (const u of users) {
      fromA.push(await variantFor(a.url, u));
      fromB.push(await variantFor(b.url, u));
    }
    expect(fromB).toEqual(fromA);
    expect(new Set(fromA)).toEqual(new Set(["control", "candidate"]));
  });
});

describe("replicas on one store", () => {
  it("see a change made on another replica without a restart", async () => {
    const dbPath = tempDbPath();
    const one = await startGateway({ ...configFor([50, 50]), auth: { required: false } }, dbPath);
    const two = await startGateway({ ...configFor([50, 50]), auth: { required: false } }, dbPath);
    try {
      const res = await fetch(`${one.url}/v1/admin/experiments/swap`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          variants: [
            { variant: "control", weight: 0 },
            { variant: "candidate", weight: 100 },
          ],
        }),
      });
      expect(res.status).toBe(200);
      const users = Array.from({ length: 20 }, (_, i) => `moved-${i}`);
      // Replica two polls the store's versions; within its refresh interval everyone is on the candidate.
      await eventually(async () => {
        const got = await Promise.all(users.map((u) => variantFor(two.url, u)));
        expect(new Set(got)).toEqual(new Set(["candidate"]));
      }, 10_000);
    } finally {
      await one.shutdown();
      await two.shutdown();
    }
  });
});

describe("the config file", () => {
  it("is applied when its declaration changes, and otherwise leaves admin changes alone", async () => {
    const db = openDatabase(tempDbPath());
    await migrateToLatest(db);
    try {
      const declared = (w: [number, number]) => validateConfig(configFor(w), "test").experiments;
      expect((await syncConfigExperiments(db, declared([50, 50]))).created).toEqual(["swap"]);

      // An admin pauses it; a restart with the same file keeps it paused.
      const { changeExperiment } = await import("../src/store/experiments.js");
      const { changeStatus } = await import("../src/core/experiment-changes.js");
      await changeExperiment(db, "swap", "key_admin", (e) => changeStatus(e, "pause"));
      const same = await syncConfigExperiments(db, declared([50, 50]));
      expect(same).toEqual({ created: [], updated: [], removed: [], superseded: [] });
      expect((await loadExperiment(db, "swap"))?.status).toBe("paused");

      // An edited file wins, and reallocates from the stored split.
      const before = (await loadExperiment(db, "swap"))?.allocation;
      expect((await syncConfigExperiments(db, declared([30, 70]))).updated).toEqual(["swap"]);
      const after = await loadExperiment(db, "swap");
      expect(after?.status).toBe("running");
      expect(before).toEqual([
        { start: 0, end: 5000, variant: "control" },
        { start: 5000, end: 10000, variant: "candidate" },
      ]);
      expect(after?.allocation).toEqual([
        { start: 0, end: 3000, variant: "control" },
        { start: 3000, end: 10000, variant: "candidate" },
      ]);

      // Removed from the file: stopped, with the reason in its events.
      expect((await syncConfigExperiments(db, {})).removed).toEqual(["swap"]);
      expect((await loadExperiment(db, "swap"))?.status).toBe("stopped");
      const reasons = await db.selectFrom("experiment_events").select(["kind", "actor"]).orderBy("at").execute();
      expect(reasons.map((r) => `${r.kind}:${r.actor}`)).toEqual([
        "create:config",
        "pause:key_admin",
        "config:config",
        "stop:config",
      ]);

      // Declared again, unchanged from before its removal: applied again, running.
      expect((await syncConfigExperiments(db, declared([30, 70]))).updated).toEqual(["swap"]);
      expect((await loadExperiment(db, "swap"))?.status).toBe("running");
    } finally {
      await db.destroy();
    }
  });

  it("takes a route from an experiment created through the admin API, stopping that one", async () => {
    const dbPath = tempDbPath();
    const first = await startGateway({ ...configFor([50, 50]), experiments: {} }, dbPath);
    const adminKey = (await createKey(first.gateway.db, { tenant: "default", role: "admin" })).key;
    await first.gateway.keys.refresh();
    const created = await fetch(`${first.url}/v1/admin/experiments`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${adminKey}` },
      body: JSON.stringify({
        name: "adhoc",
        route: "chat",
        variants: [
          { variant: "control", weight: 1 },
          { variant: "candidate", weight: 1 },
        ],
      }),
    });
    expect(created.status).toBe(201);
    await first.shutdown();
    const second = await startGateway(configFor([50, 50]), dbPath);
    try {
      const rows = await second.gateway.db
        .selectFrom("experiments")
        .select(["name", "status"])
        .orderBy("name")
        .execute();
      expect(rows).toEqual([
        { name: "adhoc", status: "stopped" },
        { name: "swap", status: "running" },
      ]);
    } finally {
      await second.shutdown();
    }
  });
});

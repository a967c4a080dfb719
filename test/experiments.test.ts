/**
 * Experiments over real HTTP: a config-declared A/B split with sticky users,
 * first exposures stored once, the unit each request was assigned by, the
 * override header, and the admin API (weights, pause, resume, pins, stop,
 * events, conflicts and precise errors).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKey } from "../src/store/keys.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { startGateway, type TestGateway } from "./helpers.js";

let upstream: FakeOpenAI;
let gw: TestGateway;
let app: string;
let admin: string;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  gw = await startGateway({
    backends: { fake: { type: "openai", baseUrl: upstream.url } },
    routes: {
      chat: {
        variants: [
          { name: "claude", backend: "fake", model: "model-claude" },
          { name: "llama", backend: "fake", model: "model-llama" },
          { name: "mistral", backend: "fake", model: "model-mistral" },
        ],
      },
      other: {
        variants: [
          { name: "x", backend: "fake", model: "model-x" },
          { name: "y", backend: "fake", model: "model-y" },
        ],
      },
    },
    experiments: {
      "llama-vs-claude": {
        route: "chat",
        variants: [
          { variant: "claude", weight: 50 },
          { variant: "llama", weight: 50 },
        ],
      },
    },
  });
  app = (await createKey(gw.gateway.db, { tenant: "default", role: "app" })).key;
  admin = (await createKey(gw.gateway.db, { tenant: "default", role: "admin" })).key;
  await gw.gateway.keys.refresh();
});

afterAll(async () => {
  await gw.shutdown();
  await upstream.close();
});

async function chat(opts: { user?: string; session?: string; variant?: string; key?: string; route?: string } = {}) {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    authorization: `Bearer ${opts.key ?? app}`,
  };
  if (opts.session) headers["x-switchyard-session"] = opts.session;
  if (opts.variant) headers["x-switchyard-variant"] = opts.variant;
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      model: opts.route ?? "chat",
      messages: [{ role: "user", content: "hi" }],
      ...(opts.user ? { user: opts.user } : {}),
    }),
  });
  const body = (await res.json()) as Record<string, any>;
  return {
    status: res.status,
    body,
    variant: res.headers.get("x-switchyard-variant"),
    experiment: res.headers.get("x-switchyard-experiment"),
    id: res.headers.get("x-switchyard-request-id") as string,
  };
}

async function call(method: string, path: string, body?: unknown, key = admin) {
  const res = await fetch(`${gw.url}/v1/admin/experiments${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function assignmentOf(user: string): Promise<string> {
  const r = await call("GET", `/llama-vs-claude/assignment?user=${encodeURIComponent(user)}`);
  expect(r.status).toBe(200);
  return r.body.variant;
}

describe("a config-declared A/B split", () => {
  const users = Array.from({ length: 60 }, (_, i) => `user-${i}`);

  it("gives each user one variant on every request, the one the assignment API predicts", async () => {
    const seen = new Map<string, string>();
    for (const round of [0, 1]) {
      for (const user of users) {
        const r = await chat({ user });
        expect(r.status).toBe(200);
        expect(r.experiment).toBe("llama-vs-claude");
        expect(["claude", "llama"]).toContain(r.variant);
        // The variant really served: the upstream saw that variant's model.
        expect(r.body.model).toBe(`model-${r.variant}`);
        if (round === 0) seen.set(user, r.variant as string);
        else expect(r.variant).toBe(seen.get(user));
      }
    }
    for (const user of users.slice(0, 10)) expect(await assignmentOf(user)).toBe(seen.get(user));
    const counts = [...seen.values()].reduce((m, v) => m.set(v, (m.get(v) ?? 0) + 1), new Map<string, number>());
    // 60 users at 50/50: both arms get traffic (P(one arm empty) = 2^-59).
    expect(counts.get("claude")).toBeGreaterThan(0);
    expect(counts.get("llama")).toBeGreaterThan(0);
  });

  it("logs the experiment, the unit kind and how the variant was chosen, and stores each first exposure once", async () => {
    const rows = (await gw.rows()).filter((r) => r.user_id?.startsWith("user-"));
    expect(rows).toHaveLength(120);
    for (const r of rows) {
      expect(r).toMatchObject({ experiment: "llama-vs-claude", unit_kind: "user", assigned_by: "hash" });
    }
    const exposures = await gw.gateway.db
      .selectFrom("experiment_exposures")
      .selectAll()
      .where("unit_id", "like", "user-%")
      .execute();
    expect(exposures).toHaveLength(60);
    const firstRequest = new Map<string, string>();
    for (const r of rows) if (!firstRequest.has(r.user_id as string)) firstRequest.set(r.user_id as string, r.id);
    for (const e of exposures) {
      expect(e.unit_kind).toBe("user");
      expect(e.request_id).toBe(firstRequest.get(e.unit_id));
      expect(e.variant).toBe(rows.find((r) => r.id === e.request_id)?.variant);
    }
    const view = await call("GET", "/llama-vs-claude");
    const exposed = Object.fromEntries(view.body.variants.map((v: any) => [v.variant, v.exposed_units]));
    expect((exposed.claude as number) + (exposed.llama as number)).toBeGreaterThanOrEqual(60);
  });

  it("assigns by session when no user is named, and by request when neither is", async () => {
    const a = await chat({ session: "ses-sticky" });
    const b = await chat({ session: "ses-sticky" });
    expect(b.variant).toBe(a.variant);
    const c = await chat();
    const rows = await gw.rows();
    expect(rows.find((r) => r.id === a.id)).toMatchObject({ unit_kind: "session", session_id: "ses-sticky" });
    expect(rows.find((r) => r.id === c.id)).toMatchObject({ unit_kind: "request", assigned_by: "hash" });
  });

  it("lets only an admin key choose the variant on a route in an experiment", async () => {
    const refused = await chat({ user: "user-1", variant: "mistral" });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe("SY_ERR_ROUTE_OVERRIDE_FORBIDDEN");
    const chosen = await chat({ user: "user-1", variant: "mistral", key: admin });
    expect(chosen.status).toBe(200);
    expect(chosen.variant).toBe("mistral");
    expect((await gw.rows()).find((r) => r.id === chosen.id)).toMatchObject({ assigned_by: "override" });
    // A route without an experiment keeps honouring the header for any key.
    const plain = await chat({ route: "other", variant: "y" });
    expect(plain.status).toBe(200);
    expect(plain.variant).toBe("y");
    expect(plain.experiment).toBeNull();
  });
});

describe("the admin API", () => {
  it("refuses app keys, unknown experiments and malformed bodies precisely", async () => {
    expect((await call("GET", "", undefined, app)).status).toBe(403);
    // Checked before the body: an app key learns nothing about what a valid change looks like.
    expect((await call("PATCH", "/llama-vs-claude", { nonsense: true }, app)).status).toBe(403);
    const missing = await call("POST", "/nope/pause");
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("SY_ERR_EXPERIMENT_UNKNOWN");
    const badWeights = await call("PATCH", "/llama-vs-claude", { variants: [{ variant: "claude", weight: -1 }] });
    expect(badWeights.status).toBe(400);
    expect(badWeights.body.error.param).toBe("variants.0.weight");
    const unknownVariant = await call("PATCH", "/llama-vs-claude", {
      variants: [
        { variant: "claude", weight: 1 },
        { variant: "gpt", weight: 1 },
      ],
    });
    expect(unknownVariant.status).toBe(400);
    expect(unknownVariant.body.error.param).toBe("variants.1.variant");
    expect(unknownVariant.body.error.message).toContain("unknown variant 'gpt'");
  });

  it("refuses a second running experiment on the same route", async () => {
    const r = await call("POST", "", {
      name: "second",
      route: "chat",
      variants: [
        { variant: "claude", weight: 1 },
        { variant: "mistral", weight: 1 },
      ],
    });
    expect(r.status).toBe(409);
    expect(r.body.error.message).toContain("already runs experiment 'llama-vs-claude'");
  });

  it("changes weights moving only the users it must, and says how many", async () => {
    const users = Array.from({ length: 200 }, (_, i) => `w-${i}`);
    const before = new Map<string, string>();
    for (const u of users) before.set(u, await assignmentOf(u));
    const r = await call("PATCH", "/llama-vs-claude", {
      variants: [
        { variant: "claude", weight: 20 },
        { variant: "llama", weight: 80 },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.variants).toEqual([
      { variant: "claude", weight: 20, share: 0.2 },
      { variant: "llama", weight: 80, share: 0.8 },
    ]);
    for (const u of users) {
      const now = await assignmentOf(u);
      // Growing llama's share only moves users from claude to llama.
      if (before.get(u) === "llama") expect(now).toBe("llama");
    }
    const events = await call("GET", "/llama-vs-claude/events");
    const weights = events.body.data.find((e: any) => e.kind === "weights");
    expect(weights.detail).toMatchObject({ before: { claude: 50, llama: 50 }, after: { claude: 20, llama: 80 } });
    expect(weights.detail.moved_share).toBeCloseTo(0.3, 10);
  });

  it("pins a user, pauses to control, resumes, and stops with a winner", async () => {
    const user = "pin-me";
    const pinned = await call("PUT", `/llama-vs-claude/pins/${user}`, { variant: "claude" });
    expect(pinned.status).toBe(200);
    expect((await chat({ user })).variant).toBe("claude");
    expect((await call("GET", "/llama-vs-claude/pins")).body.data).toEqual([{ user, variant: "claude" }]);
    const badPin = await call("PUT", `/llama-vs-claude/pins/${user}`, { variant: "mistral" });
    expect(badPin.status).toBe(400);
    expect(badPin.body.error.param).toBe("variant");

    expect((await call("POST", "/llama-vs-claude/pause")).body.status).toBe("paused");
    const paused = await Promise.all(["p1", "p2", "p3", "p4"].map((u) => chat({ user: u })));
    expect(paused.map((r) => r.variant)).toEqual(["claude", "claude", "claude", "claude"]);
    expect((await call("POST", "/llama-vs-claude/pause")).status).toBe(409);
    const resumed = await call("POST", "/llama-vs-claude/resume");
    expect(resumed.body).toMatchObject({ status: "running" });

    expect((await call("DELETE", `/llama-vs-claude/pins/${user}`)).status).toBe(200);
    expect((await call("DELETE", `/llama-vs-claude/pins/${user}`)).status).toBe(409);

    const badWinner = await call("POST", "/llama-vs-claude/stop", { winner: "mistral" });
    expect(badWinner.status).toBe(400);
    expect(badWinner.body.error.param).toBe("winner");
    const stopped = await call("POST", "/llama-vs-claude/stop", { winner: "llama" });
    expect(stopped.body).toMatchObject({ status: "stopped", winner: "llama" });
    const after = await Promise.all(["s1", "s2", "s3"].map((u) => chat({ user: u })));
    expect(after.map((r) => r.variant)).toEqual(["llama", "llama", "llama"]);
    expect((await call("POST", "/llama-vs-claude/resume")).status).toBe(409);

    const kinds = (await call("GET", "/llama-vs-claude/events")).body.data.map((e: any) => e.kind);
    expect(kinds.reverse()).toEqual(["create", "weights", "pin", "pause", "resume", "unpin", "stop"]);
    const rows = await gw.rows();
    expect(rows.filter((r) => r.user_id === "p1").map((r) => r.assigned_by)).toEqual(["paused"]);
    expect(rows.filter((r) => r.user_id === "s1").map((r) => r.assigned_by)).toEqual(["stopped"]);
  });

  it("creates an experiment once the route is free, validated against the route", async () => {
    const bad = await call("POST", "", {
      name: "three-way",
      route: "chat",
      variants: [
        { variant: "claude", weight: 1 },
        { variant: "nope", weight: 1 },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe("variants.1.variant");
    const created = await call("POST", "", {
      name: "three-way",
      route: "chat",
      control: "claude",
      variants: [
        { variant: "claude", weight: 1 },
        { variant: "llama", weight: 1 },
        { variant: "mistral", weight: 1 },
      ],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: "three-way", status: "running", source: "api", key: "three-way" });
    const served = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const r = await chat({ user: `three-${i}` });
      expect(r.experiment).toBe("three-way");
      served.add(r.variant as string);
    }
    expect(served).toEqual(new Set(["claude", "llama", "mistral"]));
    const again = await call("POST", "", {
      name: "three-way",
      route: "other",
      variants: [
        { variant: "x", weight: 1 },
        { variant: "y", weight: 1 },
      ],
    });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toContain("already exists");
    const list = await call("GET", "");
    expect(list.body.data.map((e: any) => [e.name, e.status])).toEqual([
      ["llama-vs-claude", "stopped"],
      ["three-way", "running"],
    ]);
  });
});

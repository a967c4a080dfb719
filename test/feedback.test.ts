/** Feedback on answers: every kind, upsert, tenant isolation, and precise errors, over real HTTP. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKey } from "../src/store/keys.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { startGateway, type TestGateway } from "./helpers.js";

let upstream: FakeOpenAI;
let gw: TestGateway;
let acme: string;
let globex: string;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  gw = await startGateway({
    // A slow flush: feedback must find a request whose log row is still queued.
    requestLog: { flushIntervalMs: 60_000 },
    backends: { fake: { type: "openai", baseUrl: upstream.url } },
    routes: { chat: { variants: [{ name: "a", backend: "fake", model: "fake-model" }] } },
    tenants: { acme: { routes: "*" }, globex: { routes: "*" } },
  });
  acme = (await createKey(gw.gateway.db, { tenant: "acme", role: "app" })).key;
  globex = (await createKey(gw.gateway.db, { tenant: "globex", role: "app" })).key;
  await gw.gateway.keys.refresh();
});

afterAll(async () => {
  await gw.shutdown();
  await upstream.close();
});

async function chat(key: string, user?: string): Promise<string> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }], ...(user ? { user } : {}) }),
  });
  expect(res.status).toBe(200);
  await res.text();
  return res.headers.get("x-switchyard-request-id") as string;
}

async function feedback(key: string, body: unknown) {
  const res = await fetch(`${gw.url}/v1/feedback`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe("feedback", () => {
  it("stores each kind against the request, inheriting its route, variant and model", async () => {
    const id = await chat(acme, "u-1");
    const other = await chat(acme, "u-1");
    const given = [
      { kind: "thumbs", value: "down" },
      { kind: "stars", value: 2 },
      { kind: "comment", value: "Too vague." },
      { kind: "tags", value: ["vague", "billing", "vague"] },
      { kind: "correction", value: "You can change plans under Settings → Billing." },
      { kind: "preference", value: { other_request_id: other, pick: "other" } },
    ];
    for (const g of given) {
      const r = await feedback(acme, { request_id: id, ...g });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        object: "feedback",
        request_id: id,
        kind: g.kind,
        user: "u-1",
        request: { route: "chat", variant: "a", backend: "fake", model: "fake-model", status: 200 },
      });
    }
    const list = await fetch(`${gw.url}/v1/feedback?request_id=${id}`, {
      headers: { authorization: `Bearer ${acme}` },
    });
    const data = ((await list.json()) as { data: { kind: string; value: unknown }[] }).data;
    expect(data.map((d) => [d.kind, d.value])).toEqual([
      ["thumbs", "down"],
      ["stars", 2],
      ["comment", "Too vague."],
      ["tags", ["vague", "billing"]],
      ["correction", "You can change plans under Settings → Billing."],
      ["preference", { other_request_id: other, pick: "other" }],
    ]);
    const stored = await gw.gateway.db.selectFrom("feedback").selectAll().where("kind", "=", "preference").execute();
    expect(stored[0]?.other_request_id).toBe(other);
  });

  it("replaces a second feedback of the same kind from the same user instead of adding one", async () => {
    const id = await chat(acme);
    expect((await feedback(acme, { request_id: id, kind: "thumbs", value: "up", user: "ann" })).status).toBe(201);
    const again = await feedback(acme, { request_id: id, kind: "thumbs", value: "down", user: "ann" });
    expect(again.status).toBe(200);
    expect(again.body.value).toBe("down");
    expect(again.body.updated_at).toBeGreaterThanOrEqual(again.body.created_at);
    // Another user's thumbs is a separate row.
    expect((await feedback(acme, { request_id: id, kind: "thumbs", value: "up", user: "bob" })).status).toBe(201);
    const rows = await gw.gateway.db.selectFrom("feedback").selectAll().where("request_id", "=", id).execute();
    expect(rows.map((r) => [r.user_key, JSON.parse(r.value)]).sort()).toEqual([
      ["ann", "down"],
      ["bob", "up"],
    ]);
  });

  it("treats another tenant's request exactly like an unknown one", async () => {
    const id = await chat(acme);
    const r = await feedback(globex, { request_id: id, kind: "thumbs", value: "up" });
    expect(r).toEqual({
      status: 404,
      body: {
        error: {
          message: `No request '${id}' to attach feedback to`,
          type: "not_found_error",
          code: "SY_ERR_FEEDBACK_UNKNOWN_REQUEST",
          param: "request_id",
        },
      },
    });
    expect((await feedback(acme, { request_id: "req_nope", kind: "thumbs", value: "up" })).status).toBe(404);
    const list = await fetch(`${gw.url}/v1/feedback?request_id=${id}`, {
      headers: { authorization: `Bearer ${globex}` },
    });
    expect(list.status).toBe(404);
    const pref = await feedback(acme, {
      request_id: id,
      kind: "preference",
      value: { other_request_id: await chat(globex), pick: "this" },
    });
    expect(pref.status).toBe(404);
    expect(pref.body.error.param).toBe("value.other_request_id");
  });

  it("answers each malformed body with a 400 naming the field", async () => {
    const id = await chat(acme);
    const cases: [unknown, string, string][] = [
      [[], "(body)", "expected a JSON object"],
      [{ kind: "thumbs", value: "up" }, "request_id", "expected the x-switchyard-request-id of the answer"],
      [
        { request_id: id, kind: "smiley", value: 1 },
        "kind",
        "expected one of thumbs, stars, comment, tags, correction, preference",
      ],
      [{ request_id: id, kind: "thumbs", value: "meh" }, "value", 'expected "up" or "down"'],
      [{ request_id: id, kind: "stars", value: 6 }, "value", "expected an integer from 1 to 5"],
      [{ request_id: id, kind: "stars", value: 2.5 }, "value", "expected an integer from 1 to 5"],
      [{ request_id: id, kind: "comment", value: "  " }, "value", "expected a non-empty string"],
      [
        { request_id: id, kind: "comment", value: "x".repeat(10_001) },
        "value",
        "must be at most 10000 characters (got 10001)",
      ],
      [{ request_id: id, kind: "tags", value: [] }, "value", "expected a list of 1 to 32 tags"],
      [{ request_id: id, kind: "tags", value: ["ok", 3] }, "value[1]", "expected a non-empty string"],
      [
        { request_id: id, kind: "preference", value: { pick: "this" } },
        "value.other_request_id",
        "expected the request id of the other answer",
      ],
      [
        { request_id: id, kind: "preference", value: { other_request_id: id, pick: "this" } },
        "value.other_request_id",
        "must differ from request_id",
      ],
      [
        { request_id: id, kind: "preference", value: { other_request_id: "req_x", pick: "A" } },
        "value.pick",
        "expected one of this, other, tie, both_bad",
      ],
    ];
    for (const [body, param, problem] of cases) {
      const r = await feedback(acme, body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(r.body.error).toMatchObject({
        code: "SY_ERR_REQUEST_INVALID_BODY",
        param,
        message: `Invalid request body at '${param}': ${problem}`,
      });
    }
    const noKey = await fetch(`${gw.url}/v1/feedback`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ request_id: id, kind: "thumbs", value: "up" }),
    });
    expect(noKey.status).toBe(401);
  });

  it("answers only after the feedback is committed: a fresh connection reads it back", async () => {
    const id = await chat(acme);
    await feedback(acme, { request_id: id, kind: "stars", value: 5 });
    const { openDatabase } = await import("../src/store/db.js");
    const other = openDatabase(gw.dbPath);
    try {
      const row = await other.selectFrom("feedback").selectAll().where("request_id", "=", id).executeTakeFirst();
      expect(row?.value).toBe("5");
    } finally {
      await other.destroy();
    }
  });
});

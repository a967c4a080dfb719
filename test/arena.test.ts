/**
 * The arena over real HTTP: two variants answer one request, blind and in
 * random order; the user's pick, sent as a preference through the feedback
 * API, joins the two request ids and comes out of the DPO export.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKey } from "../src/store/keys.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { startGateway, type TestGateway } from "./helpers.js";

let claude: FakeOpenAI;
let llama: FakeOpenAI;
let gw: TestGateway;

beforeAll(async () => {
  [claude, llama] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
  claude.fallback = { kind: "ok", content: "Answer from the first model" };
  llama.fallback = { kind: "ok", content: "Answer from the second model" };
  gw = await startGateway({
    auth: { required: false },
    backends: {
      one: { type: "openai", baseUrl: claude.url },
      two: { type: "openai", baseUrl: llama.url },
    },
    routes: {
      chat: {
        variants: [
          { name: "claude", backend: "one", model: "m1" },
          { name: "llama", backend: "two", model: "m2" },
        ],
      },
      solo: { variants: [{ name: "only", backend: "one", model: "m1" }] },
    },
  });
});

afterAll(async () => {
  await gw.shutdown();
  await Promise.all([claude.close(), llama.close()]);
});

async function post(path: string, body: unknown) {
  const res = await fetch(`${gw.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-switchyard-session": "arena-session" },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

const question = { model: "chat", user: "voter", messages: [{ role: "user", content: "Which is better?" }] };

describe("the arena", () => {
  it("answers with two variants, blind and in random order", async () => {
    const firstIsClaude: boolean[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await post("/v1/arena", question);
      expect(r.status).toBe(200);
      expect(r.body.answers.map((a: any) => a.label)).toEqual(["A", "B"]);
      const contents = r.body.answers.map((a: any) => a.message.content).sort();
      expect(contents).toEqual(["Answer from the first model", "Answer from the second model"]);
      // Nothing names the variants or their models.
      const text = JSON.stringify(r.body);
      for (const secret of ["claude", "llama", "m1", "m2"]) expect(text).not.toContain(`"${secret}"`);
      expect(r.headers.get("x-switchyard-variant")).toBeNull();
      firstIsClaude.push(r.body.answers[0].message.content === "Answer from the first model");
    }
    // Both orders occur (the chance of one order 30 times running is 2^-29).
    expect(new Set(firstIsClaude)).toEqual(new Set([true, false]));
  });

  it("turns the pick into a preference between the two requests, exported for DPO", async () => {
    const r = await post("/v1/arena", question);
    const [a, b] = r.body.answers;
    const winner = a.message.content === "Answer from the second model" ? "this" : "other";
    const vote = { ...r.body.vote.body, value: { ...r.body.vote.body.value, pick: winner } };
    expect(vote.request_id).toBe(a.request_id);
    expect(vote.value.other_request_id).toBe(b.request_id);
    const saved = await post("/v1/feedback", vote);
    expect(saved.status).toBe(201);
    expect(saved.body).toMatchObject({ kind: "preference", value: { pick: winner } });

    const rows = (await gw.rows()).filter((x) => x.id === a.request_id || x.id === b.request_id);
    expect(rows.map((x) => x.assigned_by)).toEqual(["arena", "arena"]);
    expect(rows.map((x) => x.experiment)).toEqual([null, null]);
    expect(new Set(rows.map((x) => x.variant))).toEqual(new Set(["claude", "llama"]));

    const res = await fetch(`${gw.url}/v1/admin/datasets/dpo?split=all&sources=preference`);
    expect(res.status).toBe(200);
    const pairs = (await res.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(pairs).toHaveLength(1);
    expect(pairs[0].chosen).toEqual([{ role: "assistant", content: "Answer from the second model" }]);
    expect(pairs[0].rejected).toEqual([{ role: "assistant", content: "Answer from the first model" }]);
  });

  it("refuses what it cannot do, precisely", async () => {
    const streamed = await post("/v1/arena", { ...question, stream: true });
    expect(streamed.status).toBe(400);
    expect(streamed.body.error.param).toBe("stream");
    const solo = await post("/v1/arena", { ...question, model: "solo" });
    expect(solo.status).toBe(400);
    expect(solo.body.error.message).toContain("an arena needs two");
    const same = await post("/v1/arena", { ...question, arena: { variants: ["claude", "claude"] } });
    expect(same.status).toBe(400);
    expect(same.body.error.param).toBe("arena.variants");
    const unknown = await post("/v1/arena", { ...question, arena: { variants: ["claude", "gpt"] } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe("SY_ERR_ROUTE_UNKNOWN_VARIANT");
  });

  it("still answers when one side fails, so the user can pick the other", async () => {
    llama.script = [
      { kind: "status", status: 400, body: { error: { message: "bad", type: "invalid_request_error" } } },
    ];
    const r = await post("/v1/arena", question);
    expect(r.status).toBe(200);
    const statuses = r.body.answers.map((a: any) => a.status).sort();
    expect(statuses).toEqual([200, 400]);
  });
});

describe("the arena for an app key", () => {
  it("stays blind after the vote and in errors: no variant, backend or model is shown", async () => {
    const blindGw = await startGateway({
      backends: {
        one: { type: "openai", baseUrl: claude.url },
        two: { type: "openai", baseUrl: llama.url },
      },
      routes: {
        chat: {
          variants: [
            { name: "claude", backend: "one", model: "m1" },
            { name: "llama", backend: "two", model: "m2" },
          ],
        },
      },
    });
    try {
      const key = (await createKey(blindGw.gateway.db, { tenant: "default", role: "app" })).key;
      await blindGw.gateway.keys.refresh();
      const send = async (path: string, body: unknown) => {
        const res = await fetch(`${blindGw.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
          body: JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as Record<string, any> };
      };
      llama.script = [{ kind: "status", status: 500 }];
      claude.script = [{ kind: "status", status: 500 }];
      const failing = await send("/v1/arena", question);
      for (const secret of ["'one'", "'two'", "m1", "m2"]) expect(JSON.stringify(failing.body)).not.toContain(secret);

      const r = await send("/v1/arena", question);
      expect(r.status).toBe(200);
      const vote = { ...r.body.vote.body, value: { ...r.body.vote.body.value, pick: "tie" } };
      const saved = await send("/v1/feedback", vote);
      expect(saved.status).toBe(201);
      expect(saved.body.request).toMatchObject({ variant: null, backend: null, model: null });
    } finally {
      await blindGw.shutdown();
    }
  });
});

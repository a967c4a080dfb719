/**
 * Every inbound chat API (chat completions, Anthropic messages, Responses) is
 * one routed call: the same experiment assigns the same user the same variant
 * on all three, each is logged with its endpoint, shadowed, and open to feedback.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { eventually, startGateway, type TestGateway } from "./helpers.js";

let a: FakeOpenAI;
let b: FakeOpenAI;
let shadow: FakeOpenAI;
let gw: TestGateway;

beforeAll(async () => {
  [a, b, shadow] = await Promise.all([startFakeOpenAI(), startFakeOpenAI(), startFakeOpenAI()]);
  a.fallback = { kind: "ok", content: "answer from a" };
  b.fallback = { kind: "ok", content: "answer from b" };
  gw = await startGateway({
    auth: { required: false },
    backends: {
      a: { type: "openai", baseUrl: a.url },
      b: { type: "openai", baseUrl: b.url },
      s: { type: "openai", baseUrl: shadow.url },
    },
    routes: {
      chat: {
        variants: [
          { name: "a", backend: "a", model: "m-a" },
          { name: "b", backend: "b", model: "m-b" },
          { name: "s", backend: "s", model: "m-s" },
        ],
      },
    },
    experiments: {
      ab: {
        route: "chat",
        variants: [
          { variant: "a", weight: 50 },
          { variant: "b", weight: 50 },
        ],
        shadow: { variants: ["s"], share: 1 },
      },
    },
  });
});

afterAll(async () => {
  await gw.shutdown();
  await Promise.all([a.close(), b.close(), shadow.close()]);
});

async function post(path: string, body: unknown, user: string) {
  const res = await fetch(`${gw.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-switchyard-user": user },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return {
    id: res.headers.get("x-switchyard-request-id") as string,
    variant: res.headers.get("x-switchyard-variant"),
    experiment: res.headers.get("x-switchyard-experiment"),
    body: await res.text(),
  };
}

const calls = {
  chat: (user: string) =>
    post("/v1/chat/completions", { model: "chat", messages: [{ role: "user", content: "hi" }] }, user),
  messages: (user: string) =>
    post("/v1/messages", { model: "chat", max_tokens: 50, messages: [{ role: "user", content: "hi" }] }, user),
  responses: (user: string) => post("/v1/responses", { model: "chat", input: "hi" }, user),
};

describe("one experiment across the chat APIs", () => {
  it("gives each user the same variant whichever API they call, and logs the endpoint", async () => {
    const seen: Record<string, Set<string>> = {};
    const ids: string[] = [];
    for (let u = 0; u < 12; u++) {
      const user = `user-${u}`;
      for (const call of Object.values(calls)) {
        const r = await call(user);
        expect(r.experiment).toBe("ab");
        expect(r.body).toContain(`answer from ${r.variant}`);
        seen[user] ??= new Set();
        seen[user].add(r.variant as string);
        ids.push(r.id);
      }
    }
    for (const variants of Object.values(seen)) expect(variants.size).toBe(1);
    // 12 users over a 50/50 split: both variants serve someone (the chance of not is 2 × 0.5^12).
    expect(new Set(Object.values(seen).map((s) => [...s][0])).size).toBe(2);
    const rows = (await gw.rows()).filter((r) => ids.includes(r.id));
    expect(rows.map((r) => r.endpoint).sort()).toEqual(
      [...Array(12).fill("chat"), ...Array(12).fill("messages"), ...Array(12).fill("responses")].sort(),
    );
    expect(rows.every((r) => r.experiment === "ab" && r.assigned_by === "hash")).toBe(true);
    // Every one of the 36 calls was shadowed to the candidate.
    await eventually(async () => {
      await gw.gateway.log.flush();
      const shadows = await gw.gateway.db.selectFrom("shadow_results").select("request_id").execute();
      expect(shadows.filter((s) => ids.includes(s.request_id))).toHaveLength(36);
    });
  });

  it("takes feedback on an answer given through the Messages or Responses API", async () => {
    for (const call of [calls.messages, calls.responses]) {
      const r = await call("feedback-user");
      const res = await fetch(`${gw.url}/v1/feedback`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ request_id: r.id, kind: "thumbs", value: "up", user: "feedback-user" }),
      });
      expect(res.status).toBe(201);
    }
  });
});

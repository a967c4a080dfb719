/** Conversations stored from proxied traffic: no duplicated history, branches, search, export, isolation. */
import OpenAI from "openai";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../src/core/config/parse.js";
import { startServer } from "../src/server/serve.js";
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

type Msg = { role: "system" | "user" | "assistant"; content: string };

function client(key: string, session: string, user = "alice") {
  return new OpenAI({
    apiKey: key,
    baseURL: `${gw.url}/v1`,
    maxRetries: 0,
    defaultHeaders: { "x-switchyard-session": session, "x-switchyard-user": user },
  });
}

/** One chat turn the way a chat UI sends it: the whole history, then the answer appended. */
async function turn(key: string, session: string, history: Msg[], answer: string, stream = false): Promise<Msg[]> {
  upstream.script.push({ kind: "ok", content: answer });
  const c = client(key, session);
  let text = "";
  if (stream) {
    const s = await c.chat.completions.create({ model: "chat", messages: history, stream: true });
    for await (const chunk of s) text += chunk.choices[0]?.delta.content ?? "";
  } else {
    const r = await c.chat.completions.create({ model: "chat", messages: history });
    text = r.choices[0]?.message.content ?? "";
  }
  expect(text).toBe(answer);
  return [...history, { role: "assistant", content: answer }];
}

async function get(key: string, path: string): Promise<{ status: number; body: any; text: string; type: string }> {
  const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  const text = await res.text();
  const type = res.headers.get("content-type") ?? "";
  return { status: res.status, text, type, body: type.includes("json") ? JSON.parse(text) : undefined };
}

const plain = (messages: Array<{ message: { role: string; content: unknown } }>) =>
  messages.map((m) => ({ role: m.message.role, content: m.message.content }));

describe("a conversation built from resent history", () => {
  const session = "ses-travel-1";
  let history: Msg[] = [];

  it("stores each message once, streamed and unstreamed turns alike", async () => {
    history = [
      { role: "system", content: "You are a travel agent." },
      { role: "user", content: "Plan a weekend in Lisbon" },
    ];
    history = await turn(acme, session, history, "Day one: Alfama and the castle");
    history = await turn(
      acme,
      session,
      [...history, { role: "user", content: "Add a day trip to Sintra" }],
      "Take the train to Sintra",
      true,
    );

    const { status, body } = await get(acme, `/v1/conversations/${session}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      object: "conversation",
      id: session,
      title: "Plan a weekend in Lisbon",
      user: "alice",
      route: "chat",
    });
    expect(plain(body.messages)).toEqual([
      { role: "system", content: "You are a travel agent." },
      { role: "user", content: "Plan a weekend in Lisbon" },
      { role: "assistant", content: "Day one: Alfama and the castle" },
      { role: "user", content: "Add a day trip to Sintra" },
      { role: "assistant", content: "Take the train to Sintra" },
    ]);
    // Each message points at the one before it, and each answer at the request that produced it.
    for (let i = 1; i < body.messages.length; i++) expect(body.messages[i].parent_id).toBe(body.messages[i - 1].id);
    const logged = (await gw.rows()).filter((r) => r.session_id === session).map((r) => r.id);
    expect(body.messages[2].request_id).toBe(logged[0]);
    expect(body.messages[4].request_id).toBe(logged[1]);
  });

  it("keeps a regenerated answer as a branch; the newest branch is the active one", async () => {
    const beforeAnswer = history.slice(0, -1);
    await turn(acme, session, beforeAnswer, "Or the coastal walk to Cascais");

    const active = await get(acme, `/v1/conversations/${session}`);
    expect(plain(active.body.messages).map((m) => m.content)).toEqual([
      "You are a travel agent.",
      "Plan a weekend in Lisbon",
      "Day one: Alfama and the castle",
      "Add a day trip to Sintra",
      "Or the coastal walk to Cascais",
    ]);
    const all = await get(acme, `/v1/conversations/${session}?branches=all`);
    expect(all.body.messages).toHaveLength(6);
    const answers = all.body.messages.filter((m: any) => m.parent_id === active.body.messages[3].id);
    expect(answers.map((m: any) => m.message.content).sort()).toEqual([
      "Or the coastal walk to Cascais",
      "Take the train to Sintra",
    ]);

    const list = await get(acme, "/v1/conversations");
    const summary = list.body.data.find((c: any) => c.id === session);
    expect(summary).toMatchObject({ object: "conversation", message_count: 6, title: "Plan a weekend in Lisbon" });
  });

  it("renders Markdown", async () => {
    const md = await get(acme, `/v1/conversations/${session}?format=markdown`);
    expect(md.status).toBe(200);
    expect(md.type).toContain("text/markdown");
    expect(md.text).toContain("# Plan a weekend in Lisbon");
    expect(md.text).toContain("## user\n\nAdd a day trip to Sintra\n");
    expect(md.text).toContain("## assistant\n\nOr the coastal walk to Cascais\n");
  });
});

describe("search, listing and export", () => {
  beforeAll(async () => {
    await turn(
      acme,
      "ses-cooking",
      [{ role: "user", content: "How long do I boil an egg?" }],
      "Seven minutes for a jammy yolk",
    );
    await turn(acme, "ses-garden", [{ role: "user", content: "When to plant tomatoes" }], "After the last frost", true);
    await turn(globex, "ses-cooking", [{ role: "user", content: "Globex secret egg recipe" }], "Classified");
  });

  it("finds conversations by any word of any message, with a snippet", async () => {
    const hits = await get(acme, "/v1/conversations?q=jammy");
    expect(hits.status).toBe(200);
    expect(hits.body.data.map((c: any) => c.id)).toEqual(["ses-cooking"]);
    expect(hits.body.data[0].snippet).toContain("[jammy]");

    const prefix = await get(acme, "/v1/conversations?q=tomat*");
    expect(prefix.body.data.map((c: any) => c.id)).toEqual(["ses-garden"]);

    const none = await get(acme, "/v1/conversations?q=Classified");
    expect(none.body.data).toEqual([]);
  });

  it("takes search text literally: FTS5 syntax in it is no error", async () => {
    for (const q of ['"unbalanced', "egg AND (", "NEAR(", "egg*)", "-egg", "col:egg", "^egg"]) {
      const r = await get(acme, `/v1/conversations?q=${encodeURIComponent(q)}`);
      expect(r.status, q).toBe(200);
    }
    const r = await get(acme, `/v1/conversations?q=${encodeURIComponent("egg?")}`);
    expect(r.body.data.map((c: any) => c.id)).toEqual(["ses-cooking"]);
  });

  it("lists newest first and pages with a cursor", async () => {
    const first = await get(acme, "/v1/conversations?limit=2");
    expect(first.body.data.map((c: any) => c.id)).toEqual(["ses-garden", "ses-cooking"]);
    expect(first.body.has_more).toBe(true);
    const next = await get(acme, `/v1/conversations?limit=2&cursor=${first.body.next_cursor}`);
    expect(next.body.data.map((c: any) => c.id)).toEqual(["ses-travel-1"]);
    expect(next.body.has_more).toBe(false);
    expect(next.body.next_cursor).toBeUndefined();
  });

  it("loses no conversation between pages when many share one update time", async () => {
    // Written straight to the store: 25 sessions updated in the same millisecond.
    const now = Date.now() + 60_000;
    await gw.gateway.db
      .insertInto("conversations")
      .values(
        Array.from({ length: 25 }, (_, i) => ({
          tenant: "globex",
          id: `ses-tie-${String(i).padStart(2, "0")}`,
          created_at: now,
          updated_at: now,
        })),
      )
      .execute();
    const seen: string[] = [];
    let cursor = "";
    for (let page = 0; page < 10; page++) {
      const r = await get(globex, `/v1/conversations?limit=7${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...r.body.data.map((c: any) => c.id));
      if (!r.body.has_more) break;
      cursor = r.body.next_cursor;
    }
    expect(seen.filter((id) => id.startsWith("ses-tie-"))).toEqual(
      Array.from({ length: 25 }, (_, i) => `ses-tie-${String(24 - i).padStart(2, "0")}`),
    );
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("exports several as JSON or Markdown, by id or by search", async () => {
    const json = await get(acme, "/v1/conversations/export?id=ses-cooking&id=ses-garden");
    expect(json.status).toBe(200);
    expect(json.body.data.map((c: any) => [c.id, plain(c.messages)])).toEqual([
      [
        "ses-cooking",
        [
          { role: "user", content: "How long do I boil an egg?" },
          { role: "assistant", content: "Seven minutes for a jammy yolk" },
        ],
      ],
      [
        "ses-garden",
        [
          { role: "user", content: "When to plant tomatoes" },
          { role: "assistant", content: "After the last frost" },
        ],
      ],
    ]);
    const md = await get(acme, "/v1/conversations/export?q=frost&format=markdown");
    expect(md.type).toContain("text/markdown");
    expect(md.text).toContain("# When to plant tomatoes");
    expect(md.text).not.toContain("egg");
  });
});

describe("isolation and bad input", () => {
  it("keeps tenants apart, even under the same session id", async () => {
    const mine = await get(acme, "/v1/conversations/ses-cooking");
    expect(plain(mine.body.messages)[0]?.content).toBe("How long do I boil an egg?");
    const theirs = await get(globex, "/v1/conversations/ses-cooking");
    expect(plain(theirs.body.messages)[0]?.content).toBe("Globex secret egg recipe");
    const other = await get(globex, "/v1/conversations/ses-garden");
    expect(other.status).toBe(404);
    expect(other.body.error).toMatchObject({ code: "SY_ERR_CONVERSATION_UNKNOWN", type: "not_found_error" });
    const exp = await get(globex, "/v1/conversations/export?id=ses-garden");
    expect(exp.status).toBe(404);
  });

  it("answers bad parameters precisely", async () => {
    const cases: Array<[string, string]> = [
      ["/v1/conversations?limit=0", "limit"],
      ["/v1/conversations?limit=abc", "limit"],
      ["/v1/conversations?limit=500", "limit"],
      ["/v1/conversations?cursor=yesterday", "cursor"],
      ["/v1/conversations?q=egg&cursor=WzEsImEiXQ", "cursor"],
      ["/v1/conversations?q=a&q=b", "q"],
      ["/v1/conversations/ses-cooking?format=pdf", "format"],
      ["/v1/conversations/ses-cooking?branches=some", "branches"],
    ];
    for (const [path, param] of cases) {
      const r = await get(acme, path);
      expect(r.status, path).toBe(400);
      expect(r.body.error, path).toMatchObject({ code: "SY_ERR_REQUEST_INVALID_QUERY", param });
    }
    const noKey = await fetch(`${gw.url}/v1/conversations`);
    expect(noKey.status).toBe(401);
  });

  it("stores nothing for a failed request", async () => {
    upstream.script.push({ kind: "status", status: 400, body: { error: { message: "bad" } } });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${acme}`,
        "x-switchyard-session": "ses-failed",
      },
      body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "doomed" }] }),
    });
    expect(res.status).toBe(400);
    expect((await get(acme, "/v1/conversations/ses-failed")).status).toBe(404);
  });
});

describe("the store switch and an in-memory store", () => {
  for (const [label, store, url] of [
    ["stores turns in an in-memory database", true, ":memory:"],
    ["stores nothing when conversations.store is false", false, ":memory:"],
  ] as const) {
    it(label, async () => {
      const server = await startServer(
        validateConfig(
          {
            server: { port: 0 },
            database: { url },
            auth: { required: false },
            logging: { level: "silent" },
            conversations: { store },
            backends: { fake: { type: "openai", baseUrl: upstream.url } },
            routes: { chat: { variants: [{ name: "a", backend: "fake", model: "fake-model" }] } },
          },
          "test config",
        ),
        pino({ level: "silent" }),
      );
      try {
        const res = await fetch(`${server.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-switchyard-session": "ses-mem" },
          body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "remember me" }] }),
        });
        expect(res.status).toBe(200);
        const conv = await fetch(`${server.url}/v1/conversations/ses-mem`);
        if (store) {
          const body = (await conv.json()) as any;
          expect(plain(body.messages).map((m) => m.content)).toEqual(["remember me", "Hello from the fake upstream"]);
        } else {
          expect(conv.status).toBe(404);
          await conv.text();
        }
        // The request is logged either way.
        const logged = await server.gateway.db.selectFrom("request_log").select("session_id").execute();
        expect(logged).toEqual([{ session_id: "ses-mem" }]);
      } finally {
        await server.shutdown();
      }
    });
  }
});

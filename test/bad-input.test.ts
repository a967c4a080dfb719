/** Bad requests and bad keys get the exact status and OpenAI-shaped error body a client can act on. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKey } from "../src/store/keys.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { startGateway, type TestGateway } from "./helpers.js";

let upstream: FakeOpenAI;
let gw: TestGateway;
let acmeKey: string;
let globexKey: string;
let revokedKey: string;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  gw = await startGateway({
    server: { bodyLimit: "64kb" },
    backends: { fake: { type: "openai", baseUrl: upstream.url } },
    routes: {
      chat: { variants: [{ name: "a", backend: "fake", model: "fake-model" }] },
      "globex-only": { variants: [{ name: "a", backend: "fake", model: "fake-large" }] },
    },
    tenants: { acme: { routes: ["chat"] }, globex: { routes: ["globex-only"] } },
  });
  acmeKey = (await createKey(gw.gateway.db, { tenant: "acme", role: "app" })).key;
  globexKey = (await createKey(gw.gateway.db, { tenant: "globex", role: "app" })).key;
  const revoked = await createKey(gw.gateway.db, { tenant: "acme", role: "app" });
  revokedKey = revoked.key;
  await gw.gateway.db
    .updateTable("api_keys")
    .set({ revoked_at: Date.now() })
    .where("id", "=", revoked.record.id)
    .execute();
  await gw.gateway.keys.refresh();
});

afterAll(async () => {
  await gw.shutdown();
  await upstream.close();
});

async function post(body: string | object, key: string | null = acmeKey, headers: Record<string, string> = {}) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { error: Record<string, unknown> } };
}

const user = [{ role: "user", content: "hi" }];

describe("bad input", () => {
  it("malformed JSON → 400 naming the syntax problem", async () => {
    const r = await post('{"model": "chat", "messages": [');
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({
      type: "invalid_request_error",
      code: "SY_ERR_REQUEST_INVALID_JSON",
      param: null,
    });
    expect(r.body.error.message).toMatch(/^Request body is not valid JSON: /);
  });

  it("missing messages → 400 with param 'messages'", async () => {
    const r = await post({ model: "chat" });
    expect(r).toEqual({
      status: 400,
      body: {
        error: {
          message: "Invalid request body at 'messages': is required",
          type: "invalid_request_error",
          code: "SY_ERR_REQUEST_INVALID_BODY",
          param: "messages",
        },
      },
    });
  });

  it("empty messages → 400", async () => {
    const r = await post({ model: "chat", messages: [] });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe("Invalid request body at 'messages': must contain at least one message");
  });

  it("wrong types → 400 naming the field", async () => {
    expect((await post({ model: 42, messages: user })).body.error.param).toBe("model");
    const role = await post({ model: "chat", messages: [{ role: "robot", content: "x" }] });
    expect(role.body.error.param).toBe("messages[0].role");
    const content = await post({ model: "chat", messages: [{ role: "user", content: 7 }] });
    expect(content.body.error).toMatchObject({
      param: "messages[0].content",
      message:
        "Invalid request body at 'messages[0].content': expected a string or an array of content parts, got a number",
    });
    const stream = await post({ model: "chat", messages: user, stream: "yes" });
    expect(stream.body.error.param).toBe("stream");
    const temp = await post({ model: "chat", messages: user, temperature: "hot" });
    expect(temp.body.error.param).toBe("temperature");
    expect((await post("[1,2]")).body.error.message).toBe(
      "Invalid request body at '(body)': expected a JSON object, got an array",
    );
  });

  it("oversized body → 413", async () => {
    const r = await post({ model: "chat", messages: [{ role: "user", content: "x".repeat(70 * 1024) }] });
    expect(r.status).toBe(413);
    expect(r.body.error).toMatchObject({ code: "SY_ERR_REQUEST_TOO_LARGE", type: "invalid_request_error" });
    expect(r.body.error.message).toBe(`Request body is larger than the limit of ${64 * 1024} bytes`);
  });

  it("wrong content type → 415", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "text/plain", authorization: `Bearer ${acmeKey}` },
      body: "hello",
    });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("SY_ERR_REQUEST_MEDIA_TYPE");
  });

  it("unknown route → 404 with param 'model'", async () => {
    const r = await post({ model: "gpt-9", messages: user });
    expect(r).toEqual({
      status: 404,
      body: {
        error: {
          message: "The model 'gpt-9' does not exist or you do not have access to it",
          type: "not_found_error",
          code: "SY_ERR_ROUTE_UNKNOWN",
          param: "model",
        },
      },
    });
  });

  it("unknown variant named in the header → 400 listing the variants", async () => {
    const r = await post({ model: "chat", messages: user }, acmeKey, { "x-switchyard-variant": "zzz" });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe("Route 'chat' has no variant 'zzz' (variants: a)");
  });

  it("unknown path → 404 in OpenAI's shape", async () => {
    const res = await fetch(`${gw.url}/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "SY_ERR_REQUEST_NOT_FOUND", type: "not_found_error" } });
  });
});

describe("keys and tenants", () => {
  it("missing key → 401", async () => {
    const r = await post({ model: "chat", messages: user }, null);
    expect(r.status).toBe(401);
    expect(r.body.error).toMatchObject({ code: "SY_ERR_AUTH_MISSING_KEY", type: "authentication_error" });
  });

  it("wrong key → 401, and the key is not echoed", async () => {
    const r = await post({ model: "chat", messages: user }, "sy-not-a-real-key-0123456789");
    expect(r.status).toBe(401);
    expect(r.body.error).toMatchObject({ code: "SY_ERR_AUTH_INVALID_KEY", message: "Invalid API key" });
    expect(JSON.stringify(r.body)).not.toContain("sy-not-a-real-key");
  });

  it("revoked key → 401", async () => {
    expect((await post({ model: "chat", messages: user }, revokedKey)).status).toBe(401);
  });

  it("another tenant's route → 404, exactly as if it did not exist", async () => {
    const r = await post({ model: "globex-only", messages: user }, acmeKey);
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("SY_ERR_ROUTE_UNKNOWN");
    expect((await post({ model: "globex-only", messages: user }, globexKey)).status).toBe(200);
    expect((await post({ model: "chat", messages: user }, globexKey)).status).toBe(404);
  });

  it("a key lists only its tenant's routes", async () => {
    const list = async (key: string) => {
      const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      return ((await res.json()) as { data: { id: string }[] }).data.map((m) => m.id);
    };
    expect(await list(acmeKey)).toEqual(["chat"]);
    expect(await list(globexKey)).toEqual(["globex-only"]);
  });

  it("app keys may not read the admin backend view → 403", async () => {
    const res = await fetch(`${gw.url}/v1/admin/backends`, { headers: { authorization: `Bearer ${acmeKey}` } });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: "SY_ERR_AUTH_FORBIDDEN", type: "permission_error" } });
  });

  it("a key created after start works at once (the cache refreshes on a miss)", async () => {
    const fresh = await createKey(gw.gateway.db, { tenant: "acme", role: "app" });
    await new Promise((r) => setTimeout(r, 1100));
    expect((await post({ model: "chat", messages: user }, fresh.key)).status).toBe(200);
  });

  it("keys are stored hashed, never in the clear", async () => {
    const rows = await gw.gateway.db.selectFrom("api_keys").selectAll().execute();
    const dump = JSON.stringify(rows);
    for (const k of [acmeKey, globexKey]) expect(dump).not.toContain(k);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.key_hash))).toBe(true);
  });

  it("the request log records the tenant and key of each call", async () => {
    const rows = await gw.rows();
    const ok = rows.filter((r) => r.status === 200);
    expect(ok.length).toBeGreaterThan(0);
    expect(new Set(ok.map((r) => r.tenant))).toEqual(new Set(["acme", "globex"]));
    expect(ok.every((r) => r.key_id?.startsWith("key_"))).toBe(true);
  });
});

describe("hostile names and odd upstream answers", () => {
  it("does not mistake Object.prototype members for routes", async () => {
    for (const model of ["constructor", "__proto__", "toString"]) {
      const r = await post({ model, messages: user }, globexKey);
      expect(r.status).toBe(404);
    }
    const res = await fetch(`${gw.url}/v1/models/toString`, { headers: { authorization: `Bearer ${acmeKey}` } });
    expect(res.status).toBe(404);
  });

  it("logs a call whose upstream sent usage of the wrong types, with the tokens left empty", async () => {
    upstream.script.push({
      kind: "raw",
      body: JSON.stringify({
        id: "x",
        object: "chat.completion",
        created: 1,
        model: "fake-model",
        choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: { weird: true } }],
        usage: { prompt_tokens: "11", completion_tokens: { n: 2 } },
      }),
    });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${acmeKey}` },
      body: JSON.stringify({ model: "chat", messages: user }),
    });
    expect(res.status).toBe(200);
    const id = res.headers.get("x-switchyard-request-id");
    const row = (await gw.rows()).find((r) => r.id === id);
    expect(row).toMatchObject({ status: 200, input_tokens: null, output_tokens: null, finish_reason: null });
    // The log keeps working after it.
    expect((await post({ model: "chat", messages: user })).status).toBe(200);
    expect(gw.gateway.log.rejected).toBe(0);
  });

  it("answers 502 when the upstream's completion has a choice without a message", async () => {
    for (let i = 0; i < 3; i++)
      upstream.script.push({ kind: "raw", body: '{"object":"chat.completion","choices":[{}]}' });
    const r = await post({ model: "chat", messages: user });
    expect(r.status).toBe(502);
    expect(r.body.error.code).toBe("SY_ERR_UPSTREAM_PROTOCOL");
  });
});

describe("revocation", () => {
  it("stops accepting a key once the cache has refreshed after its revocation", async () => {
    const k = await createKey(gw.gateway.db, { tenant: "acme", role: "app" });
    await gw.gateway.keys.refresh();
    expect((await post({ model: "chat", messages: user }, k.key)).status).toBe(200);
    await gw.gateway.db.updateTable("api_keys").set({ revoked_at: Date.now() }).where("id", "=", k.record.id).execute();
    await gw.gateway.keys.refresh();
    expect((await post({ model: "chat", messages: user }, k.key)).status).toBe(401);
  });
});

/**
 * The keys admin API over real HTTP: an admin lists its tenant's keys (never the
 * key nor its hash), creates one that is answered once and works at once, and
 * revokes it so it is refused; another tenant's keys are out of reach (404),
 * app keys are refused (403), bad bodies get a 400 naming the field.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKey } from "../src/store/keys.js";
import { startGateway, type TestGateway } from "./helpers.js";

let gw: TestGateway;
let admin: string;
let adminId: string;
let app: string;
let otherId: string;

const call = (method: string, path: string, key: string, body?: unknown) =>
  fetch(`${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

beforeAll(async () => {
  gw = await startGateway({
    auth: { required: true },
    tenants: { acme: { routes: "*" }, other: { routes: "*" } },
    backends: { fake: { type: "openai", baseUrl: "http://127.0.0.1:9/v1" } },
    routes: { chat: { variants: [{ name: "a", backend: "fake", model: "m" }] } },
  });
  const db = gw.gateway.db;
  const a = await createKey(db, { tenant: "acme", role: "admin", name: "ops" });
  admin = a.key;
  adminId = a.record.id;
  app = (await createKey(db, { tenant: "acme", role: "app", name: "web" })).key;
  otherId = (await createKey(db, { tenant: "other", role: "admin", name: "theirs" })).record.id;
  await gw.gateway.keys.refresh();
});

afterAll(async () => {
  await gw.shutdown();
});

describe("the keys admin API", () => {
  it("lists the tenant's own keys with their prefix, never the key or its hash", async () => {
    const res = await call("GET", "/v1/admin/keys", admin);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(admin);
    expect(text).not.toContain("hash");
    const body = JSON.parse(text);
    expect(body.data.map((k: any) => [k.name, k.role, k.revoked_at])).toEqual([
      ["ops", "admin", null],
      ["web", "app", null],
    ]);
    expect(body.data[0]).toEqual({
      object: "api_key",
      id: adminId,
      name: "ops",
      role: "admin",
      prefix: admin.slice(0, 9),
      created_at: expect.any(Number),
      revoked_at: null,
      own: { requests_per_minute: null, tokens_per_minute: null, budget: null },
      limits: { requests_per_minute: null, tokens_per_minute: null },
      budgets: [],
    });
  });

  it("creates a key that works at once, shown once, then revokes it so it is refused", async () => {
    const created = await call("POST", "/v1/admin/keys", admin, { role: "app", name: "  ci bot " });
    expect(created.status).toBe(201);
    const k = (await created.json()) as any;
    expect(k).toMatchObject({ object: "api_key", name: "ci bot", role: "app", revoked_at: null });
    expect(k.key).toMatch(/^sy-/);
    expect(k.prefix).toBe(k.key.slice(0, 9));
    // The new key signs in at once, as an app key of the admin's tenant.
    const me = await call("GET", "/v1/me", k.key);
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ tenant: "acme", role: "app", key_id: k.id });
    // Listed without the key.
    const list = await (await call("GET", "/v1/admin/keys", admin)).text();
    expect(list).toContain(k.id);
    expect(list).not.toContain(k.key);

    const revoked = await call("POST", `/v1/admin/keys/${k.id}/revoke`, admin);
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as any).revoked_at).toEqual(expect.any(Number));
    const refused = await call("GET", "/v1/me", k.key);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as any).error.code).toBe("SY_ERR_AUTH_INVALID_KEY");
    // Revoking again answers the key as it is.
    expect((await call("POST", `/v1/admin/keys/${k.id}/revoke`, admin)).status).toBe(200);
  });

  it("keeps other tenants' keys out of reach", async () => {
    const list = await (await call("GET", "/v1/admin/keys", admin)).text();
    expect(list).not.toContain(otherId);
    const res = await call("POST", `/v1/admin/keys/${otherId}/revoke`, admin);
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error).toMatchObject({
      code: "SY_ERR_KEY_UNKNOWN",
      message: `No API key '${otherId}' in your tenant`,
    });
    const keys = await gw.gateway.db.selectFrom("api_keys").select("revoked_at").where("id", "=", otherId).execute();
    expect(keys).toEqual([{ revoked_at: null }]);
  });

  it("will not revoke the key the request is signed with", async () => {
    const res = await call("POST", `/v1/admin/keys/${adminId}/revoke`, admin);
    expect(res.status).toBe(409);
    expect(((await res.json()) as any).error.code).toBe("SY_ERR_KEY_REVOKE_SELF");
    expect((await call("GET", "/v1/admin/keys", admin)).status).toBe(200);
  });

  it("refuses app keys and bad bodies, naming what was wrong", async () => {
    expect((await call("GET", "/v1/admin/keys", app)).status).toBe(403);
    expect((await call("POST", "/v1/admin/keys", app, { role: "admin" })).status).toBe(403);
    const cases: [unknown, string][] = [
      [{ role: "owner" }, "role"],
      [{ name: "x" }, "role"],
      [{ role: "app", name: "" }, "name"],
      [{ role: "app", tenant: "other" }, "(body)"],
    ];
    for (const [body, param] of cases) {
      const res = await call("POST", "/v1/admin/keys", admin, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const err = ((await res.json()) as any).error;
      expect(err.code).toBe("SY_ERR_REQUEST_INVALID_BODY");
      expect(err.param).toBe(param);
    }
  });
});

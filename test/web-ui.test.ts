/**
 * The web UI served by the gateway itself, over real HTTP: index.html at / and
 * at the UI's own routes, hashed assets with long cache lives and the right
 * types, nothing outside the build reachable, and the API, probes and metrics
 * answering as before. Also GET /v1/me, which the UI signs in with.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerWebUi } from "../src/server/web-ui.js";
import { createKey } from "../src/store/keys.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { startGateway, type TestGateway } from "./helpers.js";

let upstream: FakeOpenAI;
let gw: TestGateway;
let appKey: string;
let adminKey: string;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  gw = await startGateway({
    auth: { required: true },
    backends: { fake: { type: "openai", baseUrl: upstream.url } },
    routes: { chat: { variants: [{ name: "only", backend: "fake", model: "fake-model" }] } },
    tenants: { acme: { routes: "*" } },
  });
  appKey = (await createKey(gw.gateway.db, { tenant: "acme", role: "app" })).key;
  adminKey = (await createKey(gw.gateway.db, { tenant: "acme", role: "admin" })).key;
  await gw.gateway.keys.refresh();
});

afterAll(async () => {
  await gw.shutdown();
  await upstream.close();
});

/** A GET with the path sent exactly as written (fetch would normalise `..` away). */
function rawGet(base: string, path: string): Promise<{ status: number; type: string; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => {
        body += d;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the web UI at /", () => {
  it("answers the app's page at / and at its client-side routes, never cached stale", async () => {
    for (const path of [
      "/",
      "/chat",
      "/history",
      "/history/ses_42",
      "/arena",
      "/admin/dashboard",
      "/admin/datasets",
      "/admin/backends",
      "/admin/keys",
    ]) {
      const res = await fetch(`${gw.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("cache-control")).toBe("no-cache");
      expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(await res.text()).toContain('<div id="root"></div>');
    }
  });

  it("serves the hashed assets the page names, with their types and a year's cache", async () => {
    const html = await (await fetch(`${gw.url}/`)).text();
    const script = /<script type="module" crossorigin src="([^"]+)"/.exec(html)?.[1];
    const style = /<link rel="stylesheet" crossorigin href="([^"]+)"/.exec(html)?.[1];
    expect(script).toMatch(/^\/assets\/index-[\w-]+\.js$/);
    expect(style).toMatch(/^\/assets\/index-[\w-]+\.css$/);
    const js = await fetch(`${gw.url}${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(js.headers.get("x-content-type-options")).toBe("nosniff");
    expect((await js.text()).length).toBeGreaterThan(1000);
    const css = await fetch(`${gw.url}${style}`);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    const icon = await fetch(`${gw.url}/favicon.svg`);
    expect(icon.headers.get("content-type")).toBe("image/svg+xml");
    expect(icon.headers.get("cache-control")).toBe("no-cache");
  });

  it("reaches nothing outside the build, however the path is written", async () => {
    for (const path of [
      "/assets/../../package.json",
      "/../package.json",
      "/assets/%2e%2e/%2e%2e/package.json",
      "/assets/..%2f..%2fpackage.json",
      "/%2e%2e/src/server/web-ui.ts",
      "/web/dist/index.html",
      "/assets/",
      "/assets/missing-123.js",
    ]) {
      const res = await rawGet(gw.url, path);
      expect(res.status, path).toBe(404);
      expect(res.body, path).not.toContain('"name": "switchyard"');
      expect(res.type, path).toContain("application/json");
    }
  });

  it("leaves the API, probes and metrics as they were", async () => {
    const models = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${appKey}` } });
    expect(models.status).toBe(200);
    expect(((await models.json()) as { data: { id: string }[] }).data.map((m) => m.id)).toEqual(["chat"]);
    expect((await fetch(`${gw.url}/v1/models`)).status).toBe(401);
    expect(await (await fetch(`${gw.url}/healthz`)).json()).toEqual({ status: "ok" });
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(200);
    const metrics = await fetch(`${gw.url}/metrics`);
    expect(metrics.headers.get("content-type")).toContain("text/plain");
    const unknown = await fetch(`${gw.url}/v1/chatt/completions`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe("SY_ERR_REQUEST_NOT_FOUND");
  });
});

describe("GET /v1/me", () => {
  const me = async (key?: string) => {
    const res = await fetch(`${gw.url}/v1/me`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
    return { status: res.status, text: await res.text() };
  };

  it("says the key's tenant and role, never the key", async () => {
    const app = await me(appKey);
    expect(app.status).toBe(200);
    expect(JSON.parse(app.text)).toMatchObject({
      object: "principal",
      tenant: "acme",
      role: "app",
      auth_required: true,
    });
    expect(app.text).not.toContain(appKey);
    const admin = await me(adminKey);
    expect(JSON.parse(admin.text)).toMatchObject({ tenant: "acme", role: "admin" });
  });

  it("refuses a wrong or missing key with the API's 401", async () => {
    const wrong = await me("sy-not-a-real-key");
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.text).error.code).toBe("SY_ERR_AUTH_INVALID_KEY");
    const missing = await me();
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.text).error.code).toBe("SY_ERR_AUTH_MISSING_KEY");
  });
});

describe("a server whose UI was not built", () => {
  it("says so at / and in its log, and still serves nothing else", async () => {
    const warnings: string[] = [];
    const app = Fastify();
    registerWebUi(app, { warn: (_o, msg) => warnings.push(msg) }, { root: mkdtempSync(join(tmpdir(), "no-ui-")) });
    await app.listen({ host: "127.0.0.1", port: 0 });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const res = await fetch(`${base}/`);
      expect(res.status).toBe(503);
      expect(await res.text()).toContain("its web UI was not built");
      expect(warnings.join("\n")).toContain("npm run build");
    } finally {
      await app.close();
    }
  });

  it("serves a build's files under their own paths only", async () => {
    const root = mkdtempSync(join(tmpdir(), "ui-"));
    mkdirSync(join(root, "assets"));
    writeFileSync(join(root, "index.html"), "<!doctype html><p>app</p>");
    writeFileSync(join(root, "assets", "app-1a2b.js"), "console.log(1)");
    writeFileSync(join(root, "robots.txt"), "User-agent: *");
    const app = Fastify();
    registerWebUi(app, { warn: () => {} }, { root });
    await app.listen({ host: "127.0.0.1", port: 0 });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      expect(await (await fetch(`${base}/history/x`)).text()).toBe("<!doctype html><p>app</p>");
      const js = await fetch(`${base}/assets/app-1a2b.js`);
      expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect((await fetch(`${base}/robots.txt`)).headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect((await rawGet(base, "/assets/../index.html")).status).toBe(404);
    } finally {
      await app.close();
    }
  });
});

/** The `switchyard` command as a newcomer uses it: check, keys, serve with and without a config. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, serve } from "./cli-process.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";

let upstream: FakeOpenAI;
let dir: string;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  dir = mkdtempSync(join(tmpdir(), "switchyard-cli-"));
  writeFileSync(
    join(dir, "switchyard.yaml"),
    `server: { port: 0 }
database: { url: ./gateway.db }
logging: { level: info }
backends:
  fake:
    type: openai
    baseUrl: \${FAKE_URL}
    apiKey: \${FAKE_KEY:-sk-upstream-cli-secret-0001}
routes:
  chat: { variants: [{ name: a, backend: fake, model: fake-model }] }
tenants:
  acme: { routes: [chat] }
`,
  );
});

afterAll(async () => {
  await upstream.close();
});

describe("switchyard command", () => {
  it("check validates the config", () => {
    const ok = runCli(["check"], dir, { FAKE_URL: upstream.url });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain("is valid: 1 backend(s), 1 route(s) (chat), 1 tenant(s)");
    const bad = runCli(["check"], dir, { FAKE_URL: "" });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("backends.fake.baseUrl: environment variable FAKE_URL is not set");
  });

  it("refuses a key for an undeclared tenant", () => {
    const r = runCli(["keys", "create", "--tenant", "nobody"], dir, { FAKE_URL: upstream.url });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("tenant 'nobody' is not declared in the config (declared: acme)");
  });

  it("creates a key that a running server accepts, lists it without the secret, and revokes it", async () => {
    const env = { FAKE_URL: upstream.url };
    const created = runCli(["keys", "create", "--tenant", "acme", "--role", "app", "--name", "web"], dir, env);
    expect(created.status).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^sy-[A-Za-z0-9_-]{43}$/);
    const id = /created (key_[0-9a-f]+)/.exec(created.stderr)?.[1];
    expect(id).toBeDefined();

    const list = runCli(["keys", "list"], dir, env);
    expect(list.stdout).toContain(
      `${id}  ${key.slice(0, 9)}…  tenant=acme  role=app  active  rpm=tenant tpm=tenant budget=tenant  web`,
    );
    expect(list.stdout).not.toContain(key);

    const server = await serve([], dir, env);
    try {
      const call = (k: string) =>
        fetch(`${server.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${k}` },
          body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }] }),
        });
      expect((await call(key)).status).toBe(200);
      expect((await call("sy-wrong")).status).toBe(401);
      expect(runCli(["keys", "revoke", id as string], dir, env).status).toBe(0);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    // Nothing secret reached the server's log.
    expect(server.output()).not.toContain(key);
    expect(server.output()).not.toContain("sk-upstream-cli-secret-0001");
  });

  it("conversations list and export read what the server stored", async () => {
    const env = { FAKE_URL: upstream.url };
    const key = runCli(["keys", "create", "--tenant", "acme"], dir, env).stdout.trim();
    const server = await serve([], dir, env);
    try {
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${key}`,
          "x-switchyard-session": "ses-cli",
        },
        body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hello from the command line" }] }),
      });
      expect(res.status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
    const list = runCli(["conversations", "list"], dir, env);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/^ses-cli {2}\d{4}-\d\d-\d\d \d\d:\d\d {2}2 msgs {2}hello from the command line$/m);
    const search = runCli(["conversations", "list", "--search", "command"], dir, env);
    expect(search.stdout).toContain("[command]");
    expect(runCli(["conversations", "list", "--search", "absent"], dir, env).stdout).toBe("no conversations\n");

    const json = runCli(["conversations", "export", "ses-cli"], dir, env);
    expect(json.status).toBe(0);
    const exported = JSON.parse(json.stdout);
    expect(exported.data[0].messages.map((m: { message: { content: string } }) => m.message.content)).toEqual([
      "hello from the command line",
      "Hello from the fake upstream",
    ]);
    const out = join(dir, "export.md");
    const md = runCli(["conversations", "export", "--search", "command", "--format", "md", "--out", out], dir, env);
    expect(md.stderr).toContain(`wrote 1 conversation(s) to ${out}`);
    expect(readFileSync(out, "utf8")).toContain(
      "## user\n\nhello from the command line\n\n## assistant\n\nHello from the fake upstream",
    );

    const missing = runCli(["conversations", "export", "nope"], dir, env);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("no conversation 'nope' in tenant 'acme'");
  });

  it("serve without a config probes local servers and says how to add more", async () => {
    const empty = mkdtempSync(join(tmpdir(), "switchyard-empty-"));
    const server = await serve(["--port", "0"], empty);
    try {
      expect(server.output()).toContain("No config file at");
      expect(server.output()).toContain("Ollama at http://127.0.0.1:11434/v1");
      expect(server.output()).toContain("write ");
      const res = await fetch(`${server.url}/healthz`);
      expect(res.status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it("prints help with examples", () => {
    const r = runCli(["--help"], dir);
    expect(r.stdout).toContain("switchyard keys create --tenant acme --role app");
    expect(runCli(["serve", "--help"], dir).stdout).toContain("curl http://127.0.0.1:8400/v1/chat/completions");
  });
});

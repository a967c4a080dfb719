/**
 * The llama-cpp backend's limits and failures: a full queue answers 503 at once,
 * a client that leaves frees its sequence, bad model files stop the start with a
 * message naming the key, a missing node-llama-cpp says how to install it, and a
 * local model that fails (load, overload, a broken adapter) falls back to a remote
 * backend along the route's chain.
 */

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, serve } from "./cli-process.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { writeTinyAdapter, writeTinyModel } from "./fixtures/tiny-gguf.js";
import { eventually, startGateway, type TestGateway } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "switchyard-llama-limits-"));
const modelPath = join(dir, "tiny.gguf");
writeTinyModel(modelPath);
const messages = [{ role: "user" as const, content: "hello the cat" }];
/** Long enough (thousands of tokens) that a generation is still running while the test acts. */
const LONG = 1000;

const backend = (extra: Record<string, unknown> = {}) => ({
  type: "llama-cpp",
  modelPath,
  contextSize: 1100,
  parallel: 1,
  maxQueue: 1,
  threads: 1,
  ...extra,
});

const localStats = (gw: TestGateway, name = "local") => {
  const b = gw.gateway.localEngines.get(name);
  if (!b) throw new Error(`no local engine ${name}`);
  return b.stats();
};

describe("overload and disconnects", () => {
  let gw: TestGateway;
  let client: OpenAI;
  beforeAll(async () => {
    gw = await startGateway({
      auth: { required: false },
      backends: { local: backend() },
      routes: { chat: { variants: [{ name: "local", backend: "local", model: "tiny" }] } },
    });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
    await gw.gateway.localEngines.get("local")?.engine.ready;
  });
  afterAll(() => gw?.shutdown());

  it("answers 503 SY_ERR_LOCAL_OVERLOADED at once past one generating and one queued", async () => {
    const order: string[] = [];
    const calls = Array.from({ length: 5 }, (_, i) =>
      client.chat.completions.create({ model: "chat", messages, max_tokens: i < 2 ? LONG : 8 }).then(
        () => order.push(`ok${i}`),
        (e: { status?: number; code?: string; error?: { type?: string } }) =>
          order.push(`${e.status}:${e.code}:${e.error?.type}:${i}`),
      ),
    );
    await Promise.all(calls);
    const refused = order.filter((o) => o.startsWith("503"));
    // The first takes the sequence, the second the queue's one place; the other three are refused.
    expect(order.filter((o) => o.startsWith("ok")).sort()).toEqual(["ok0", "ok1"]);
    expect(refused.map((o) => o.replace(/:\d$/, ""))).toEqual([
      "503:SY_ERR_LOCAL_OVERLOADED:overloaded_error",
      "503:SY_ERR_LOCAL_OVERLOADED:overloaded_error",
      "503:SY_ERR_LOCAL_OVERLOADED:overloaded_error",
    ]);
    // Refused without waiting for the generations: every refusal came back before either answer.
    expect(order.slice(0, 3)).toEqual(refused);
    // Overload is not a fault of the model: the breaker stays closed.
    expect(gw.gateway.backends.get("local")?.breakerState).toBe("closed");
  });

  it("frees the sequence as soon as a streaming client disconnects", async () => {
    const before = localStats(gw).generatedTokens;
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: "chat", messages, max_tokens: LONG, stream: true },
      { signal: controller.signal },
    );
    let seen = 0;
    try {
      for await (const _ of stream) {
        if (++seen === 3) controller.abort();
      }
    } catch {
      // the SDK's abort
    }
    expect(localStats(gw).active + localStats(gw).queued).toBeLessThanOrEqual(1);
    await eventually(() => expect(localStats(gw).active).toBe(0));
    // Stopped, not finished: far fewer tokens were made than the request allowed.
    expect(localStats(gw).generatedTokens - before).toBeLessThan(LONG / 2);
    // The one sequence serves the next request.
    const next = await client.chat.completions.create({ model: "chat", messages, max_tokens: 4 });
    expect(next.usage?.completion_tokens).toBe(4);
    const rows = await gw.rows();
    expect(rows.some((r) => r.status === 499 && r.stream === 1)).toBe(true);
  });

  it("gives the sequence back when a streamed request is refused before generating", async () => {
    const tooLong = [{ role: "user" as const, content: "the ".repeat(1200) }];
    for (let i = 0; i < 3; i++) {
      await expect(
        client.chat.completions.create({ model: "chat", messages: tooLong, stream: true }),
      ).rejects.toMatchObject({ status: 400, code: "SY_ERR_LOCAL_PROMPT_TOO_LONG" });
    }
    expect(localStats(gw)).toMatchObject({ active: 0, queued: 0 });
  });

  it("shows the engine in /metrics and the backends' health view", async () => {
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/switchyard_local_model_loaded\{backend="local"\} 1/);
    expect(metrics).toMatch(/switchyard_local_sequences_active\{backend="local"\} 0/);
    expect(metrics).toMatch(/switchyard_local_sequences_queued\{backend="local"\} 0/);
    expect(metrics).toMatch(/switchyard_local_memory_bytes\{backend="local"\} [1-9]\d+/);
    expect(metrics).toMatch(/switchyard_local_tokens_per_second\{backend="local"\} [1-9]/);
    expect(metrics).toMatch(/switchyard_local_generated_tokens_total\{backend="local"\} [1-9]\d*/);
    const health = (await (await fetch(`${gw.url}/v1/admin/backends`)).json()) as {
      data: { name: string; kind: string; local: Record<string, unknown> }[];
    };
    // The weights and the context's KV cache and buffers: more than the file alone.
    expect(health.data[0]?.local.memory_bytes).toBeGreaterThan(statSync(modelPath).size);
    expect(health.data[0]).toMatchObject({
      name: "local",
      kind: "llama-cpp",
      local: { model: "ready", sequences_active: 0, sequences_queued: 0, parallel: 1, max_queue: 1, threads: 1 },
    });
  });
});

describe("adapters past the bound", () => {
  let gw: TestGateway;
  let client: OpenAI;
  beforeAll(async () => {
    const adapters: Record<string, { path: string }> = {};
    for (const [i, name] of ["a", "b", "c"].entries()) {
      const path = join(dir, `adapter-${name}.gguf`);
      writeTinyAdapter(path, 20 + i);
      adapters[name] = { path };
    }
    gw = await startGateway({
      auth: { required: false },
      backends: { local: backend({ adapters, maxLoadedAdapters: 2, contextSize: 256 }) },
      routes: {
        chat: {
          variants: ["a", "b", "c"].map((a) => ({ name: a, backend: "local", model: "tiny", adapter: a })),
        },
      },
    });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  afterAll(() => gw?.shutdown());

  const ask = async (variant: string) =>
    (
      await client.chat.completions.create(
        { model: "chat", messages, max_tokens: 12, seed: 5 },
        { headers: { "x-switchyard-variant": variant } },
      )
    ).choices[0]?.message.content;

  it("keeps the most recently used ones, unloads the least recently used, and answers the same after a reload", async () => {
    const first = { a: await ask("a"), b: await ask("b") };
    expect(localStats(gw).adaptersLoaded).toEqual(["b", "a"]);
    await ask("a");
    const c = await ask("c");
    // b was the least recently used: unloaded for c.
    expect(localStats(gw).adaptersLoaded).toEqual(["c", "a"]);
    expect(new Set([first.a, first.b, c]).size).toBe(3);
    // b loads again on the same base and writes what it wrote before.
    expect(await ask("b")).toBe(first.b);
    expect(localStats(gw).adaptersLoaded).toEqual(["b", "c"]);
  });
});

describe("one adapter slot, two sequences", () => {
  let gw: TestGateway;
  let client: OpenAI;
  beforeAll(async () => {
    const adapters: Record<string, { path: string }> = {};
    for (const [i, name] of ["x", "y"].entries()) {
      const path = join(dir, `adapter-${name}.gguf`);
      writeTinyAdapter(path, 40 + i);
      adapters[name] = { path };
    }
    gw = await startGateway({
      auth: { required: false },
      backends: { local: backend({ adapters, maxLoadedAdapters: 1, parallel: 2, maxQueue: 2 }) },
      routes: {
        chat: { variants: ["x", "y"].map((a) => ({ name: a, backend: "local", model: "tiny", adapter: a })) },
      },
    });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  afterAll(() => gw?.shutdown());

  const ask = (variant: string, max_tokens: number) =>
    client.chat.completions.create(
      { model: "chat", messages, max_tokens, seed: 3 },
      { headers: { "x-switchyard-variant": variant } },
    );

  it("queues a request whose adapter has no room until the busy one is idle, then swaps it", async () => {
    const alone = (await ask("y", 8)).choices[0]?.message.content;
    const long = ask("x", LONG);
    await eventually(() => expect(localStats(gw).adaptersLoaded).toEqual(["x"]));
    // A sequence is free, but y cannot load while x is generating: it waits in the queue.
    const waiting = ask("y", 8);
    await eventually(() => expect(localStats(gw)).toMatchObject({ active: 1, queued: 1 }));
    // Another x could start on the free sequence, but it queues behind y: y is not starved.
    const again = ask("x", 8);
    await eventually(() => expect(localStats(gw)).toMatchObject({ active: 1, queued: 2 }));
    const [x, y, x2] = await Promise.all([long, waiting, again]);
    expect(x.usage?.completion_tokens).toBe(LONG);
    expect(y.choices[0]?.message.content).toBe(alone);
    expect(x2.usage?.completion_tokens).toBe(8);
    // y ran before the second x: the slot went x, y, then x again.
    expect(localStats(gw).adaptersLoaded).toEqual(["x"]);
  });
});

describe("fallback to a remote backend", () => {
  let upstream: FakeOpenAI;
  beforeAll(async () => {
    upstream = await startFakeOpenAI();
  });
  afterAll(() => upstream?.close());

  const route = (variant: Record<string, unknown> = {}) => ({
    chat: {
      variants: [{ name: "local", backend: "local", model: "tiny", ...variant }],
      fallbacks: [{ backend: "remote", model: "fake-model" }],
    },
  });

  it("serves from the remote backend when the local model fails to load", async () => {
    const broken = join(dir, "no-output-norm.gguf");
    writeTinyModel(broken, 1, "output_norm.weight");
    const gw = await startGateway({
      auth: { required: false },
      backends: { local: backend({ modelPath: broken }), remote: { type: "openai", baseUrl: upstream.url } },
      routes: route(),
    });
    try {
      await expect(gw.gateway.localEngines.get("local")?.engine.ready).rejects.toThrow();
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
      const res = await client.chat.completions.create({ model: "chat", messages });
      expect(res.choices[0]?.message.content).toBe("Hello from the fake upstream");
      const [row] = await gw.rows();
      expect(row).toMatchObject({ backend: "remote", fallback_used: 1, status: 200 });
      expect(row?.failures).toContain("SY_ERR_LOCAL_MODEL_UNAVAILABLE");
      expect(localStats(gw).state).toBe("failed");
    } finally {
      await gw.shutdown();
    }
  });

  it("serves from the remote backend when the local queue is full, and when an adapter fails to load", async () => {
    // A well-formed adapter, but for another architecture: it reads as GGUF and fails to load.
    const wrongArch = join(dir, "wrong-arch-adapter.gguf");
    writeTinyAdapter(wrongArch, 9, 4, "gpt2");
    const gw = await startGateway({
      auth: { required: false },
      backends: {
        local: backend({ maxQueue: 0, adapters: { bad: { path: wrongArch } } }),
        remote: { type: "openai", baseUrl: upstream.url },
      },
      routes: { ...route(), bad: { ...route({ adapter: "bad" }).chat } },
    });
    try {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
      await gw.gateway.localEngines.get("local")?.engine.ready;
      const long = client.chat.completions.create({ model: "chat", messages, max_tokens: LONG });
      await eventually(() => expect(localStats(gw).active).toBe(1));
      const overflow = await client.chat.completions.create({ model: "chat", messages });
      expect(overflow.choices[0]?.message.content).toBe("Hello from the fake upstream");
      expect((await long).usage?.completion_tokens).toBe(LONG);
      const viaBad = await client.chat.completions.create({ model: "bad", messages });
      expect(viaBad.choices[0]?.message.content).toBe("Hello from the fake upstream");
      const rows = await gw.rows();
      const byFailure = (code: string) => rows.find((r) => r.failures?.includes(code));
      expect(byFailure("SY_ERR_LOCAL_OVERLOADED")).toMatchObject({ backend: "remote", fallback_used: 1 });
      expect(byFailure("SY_ERR_LOCAL_MODEL_UNAVAILABLE")).toMatchObject({ route: "bad", backend: "remote" });
      expect(rows.find((r) => r.backend === "local")).toMatchObject({ output_tokens: LONG, fallback_used: 0 });
    } finally {
      await gw.shutdown();
    }
  });
});

/** Runs the built command; a start that wrongly succeeds is cut after a while rather than hanging the test. */
function runCli(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { status: r.status, stderr: r.stderr };
}

describe("start errors", () => {
  const configFile = (local: Record<string, unknown>) => {
    const file = join(mkdtempSync(join(tmpdir(), "switchyard-llama-cfg-")), "switchyard.yaml");
    writeFileSync(
      file,
      JSON.stringify({
        database: { url: join(dir, "start.db") },
        backends: { local: { type: "llama-cpp", modelPath, ...local } },
        routes: { chat: { variants: [{ name: "a", backend: "local", model: "tiny" }] } },
      }),
    );
    return file;
  };

  it("stops on a missing, a non-GGUF and a truncated model file, naming the key", () => {
    const garbage = join(dir, "garbage.gguf");
    writeFileSync(garbage, "this is not a model\n".repeat(100));
    const truncated = join(dir, "truncated.gguf");
    const full = readFileSync(modelPath);
    writeFileSync(truncated, full.subarray(0, 2000));
    const cases: [string, RegExp][] = [
      [join(dir, "absent.gguf"), /backends\.local\.modelPath: model file '.*absent\.gguf': no such file/],
      [garbage, /backends\.local\.modelPath: model file '.*garbage\.gguf': cannot be read as GGUF: not a GGUF file/],
      [truncated, /backends\.local\.modelPath: model file '.*truncated\.gguf': cannot be read as GGUF/],
    ];
    for (const [path, message] of cases) {
      const r = runCli(["serve", "-c", configFile({ modelPath: path }), "-p", "0"], dir);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toContain("Local models");
    }
  });

  it("stops on an adapter file that does not exist", () => {
    const r = runCli(
      ["serve", "-c", configFile({ adapters: { t: { path: join(dir, "nope.gguf") } } }), "-p", "0"],
      dir,
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/backends\.local\.adapters\.t\.path: adapter file '.*nope\.gguf': no such file/);
  });

  it("says how to install node-llama-cpp when it is missing", async () => {
    // A resolve hook that makes node-llama-cpp unresolvable, as when optional dependencies were omitted.
    const hook = join(dir, "hide-hook.mjs");
    writeFileSync(
      hook,
      `export async function resolve(s, c, next) {
        if (s === "node-llama-cpp") { const e = new Error("Cannot find package 'node-llama-cpp'"); e.code = "ERR_MODULE_NOT_FOUND"; throw e; }
        return next(s, c);
      }`,
    );
    const register = join(dir, "hide.mjs");
    writeFileSync(register, `import { register } from "node:module"; register(${JSON.stringify(`file://${hook}`)});`);
    const r = runCli(["serve", "-c", configFile({}), "-p", "0"], dir, { NODE_OPTIONS: `--import=${register}` });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("backends.local: type llama-cpp needs the optional package node-llama-cpp");
    expect(r.stderr).toContain("npm install node-llama-cpp");
    // Without a llama-cpp backend the same process serves: nothing else imports node-llama-cpp.
    const plain = join(dir, "plain.yaml");
    writeFileSync(
      plain,
      JSON.stringify({
        database: { url: join(dir, "plain.db") },
        auth: { required: false },
        backends: { remote: { type: "openai", baseUrl: "http://127.0.0.1:9/v1" } },
        routes: { chat: { variants: [{ name: "a", backend: "remote", model: "m" }] } },
      }),
    );
    const server = await serve(["-c", plain, "-p", "0"], dir, { NODE_OPTIONS: `--import=${register}` });
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

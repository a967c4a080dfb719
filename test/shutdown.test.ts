/**
 * SIGTERM under load: in-flight answers finish, new ones are refused, and every
 * answered request has its row in the log after exit (none lost from the queue).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve } from "./cli-process.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { rowsAfterShutdown } from "./helpers.js";

let upstream: FakeOpenAI;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  upstream.fallback = { kind: "ok", content: "one two three four five six seven eight", chunkDelayMs: 15, delayMs: 20 };
});

afterAll(async () => {
  await upstream.close();
});

interface Answer {
  id: string;
  stream: boolean;
  complete: boolean;
}

async function oneCall(url: string, stream: boolean): Promise<Answer | "refused"> {
  let res: Response;
  try {
    res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }], stream }),
    });
  } catch {
    return "refused";
  }
  const text = await res.text().catch(() => "");
  if (res.status !== 200) return "refused";
  const id = res.headers.get("x-switchyard-request-id") ?? "";
  return { id, stream, complete: stream ? text.trimEnd().endsWith("data: [DONE]") : text.includes('"choices"') };
}

describe("graceful shutdown", () => {
  it("loses no log row of an answered request", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-shutdown-"));
    const dbPath = join(dir, "log.db");
    writeFileSync(
      join(dir, "switchyard.yaml"),
      `server: { port: 0, shutdownGraceMs: 10000 }
database: { url: ${dbPath} }
auth: { required: false }
# A slow flush keeps many rows queued in memory when the signal arrives.
requestLog: { flushIntervalMs: 5000, batchSize: 100000 }
backends:
  fake: { type: openai, baseUrl: "${upstream.url}" }
routes:
  chat: { variants: [{ name: a, backend: fake, model: fake-model }] }
`,
    );
    const server = await serve([], dir);
    const answers: Answer[] = [];
    let stopping = false;
    const worker = async (n: number) => {
      for (let i = 0; ; i++) {
        const r = await oneCall(server.url, (i + n) % 2 === 0);
        if (r === "refused") {
          if (stopping) return;
          continue;
        }
        answers.push(r);
      }
    };
    const workers = Array.from({ length: 16 }, (_, n) => worker(n));
    while (answers.length < 150) await new Promise((r) => setTimeout(r, 20));
    stopping = true;
    const exit = server.stop("SIGTERM");
    await Promise.all(workers);
    expect(await exit).toBe(0);

    // Every answer that reached a client was whole, streams included.
    expect(answers.every((a) => a.complete)).toBe(true);
    const rows = await rowsAfterShutdown(dbPath);
    const ids = new Set(rows.map((r) => r.id));
    const missing = answers.filter((a) => !ids.has(a.id));
    expect(missing).toEqual([]);
    expect(rows.filter((r) => r.status === 200)).toHaveLength(answers.length);
    expect(server.output()).toContain('"msg":"shutdown complete"');
  });
});

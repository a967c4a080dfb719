/**
 * `switchyard replay` as a user runs it, against a fake upstream with known
 * answers: a run of 300 items × 2 candidates is killed (SIGKILL) halfway and
 * resumed; the resumed run sends exactly the pairs that had no stored result
 * (none twice, none done again), and the final report's numbers are the known
 * ones. Also: a Ctrl-C (SIGINT) leaves a resumable run and says how to finish.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/store/db.js";
import { CLI } from "./cli-process.js";
import { answerArithmetic, arithmeticItems, whichItem } from "./fixtures/arithmetic.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { eventually } from "./helpers.js";

let upstream: FakeOpenAI;
let dir: string;

function start(args: string[]): {
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
} {
  const child = spawn(process.execPath, [CLI, "-c", join(dir, "switchyard.yaml"), ...args], { cwd: dir });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d) => {
    stdout += d;
  });
  child.stderr?.on("data", (d) => {
    stderr += d;
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((r) =>
    child.once("exit", (code) => r({ code, stdout, stderr })),
  );
  return { child, done };
}

async function storedPairs(run: string): Promise<Set<string>> {
  const db = openDatabase(join(dir, "s.db"));
  try {
    const rows = await db.selectFrom("replay_results").select(["idx", "candidate"]).where("run_id", "=", run).execute();
    return new Set(rows.map((r) => `${r.idx}:${r.candidate === "qa/good" ? "good" : "bad"}`));
  } finally {
    await db.destroy();
  }
}

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  // A little latency per answer, so that a kill lands mid-run.
  answerArithmetic(upstream, 3);
  dir = mkdtempSync(join(tmpdir(), "switchyard-replay-cli-"));
  writeFileSync(
    join(dir, "switchyard.yaml"),
    `database: { url: ${join(dir, "s.db")} }
backends:
  fake: { type: openai, baseUrl: "${upstream.url}", retry: { maxRetries: 0 } }
routes:
  qa:
    variants:
      - { name: good, backend: fake, model: good }
      - { name: bad, backend: fake, model: bad }
`,
  );
  writeFileSync(join(dir, "qa.jsonl"), arithmeticItems(300));
});

afterAll(async () => {
  await upstream.close();
});

describe("switchyard replay", () => {
  it("killed halfway and resumed, sends only what had no result and reports the known numbers", async () => {
    const first = start([
      "replay",
      "--dataset",
      "qa.jsonl",
      "--candidate",
      "qa/good,qa/bad",
      "--run",
      "r1",
      "-j",
      "4",
      "--scorers",
      "exact,chrf",
    ]);
    await eventually(async () => {
      expect((await storedPairs("r1")).size).toBeGreaterThanOrEqual(250);
    }, 20_000);
    first.child.kill("SIGKILL");
    await first.done;
    const before = await storedPairs("r1");
    expect(before.size).toBeLessThan(600);
    const sentFirst = upstream.requests.length;
    expect(sentFirst).toBeGreaterThanOrEqual(before.size);
    upstream.requests.length = 0;

    const second = await start(["replay", "--resume", "r1", "-j", "4", "--format", "json"]).done;
    expect(second.stderr).toContain(`replay run r1: 600 answers scored (${before.size} already were)`);
    expect(second.code).toBe(0);
    const resent = upstream.requests.map((r) => whichItem(r.body));
    // Exactly the pairs without a result: none twice, none already scored.
    expect(new Set(resent).size).toBe(resent.length);
    expect(resent.length).toBe(600 - before.size);
    for (const k of resent) expect(before.has(k)).toBe(false);

    const report = JSON.parse(second.stdout);
    const exact = (c: string) =>
      report.candidates.find((x: any) => x.candidate === c).scores.find((s: any) => s.scorer === "exact");
    expect(exact("qa/good")).toMatchObject({ n: 300, mean: 1 });
    expect(exact("qa/bad")).toMatchObject({ n: 300, mean: 0.5 });
    expect(report.comparisons.find((c: any) => c.scorer === "exact")).toMatchObject({
      method: "mcnemar",
      n: 300,
      baselineOnly: 150,
      candidateOnly: 0,
      difference: { estimate: -0.5 },
    });
    // The report command renders the same run again.
    const md = await start(["replay", "report", "r1"]).done;
    expect(md.stdout).toContain("| qa/bad | exact | 300 | 1.000 | 0.500 |");
  }, 60_000);

  it("stops on Ctrl-C with a resumable run and the command that finishes it", async () => {
    const run = start(["replay", "--dataset", "qa.jsonl", "--candidate", "qa/good", "--run", "r2", "-j", "2"]);
    await eventually(async () => {
      expect((await storedPairs("r2")).size).toBeGreaterThanOrEqual(20);
    }, 20_000);
    run.child.kill("SIGINT");
    const out = await run.done;
    expect(out.code).toBe(130);
    expect(out.stderr).toMatch(/interrupted: \d+\/300 scored; finish with: switchyard replay --resume r2/);
    const list = await start(["replay", "list"]).done;
    expect(list.stdout).toMatch(/r2 {2}interrupted {2}300 items {2}qa\/good/);
  }, 60_000);
});

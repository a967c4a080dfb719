/**
 * Offline evaluation in-process against a fake upstream with known answers:
 * 300 items through a good and a bad candidate score exactly as expected, the
 * comparison report's numbers (means, McNemar counts and p-value, the paired
 * interval, the bootstrap of a similarity) are asserted, a resumed run sends
 * nothing, and each scorer (contains, regex, json, schema, judge) and a
 * candidate with a prompt version behave as documented.
 */

import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../src/core/config/parse.js";
import { seededRandom } from "../src/core/random.js";
import { replayMarkdown } from "../src/core/replay/compare.js";
import { parseReplayJsonl, type ReplayItem } from "../src/core/replay/dataset.js";
import { chrF } from "../src/core/similarity.js";
import { binomialHalfCdf, mcnemar, pairedBootstrap } from "../src/core/stats.js";
import { PromptRegistry } from "../src/server/prompt-registry.js";
import {
  createReplayRun,
  openBackends,
  type ReplayEnv,
  replayComparison,
  runReplay,
} from "../src/server/replay-runner.js";
import { type Db, migrateToLatest, openDatabase } from "../src/store/db.js";
import { createVersion } from "../src/store/prompts.js";
import { loadResults, loadRun } from "../src/store/replay.js";
import { answerArithmetic, arithmeticItems } from "./fixtures/arithmetic.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { tempDbPath } from "./helpers.js";

let upstream: FakeOpenAI;
let db: Db;
let env: ReplayEnv;

const items = (text: string): ReplayItem[] => {
  const p = parseReplayJsonl(text);
  if (!p.ok) throw new Error(p.problems.join("\n"));
  return p.items;
};

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  answerArithmetic(upstream);
  db = openDatabase(tempDbPath());
  await migrateToLatest(db);
  const config = validateConfig(
    {
      backends: {
        fake: {
          type: "openai",
          baseUrl: upstream.url,
          retry: { maxRetries: 0 },
          prices: { good: { input: 1, output: 1 } },
        },
      },
      routes: {
        qa: {
          variants: [
            { name: "good", backend: "fake", model: "good" },
            { name: "bad", backend: "fake", model: "bad" },
            { name: "judge", backend: "fake", model: "judge" },
            { name: "prompted", backend: "fake", model: "good", prompt: "tutor@1" },
          ],
        },
      },
    },
    "test",
  );
  await createVersion(
    db,
    "tutor",
    { variables: { level: {} }, template: { system: "Explain at {{level}} level." } },
    { author: "t", message: "" },
  );
  const prompts = new PromptRegistry(db, pino({ level: "silent" }));
  await prompts.start({ poll: false });
  env = { db, config, backends: await openBackends(config), prompts };
});

afterAll(async () => {
  await Promise.all([...env.backends.values()].map((b) => b.close()));
  await db.destroy();
  await upstream.close();
});

describe("a replay of 300 items with known answers", () => {
  let runId: string;

  it("scores every answer exactly as expected", async () => {
    runId = await createReplayRun(env, {
      tenant: "default",
      source: { file: "arithmetic" },
      items: items(arithmeticItems(300)),
      settings: { candidates: ["qa/good", "qa/bad"], scorers: { scorers: ["exact", "contains", "chrf"] } },
    });
    const seen: number[] = [];
    const p = await runReplay(env, runId, { concurrency: 8, onProgress: (x) => seen.push(x.done) });
    expect(p).toEqual({ done: 600, total: 600, skipped: 0 });
    expect(seen[seen.length - 1]).toBe(600);
    expect(upstream.requests).toHaveLength(600);
    const results = await loadResults(db, runId);
    expect(results).toHaveLength(600);
    for (const r of results) {
      const right = r.candidate === "qa/good" || r.idx % 2 === 0;
      expect(r.output).toBe(String(right ? 2 * r.idx : 2 * r.idx + 1));
      expect(r.scores.exact).toBe(right ? 1 : 0);
      expect(r.scores.chrf).toBeCloseTo(chrF(String(2 * r.idx), r.output as string), 12);
    }
  });

  it("reports means with intervals and paired tests whose numbers are known", async () => {
    const r = await replayComparison(db, runId);
    const [good, bad] = r.candidates;
    expect(good?.answered).toBe(300);
    expect(good?.scores.find((s) => s.scorer === "exact")?.mean).toBe(1);
    expect(bad?.scores.find((s) => s.scorer === "exact")?.mean).toBe(0.5);
    // 11 input and 1 output token per answer at $1 per million each.
    expect(good?.costUsd).toBeCloseTo((300 * 12) / 1e6, 12);
    const exact = r.comparisons.find((c) => c.scorer === "exact");
    expect(exact).toMatchObject({
      baseline: "qa/good",
      candidate: "qa/bad",
      method: "mcnemar",
      n: 300,
      baselineOnly: 150,
      candidateOnly: 0,
    });
    // Exact McNemar: 2 · P(X ≤ 0), X ~ Bin(150, ½) = 2⁻¹⁴⁹.
    expect((exact?.pValue as number) / 2 ** -149).toBeCloseTo(1, 10);
    // (0 − 150) / 300 ± 1.959964 · √(150 − 150²/300) / 300.
    const half = (1.959963984540054 * Math.sqrt(75)) / 300;
    expect(exact?.difference.estimate).toBe(-0.5);
    expect(exact?.difference.lo).toBeCloseTo(-0.5 - half, 9);
    expect(exact?.difference.hi).toBeCloseTo(-0.5 + half, 9);
    const chrf = r.comparisons.find((c) => c.scorer === "chrf");
    const results = await loadResults(db, runId);
    const meanOf = (c: string) =>
      results.filter((x) => x.candidate === c).reduce((a, x) => a + (x.scores.chrf as number), 0) / 300;
    expect(chrf?.method).toBe("paired-bootstrap");
    expect(chrf?.difference.estimate).toBeCloseTo(meanOf("qa/bad") - meanOf("qa/good"), 12);
    expect(chrf?.difference.lo).toBeLessThan(chrf?.difference.estimate as number);
    expect(chrf?.difference.hi).toBeLessThan(0);
    const latency = r.comparisons.find((c) => c.scorer === "latency_ms");
    const meanLatency = (c: string) =>
      results.filter((x) => x.candidate === c).reduce((a, x) => a + x.latency_ms, 0) / 300;
    expect(latency).toMatchObject({ method: "paired-bootstrap", n: 300 });
    expect(latency?.difference.estimate).toBeCloseTo(meanLatency("qa/bad") - meanLatency("qa/good"), 9);
    // The same report twice: the bootstrap is seeded.
    expect(await replayComparison(db, runId)).toEqual(r);
    expect(replayMarkdown(r)).toContain("| qa/bad | exact | 300 | 1.000 | 0.500 |");
  });

  it("sends nothing when resumed after it finished", async () => {
    const before = upstream.requests.length;
    const p = await runReplay(env, runId, { concurrency: 8 });
    expect(p).toEqual({ done: 600, total: 600, skipped: 600 });
    expect(upstream.requests.length).toBe(before);
  });
});

describe("the scorers", () => {
  it("contains, regex, json, schema and the judge score as documented, the judge's raw verdict kept", async () => {
    upstream.requests.length = 0;
    const data = [
      // q0: answer "0"; q1 (bad): "3" for reference "2".
      { messages: [{ role: "user", content: "What is 0 plus 0?" }], reference: "0", regex: "^\\d$" },
      { messages: [{ role: "user", content: "What is 1 plus 1?" }], reference: "2", contains: ["3"] },
      { messages: [{ role: "user", content: "What is 4 plus 4?" }], schema: { type: "number", minimum: 9 } },
    ]
      .map((x) => JSON.stringify(x))
      .join("\n");
    const id = await createReplayRun(env, {
      tenant: "default",
      source: { file: "scorers" },
      items: items(data),
      settings: {
        candidates: ["qa/bad"],
        scorers: { scorers: ["exact", "contains", "regex", "json", "schema", "judge"], judge: "qa/judge" },
      },
    });
    await runReplay(env, id, { concurrency: 2 });
    const rs = await loadResults(db, id);
    expect(rs.map((r) => [r.output, r.scores])).toEqual([
      ["0", { exact: 1, contains: 1, regex: 1, json: 1, schema: null, judge: 1 }],
      ["3", { exact: 0, contains: 1, regex: null, json: 1, schema: null, judge: 0 }],
      ["8", { exact: null, contains: null, regex: null, json: 1, schema: 0, judge: 0 }],
    ]);
    expect(rs[0]?.judge_raw).toBe('{"verdict": "pass", "reason": "compared with the reference"}');
    // One candidate: a summary, and no comparison table.
    const md = replayMarkdown(await replayComparison(db, id));
    expect(md).toContain("| qa/bad | 3 |");
    expect(md).not.toContain("Paired comparisons");
    // Three answers and three judge calls.
    expect(upstream.requests.map((r) => r.body.model).sort()).toEqual(["bad", "bad", "bad", "judge", "judge", "judge"]);
  });

  it("grades with a rubric kept in the prompt registry, rendered once into the run", async () => {
    await createVersion(
      db,
      "grader",
      { variables: {}, template: { system: "Pass only exact sums." } },
      { author: "t", message: "" },
    );
    await env.prompts.reload("grader");
    upstream.requests.length = 0;
    const id = await createReplayRun(env, {
      tenant: "default",
      source: { file: "rubric" },
      items: items(arithmeticItems(2)),
      settings: {
        candidates: ["qa/bad"],
        scorers: { scorers: ["judge"], judge: "qa/judge", rubricPrompt: "grader@latest" },
      },
    });
    expect((await loadRun(db, id))?.scorers).toMatchObject({
      rubric: "Pass only exact sums.",
      rubricPrompt: "grader@1",
    });
    await runReplay(env, id, { concurrency: 1 });
    expect((await loadResults(db, id)).map((r) => r.scores.judge)).toEqual([1, 0]);
    const judged = upstream.requests.filter((q) => q.body.model === "judge");
    expect((judged[0]?.body.messages as { content: string }[] | undefined)?.[0]?.content).toMatch(
      /^Pass only exact sums\./,
    );
    await expect(
      createReplayRun(env, {
        tenant: "default",
        source: {},
        items: items(arithmeticItems(1)),
        settings: {
          candidates: ["qa/bad"],
          scorers: { scorers: ["judge"], judge: "qa/judge", rubricPrompt: "tutor@1" },
        },
      }),
    ).rejects.toThrow("--rubric-prompt tutor@1: a rubric takes no variables, and this one needs level");
  });

  it("sends a candidate's prompt version with the item's variables, and records a missing variable as a failed item", async () => {
    upstream.requests.length = 0;
    const data = [
      { messages: [{ role: "user", content: "What is 2 plus 2?" }], reference: "4", variables: { level: "beginner" } },
      { messages: [{ role: "user", content: "What is 3 plus 3?" }], reference: "6" },
    ]
      .map((x) => JSON.stringify(x))
      .join("\n");
    const id = await createReplayRun(env, {
      tenant: "default",
      source: { file: "prompted" },
      items: items(data),
      settings: { candidates: ["qa/prompted"], scorers: { scorers: ["exact"] } },
    });
    await runReplay(env, id, { concurrency: 1 });
    const rs = await loadResults(db, id);
    expect(rs.map((r) => [r.status, r.prompt_version, r.scores.exact])).toEqual([
      [200, "tutor@1", 1],
      [400, null, 0],
    ]);
    expect(rs[1]?.error).toMatch(/^Prompt tutor@1 needs variable 'level'/);
    expect(upstream.requests).toHaveLength(1);
    expect((upstream.requests[0]?.body.messages as unknown[] | undefined)?.[0]).toEqual({
      role: "system",
      content: "Explain at beginner level.",
    });
  });

  it("evaluates another prompt version on a variant with ROUTE/VARIANT+NAME@VERSION", async () => {
    await createVersion(
      db,
      "tutor",
      { variables: { level: {} }, template: { system: "v2 at {{level}}." } },
      { author: "t", message: "" },
    );
    await env.prompts.reload("tutor");
    upstream.requests.length = 0;
    const data = JSON.stringify({
      messages: [{ role: "user", content: "What is 2 plus 2?" }],
      reference: "4",
      variables: { level: "pro" },
    });
    const id = await createReplayRun(env, {
      tenant: "default",
      source: { file: "override" },
      items: items(data),
      settings: { candidates: ["qa/prompted", "qa/prompted+tutor@2"], scorers: { scorers: ["exact"] } },
    });
    await runReplay(env, id, { concurrency: 1 });
    const rs = await loadResults(db, id);
    expect(rs.map((r) => [r.candidate, r.prompt_version, r.scores.exact])).toEqual([
      ["qa/prompted", "tutor@1", 1],
      ["qa/prompted+tutor@2", "tutor@2", 1],
    ]);
    const systems = upstream.requests.map((q) => (q.body.messages as { content: string }[])[0]?.content).sort();
    expect(systems).toEqual(["Explain at pro level.", "v2 at pro."]);
  });

  it("refuses bad settings and bad dataset lines, naming them", async () => {
    const run = (candidates: string[], scorers: string[], judge?: string) =>
      createReplayRun(env, {
        tenant: "default",
        source: {},
        items: items(arithmeticItems(1)),
        settings: { candidates, scorers: { scorers, judge } },
      });
    await expect(run(["qa/nope"], ["exact"])).rejects.toThrow(
      "candidate 'qa/nope': route 'qa' has no variant 'nope' (its variants: good, bad, judge, prompted)",
    );
    await expect(run(["qa/good"], ["exactly"])).rejects.toThrow(/unknown scorer 'exactly'/);
    await expect(run(["qa/good+tutor"], ["exact"])).rejects.toThrow(
      "candidate 'qa/good+tutor': 'tutor' is not a prompt reference",
    );
    await expect(run(["qa/good"], ["judge"])).rejects.toThrow(/needs a judge model/);
    const bad = parseReplayJsonl(
      '{"messages": []}\nnot json\n{"messages":[{"role":"user","content":"x"}],"schema":{"type":"nonsense"}}',
    );
    expect(bad.ok ? [] : bad.problems).toEqual([
      "line 1: messages: needs at least one message",
      expect.stringMatching(/^line 2: not JSON/),
      expect.stringMatching(/^line 3: schema: not a valid JSON Schema/),
    ]);
  });

  it("agrees with McNemar computed by hand on a small table", () => {
    // b = 1, c = 9 discordant pairs: exact two-sided p = 2 · 11 / 1024.
    const pairs: [number, number][] = [
      [1, 0],
      ...Array.from({ length: 9 }, () => [0, 1] as [number, number]),
      [1, 1],
      [0, 0],
    ];
    const m = mcnemar(pairs);
    expect(m.pValue).toBeCloseTo(22 / 1024, 12);
    expect(m.difference.estimate).toBeCloseTo(8 / 12, 12);
    expect(binomialHalfCdf(1, 10)).toBeCloseTo(11 / 1024, 15);
    expect(binomialHalfCdf(10, 10)).toBe(1);
  });

  it("gives a paired bootstrap interval that is the difference itself when every pair differs alike, and repeats with its seed", () => {
    const same: [number, number][] = Array.from({ length: 50 }, (_, i) => [i / 50, i / 50 + 0.25]);
    expect(pairedBootstrap(same, seededRandom(1))).toMatchObject({ n: 50, estimate: 0.25, lo: 0.25, hi: 0.25 });
    const mixed: [number, number][] = Array.from({ length: 80 }, (_, i) => [i % 3 === 0 ? 1 : 0, i % 2]);
    const a = pairedBootstrap(mixed, seededRandom(7));
    expect(pairedBootstrap(mixed, seededRandom(7))).toEqual(a);
    expect(a.lo).toBeLessThan(a.estimate);
    expect(a.hi).toBeGreaterThan(a.estimate);
  });
});

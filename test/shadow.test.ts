/**
 * Shadow traffic over real HTTP: both answers stored and compared (statuses,
 * latencies, lengths, ROUGE-L and chrF, tool calls, a judge's parsed verdict
 * with its raw text); a hanging candidate never holds the user's answer and its timeout is
 * recorded; a slow candidate under load is shed, not queued without bound.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { judgeOrder } from "../src/core/judge.js";
import { openDatabase } from "../src/store/db.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { eventually, startGateway, type TestGateway } from "./helpers.js";

let primary: FakeOpenAI;
let candidate: FakeOpenAI;
let judge: FakeOpenAI;
let gw: TestGateway | undefined;

beforeEach(async () => {
  [primary, candidate, judge] = await Promise.all([startFakeOpenAI(), startFakeOpenAI(), startFakeOpenAI()]);
  primary.fallback = { kind: "ok", content: "Jakarta is the capital of Indonesia" };
  candidate.fallback = { kind: "ok", content: "The capital of Indonesia is Jakarta" };
  judge.fallback = { kind: "ok", content: '```json\n{"verdict": "A", "reason": "A is clearer"}\n```' };
});

afterEach(async () => {
  await gw?.shutdown();
  gw = undefined;
  await Promise.all([primary.close(), candidate.close(), judge.close()]);
});

function start(
  shadow: Record<string, unknown>,
  limits: Record<string, unknown> = {},
  cand: Record<string, unknown> = {},
) {
  return startGateway({
    auth: { required: false },
    backends: {
      main: { type: "openai", baseUrl: primary.url },
      cand: { type: "openai", baseUrl: candidate.url, retry: { maxRetries: 0 }, ...cand },
      judge: { type: "openai", baseUrl: judge.url },
    },
    routes: {
      chat: {
        variants: [
          { name: "claude", backend: "main", model: "claude-haiku" },
          { name: "llama", backend: "cand", model: "llama-ft" },
        ],
      },
    },
    experiments: {
      "llama-shadow": {
        route: "chat",
        variants: [{ variant: "claude", weight: 100 }],
        shadow: { variants: ["llama"], share: 1, ...shadow },
      },
    },
    shadow: limits,
  });
}

async function chat(user: string, stream = false) {
  const res = await fetch(`${gw?.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "chat",
      user,
      stream,
      messages: [{ role: "user", content: "Capital of Indonesia?" }],
    }),
  });
  const text = await res.text();
  return {
    status: res.status,
    text,
    id: res.headers.get("x-switchyard-request-id") as string,
    variant: res.headers.get("x-switchyard-variant"),
  };
}

async function results() {
  await gw?.gateway.log.flush();
  return (await gw?.gateway.db.selectFrom("shadow_results").selectAll().orderBy("created_at").execute()) ?? [];
}

async function metric(name: string): Promise<string> {
  const text = await (await fetch(`${gw?.url}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(name))
    .join("\n");
}

describe("shadow comparisons", () => {
  it("store both answers, their statuses, latencies, lengths, similarity and the judge's verdict", async () => {
    gw = await start({ judge: { backend: "judge", model: "judge-model" } });
    const answered = [await chat("u1"), await chat("u2", true)];
    for (const r of answered) {
      expect(r.status).toBe(200);
      expect(r.variant).toBe("claude");
      expect(r.text).toContain("Jakarta");
    }
    const rows = await eventually(async () => {
      const rows = await results();
      expect(rows).toHaveLength(2);
      return rows;
    });
    for (const [i, row] of rows.entries()) {
      expect(row).toMatchObject({
        request_id: answered[i]?.id,
        experiment: "llama-shadow",
        primary_variant: "claude",
        candidate_variant: "llama",
        candidate_backend: "cand",
        candidate_model: "llama-ft",
        primary_status: 200,
        candidate_status: 200,
        primary_output: "Jakarta is the capital of Indonesia",
        candidate_output: "The capital of Indonesia is Jakarta",
        primary_length: 35,
        candidate_length: 35,
        judge_status: "ok",
        judge_model: "judge-model",
        judge_reason: "A is clearer",
      });
      // Answer A is whichever came first in this comparison's (per-request random) order.
      const order = judgeOrder(`${row.request_id}:llama`);
      expect(row.judge_winner).toBe(order === "primary-first" ? "primary" : "candidate");
      expect(row.judge_raw).toContain('"verdict": "A"');
      expect(row.primary_latency_ms).toBeGreaterThan(0);
      expect(row.candidate_latency_ms).toBeGreaterThan(0);
      // Same six words in another order: the longest common subsequence is "the capital of indonesia", 4 of 6.
      expect(row.rouge_l).toBeCloseTo(4 / 6, 10);
      expect(row.chrf).toBeGreaterThan(0.5);
      expect(row.chrf).toBeLessThan(1);
    }
    // The candidate was asked without streaming, with its own model; the judge saw both answers.
    expect(candidate.requests.map((r) => [r.body.model, r.body.stream])).toEqual([
      ["llama-ft", undefined],
      ["llama-ft", undefined],
    ]);
    const judgePrompt = JSON.stringify(judge.requests[0]?.body.messages);
    expect(judgePrompt).toContain("Jakarta is the capital of Indonesia");
    expect(judgePrompt).toContain("The capital of Indonesia is Jakarta");

    const view = await (await fetch(`${gw.url}/v1/admin/experiments/llama-shadow/shadow`)).json();
    expect(view.summary).toEqual([
      expect.objectContaining({
        candidate: "llama",
        comparisons: 2,
        primary_success_rate: 1,
        candidate_success_rate: 1,
        candidate_timeouts: 0,
        judged: 2,
      }),
    ]);
    expect(view.latest).toHaveLength(2);
    expect(
      await metric('switchyard_shadow_calls_total{experiment="llama-shadow",variant="llama",outcome="ok"}'),
    ).toMatch(/ 2$/);
  });

  it("compare tool calls: the same functions, and the same arguments whatever their JSON formatting", async () => {
    const completion = (args: string) =>
      JSON.stringify({
        id: "c",
        object: "chat.completion",
        created: 1,
        model: "m",
        choices: [
          {
            index: 0,
            message: {
              role: "assistant",
              content: null,
              tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: args } }],
            },
            finish_reason: "tool_calls",
          },
        ],
        usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 },
      });
    gw = await start({});
    // Same call, keys in another order and other spacing: agreed.
    primary.script.push({ kind: "raw", body: completion('{"city":"Oslo","unit":"c"}') });
    candidate.script.push({ kind: "raw", body: completion('{ "unit": "c", "city": "Oslo" }') });
    expect((await chat("t1")).status).toBe(200);
    await eventually(async () => expect(await results()).toHaveLength(1));
    // Same function, other arguments, answered to a streaming user: names agree, arguments do not.
    const base = { id: "s", object: "chat.completion.chunk", created: 1, model: "m" };
    primary.script.push({
      kind: "sse",
      events: [
        { ...base, choices: [{ index: 0, delta: { role: "assistant", content: null }, finish_reason: null }] },
        {
          ...base,
          choices: [
            {
              index: 0,
              delta: {
                tool_calls: [
                  {
                    index: 0,
                    id: "c1",
                    type: "function",
                    function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
                  },
                ],
              },
              finish_reason: null,
            },
          ],
        },
        { ...base, choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] },
      ],
    });
    candidate.script.push({ kind: "raw", body: completion('{"city":"Bergen"}') });
    expect((await chat("t2", true)).status).toBe(200);
    await eventually(async () => expect(await results()).toHaveLength(2));
    // No tool calls on either side: nothing to compare.
    expect((await chat("t3")).status).toBe(200);
    const rows = await eventually(async () => {
      const rows = await results();
      expect(rows).toHaveLength(3);
      return rows;
    });
    expect(
      rows.map((r) => [r.primary_tool_calls, r.candidate_tool_calls, r.tool_names_match, r.tool_args_match]),
    ).toEqual([
      [1, 1, 1, 1],
      [1, 1, 1, 0],
      [0, 0, null, null],
    ]);
    const view = await (await fetch(`${gw.url}/v1/admin/experiments/llama-shadow/shadow`)).json();
    expect(view.summary[0]).toMatchObject({
      tool_call_comparisons: 2,
      tool_names_match_rate: 1,
      tool_args_match_rate: 0.5,
    });
  });

  it("never hold the user's answer for a hanging candidate, and record its timeout", async () => {
    candidate.fallback = { kind: "hang" };
    gw = await start({ timeoutMs: 1500 }, {}, { breaker: { failureThreshold: 2 } });
    const answered = await Promise.all([chat("h1"), chat("h2", true), chat("h3")]);
    for (const r of answered) expect(r.status).toBe(200);
    // The answers are all in while every candidate call is still open.
    await eventually(() => expect(candidate.requests).toHaveLength(3));
    expect(candidate.requests.every((r) => r.cutAt === undefined)).toBe(true);
    const rows = await eventually(async () => {
      const rows = await results();
      expect(rows).toHaveLength(3);
      return rows;
    }, 10_000);
    for (const row of rows) {
      expect(row).toMatchObject({
        primary_status: 200,
        candidate_status: 504,
        candidate_error: "SY_ERR_SHADOW_TIMEOUT",
        candidate_output: null,
        rouge_l: null,
        judge_status: null,
      });
      expect(row.candidate_error_message).toContain("shadow timeout of 1500 ms");
    }
    // The hung connections were closed by the timeout, not left open.
    await eventually(() => expect(candidate.requests.every((r) => r.cutAt !== undefined)).toBe(true));
    // Our own deadline is no fault of the backend's: three of them leave its breaker closed.
    expect(await metric('switchyard_breaker_state{backend="cand"}')).toMatch(/ 0$/);
    expect(
      await metric('switchyard_shadow_calls_total{experiment="llama-shadow",variant="llama",outcome="timeout"}'),
    ).toMatch(/ 3$/);
  });

  it("shed work past the concurrency and queue bounds, counting it", async () => {
    // Slow enough that all 20 requests arrive while the first shadow calls still run, on a loaded machine too.
    candidate.fallback = { kind: "ok", content: "slow", delayMs: 2000 };
    gw = await start({}, { maxConcurrency: 2, maxQueue: 3 });
    const answered = await Promise.all(Array.from({ length: 20 }, (_, i) => chat(`load-${i}`)));
    for (const r of answered) expect(r.status).toBe(200);
    expect(await metric('switchyard_shadow_shed_total{experiment="llama-shadow",reason="queue_full"}')).toMatch(/ 15$/);
    const rows = await eventually(async () => {
      const rows = await results();
      expect(rows).toHaveLength(5);
      return rows;
    }, 10_000);
    expect(rows.every((r) => r.candidate_status === 200)).toBe(true);
    // Only the five admitted calls reached the candidate.
    expect(candidate.requests).toHaveLength(5);
    expect(await metric("switchyard_shadow_queued ")).toBe("switchyard_shadow_queued 0");
  });

  it("leave a shared backend's capacity to the users' calls", async () => {
    candidate.fallback = { kind: "ok", content: "slow", delayMs: 300 };
    // Shadow calls may start only while the candidate backend has fewer than 2 × 0.5 = 1 call in flight.
    gw = await start({}, {}, { maxConcurrency: 2 });
    const answered = await Promise.all(Array.from({ length: 5 }, (_, i) => chat(`busy-${i}`)));
    for (const r of answered) expect(r.status).toBe(200);
    await eventually(async () => expect(await results()).toHaveLength(1), 10_000);
    expect(await metric('switchyard_shadow_shed_total{experiment="llama-shadow",reason="backend_busy"}')).toMatch(
      / 4$/,
    );
  });

  it("are cut by a shutdown, and a cut call is not stored as a candidate failure", async () => {
    candidate.fallback = { kind: "hang" };
    gw = await start({});
    expect((await chat("bye")).status).toBe(200);
    await eventually(() => expect(candidate.requests).toHaveLength(1));
    const { dbPath } = gw;
    await gw.shutdown();
    gw = undefined;
    const db = openDatabase(dbPath);
    try {
      expect(await db.selectFrom("shadow_results").selectAll().execute()).toEqual([]);
      // The request itself was logged, and the hung call was closed rather than left open.
      expect(await db.selectFrom("request_log").select("status").execute()).toEqual([{ status: 200 }]);
      expect(candidate.requests[0]?.cutAt).toBeDefined();
    } finally {
      await db.destroy();
    }
  });

  it("can be switched on and off through the admin API", async () => {
    gw = await start({ share: 0 });
    await chat("off-1");
    const res = await fetch(`${gw.url}/v1/admin/experiments/llama-shadow`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ shadow: { variants: ["llama"], share: 1 } }),
    });
    expect(res.status).toBe(200);
    expect((await res.json()).shadow).toMatchObject({ variants: ["llama"], share: 1, timeoutMs: 30_000 });
    await chat("on-1");
    const rows = await eventually(async () => {
      const rows = await results();
      expect(rows).toHaveLength(1);
      return rows;
    });
    expect(rows[0]?.candidate_status).toBe(200);
    const bad = await fetch(`${gw.url}/v1/admin/experiments/llama-shadow`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ shadow: { variants: ["gpt"], share: 1 } }),
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toContain("unknown variant 'gpt'");
  });
});

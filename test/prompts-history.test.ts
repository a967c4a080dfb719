/**
 * A prompt's execution history per version, drawn from the request log and
 * feedback (no second copy): calls, successes, latency, tokens, cost and the
 * thumbs-up rate, each version apart; and dataset exports filtered by prompt
 * version, whose rows carry the system prompt the model was sent.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { startGateway, type TestGateway } from "./helpers.js";

let upstream: FakeOpenAI;
let gw: TestGateway;

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${gw.url}${path}`, {
    method: path.includes("/labels/") ? "PUT" : "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    json: (await res.json()) as any,
    id: res.headers.get("x-switchyard-request-id") as string,
  };
};

const chat = (route: string, content = "hello") =>
  post("/v1/chat/completions", {
    model: route,
    messages: [{ role: "user", content }],
    switchyard_variables: { product: "P" },
  });

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  // Four words per answer: 11 input and 4 output tokens a call.
  upstream.fallback = { kind: "ok", content: "one two three four" };
  gw = await startGateway({
    auth: { required: false },
    backends: {
      fake: { type: "openai", baseUrl: upstream.url, retry: { maxRetries: 0 }, prices: { m: { input: 1, output: 2 } } },
    },
    routes: {
      first: { variants: [{ name: "a", backend: "fake", model: "m", prompt: "support@1" }] },
      second: { variants: [{ name: "b", backend: "fake", model: "m", prompt: "support@2" }] },
      plain: { variants: [{ name: "c", backend: "fake", model: "m" }] },
    },
  });
  await post("/v1/admin/prompts/support/versions", {
    variables: { product: {} },
    template: { system: "One {{product}}" },
  });
  await post("/v1/admin/prompts/support/versions", {
    variables: { product: {} },
    template: { system: "Two {{product}}" },
  });
});

afterAll(async () => {
  await gw.shutdown();
  await upstream.close();
});

describe("execution history", () => {
  it("counts each version's calls, successes, tokens, cost and thumbs from the log and feedback", async () => {
    const v1: string[] = [];
    for (let i = 0; i < 3; i++) v1.push((await chat("first", `q${i}`)).id);
    upstream.script.push({ kind: "status", status: 500 });
    expect((await chat("first")).status).toBe(502);
    const v2: string[] = [];
    for (let i = 0; i < 2; i++) v2.push((await chat("second", `r${i}`)).id);
    await chat("plain");
    for (const [id, value] of [
      [v1[0], "up"],
      [v1[1], "down"],
      [v1[2], "up"],
      [v2[0], "down"],
    ] as const) {
      expect((await post("/v1/feedback", { request_id: id, kind: "thumbs", value })).status).toBeLessThan(300);
    }
    const res = await fetch(`${gw.url}/v1/admin/prompts/support/history`);
    const body = (await res.json()) as any;
    const perCall = (11 * 1 + 4 * 2) / 1e6;
    expect(
      body.versions.map((v: any) => ({
        ...v,
        mean_latency_ms: typeof v.mean_latency_ms,
        first_at: typeof v.first_at,
        last_at: typeof v.last_at,
      })),
    ).toEqual([
      {
        prompt_version: "support@1",
        version: 1,
        calls: 4,
        successes: 3,
        success_rate: 0.75,
        mean_latency_ms: "number",
        mean_ttft_ms: null,
        input_tokens: 33,
        output_tokens: 12,
        cost_usd: expect.closeTo(3 * perCall, 12),
        thumbs: 3,
        thumbs_up: 2,
        thumbs_up_rate: 2 / 3,
        first_at: "number",
        last_at: "number",
      },
      {
        prompt_version: "support@2",
        version: 2,
        calls: 2,
        successes: 2,
        success_rate: 1,
        mean_latency_ms: "number",
        mean_ttft_ms: null,
        input_tokens: 22,
        output_tokens: 8,
        cost_usd: expect.closeTo(2 * perCall, 12),
        thumbs: 1,
        thumbs_up: 0,
        thumbs_up_rate: 0,
        first_at: "number",
        last_at: "number",
      },
    ]);
  });

  it("exports only the answers of one prompt version, with the system prompt the model saw", async () => {
    const rows = (await (await fetch(`${gw.url}/v1/admin/datasets/sft?prompt=support@2`)).text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.messages.slice(0, 2))).toEqual(
      expect.arrayContaining([
        [
          { role: "system", content: "Two P" },
          { role: "user", content: "r0" },
        ],
        [
          { role: "system", content: "Two P" },
          { role: "user", content: "r1" },
        ],
      ]),
    );
    expect(rows).toHaveLength(2);
    const all = (await (await fetch(`${gw.url}/v1/admin/datasets/sft?prompt=support`)).text()).trim().split("\n");
    expect(all).toHaveLength(5);
  });
});

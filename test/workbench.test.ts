/**
 * The workbench API: one input run against prompt versions × models side by
 * side (outputs, latency, tokens, cost), saved and reopened; a bad variable
 * is one precise 400 before any upstream is called; the calls are trials,
 * kept out of the request log.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerArithmetic } from "./fixtures/arithmetic.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { startGateway, type TestGateway } from "./helpers.js";

let upstream: FakeOpenAI;
let gw: TestGateway;

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as any };
};

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  answerArithmetic(upstream);
  gw = await startGateway({
    auth: { required: false },
    backends: { fake: { type: "openai", baseUrl: upstream.url, prices: { good: { input: 2, output: 4 } } } },
    routes: {
      qa: {
        variants: [
          { name: "good", backend: "fake", model: "good" },
          { name: "bad", backend: "fake", model: "bad" },
        ],
      },
    },
  });
  await call("POST", "/v1/admin/prompts/tutor/versions", {
    variables: { level: {} },
    template: { system: "v1 {{level}}" },
  });
  await call("POST", "/v1/admin/prompts/tutor/versions", {
    variables: { level: {} },
    template: { system: "v2 {{level}}" },
  });
});

afterAll(async () => {
  await gw.shutdown();
  await upstream.close();
});

describe("the workbench", () => {
  it("answers one input with every prompt version × model, saves the run and reopens it", async () => {
    const targets = await call("GET", "/v1/admin/workbench/targets");
    expect(targets.json.targets.map((t: any) => t.target)).toEqual(["qa/good", "qa/bad"]);
    expect(targets.json.prompts[0].refs).toEqual(["tutor@latest", "tutor@1", "tutor@2"]);
    const r = await call("POST", "/v1/admin/workbench/runs", {
      title: "odd numbers",
      targets: ["qa/good", "qa/bad"],
      prompts: ["tutor@1", "tutor@2"],
      messages: [{ role: "user", content: "What is 3 plus 3?" }],
      variables: { level: "kid" },
    });
    expect(r.status).toBe(201);
    expect(r.json.results.map((x: any) => [x.target, x.prompt_version, x.status, x.output])).toEqual([
      ["qa/good", "tutor@1", 200, "6"],
      ["qa/good", "tutor@2", 200, "6"],
      ["qa/bad", "tutor@1", 200, "7"],
      ["qa/bad", "tutor@2", 200, "7"],
    ]);
    const good = r.json.results[0];
    expect([good.input_tokens, good.output_tokens]).toEqual([11, 1]);
    expect(good.cost_usd).toBeCloseTo((11 * 2 + 1 * 4) / 1e6, 12);
    expect(typeof good.latency_ms).toBe("number");
    const systems = upstream.requests.map((q) => (q.body.messages as { content: string }[])[0]?.content).sort();
    expect(systems).toEqual(["v1 kid", "v1 kid", "v2 kid", "v2 kid"]);

    const list = await call("GET", "/v1/admin/workbench/runs");
    expect(list.json.data[0]).toMatchObject({ id: r.json.id, title: "odd numbers", variants: 4 });
    const again = await call("GET", `/v1/admin/workbench/runs/${r.json.id}`);
    expect(again.json.results).toEqual(r.json.results);
    expect(again.json.input).toEqual({
      messages: [{ role: "user", content: "What is 3 plus 3?" }],
      variables: { level: "kid" },
    });
    // Trials are not traffic.
    expect(await gw.rows()).toHaveLength(0);
  });

  it("answers a missing variable with one 400 naming it, before calling anything", async () => {
    const before = upstream.requests.length;
    const r = await call("POST", "/v1/admin/workbench/runs", {
      targets: ["qa/good"],
      prompts: ["tutor@2"],
      messages: [{ role: "user", content: "What is 1 plus 1?" }],
    });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/^Prompt tutor@2 needs variable 'level'/);
    expect(upstream.requests.length).toBe(before);
    expect((await call("GET", "/v1/admin/workbench/runs/wb_nope")).status).toBe(404);
    const unknown = await call("POST", "/v1/admin/workbench/runs", {
      targets: ["qa/nope"],
      messages: [{ role: "user", content: "x" }],
    });
    expect(unknown.json.error.message).toMatch(/route 'qa' has no variant 'nope'/);
  });
});

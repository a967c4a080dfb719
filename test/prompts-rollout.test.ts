/**
 * A staged rollout between two prompt versions on one model, like any other
 * variants: the candidate version's share climbs step by step on healthy
 * traffic, and the log says which prompt version served each request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { startGateway, type TestGateway } from "./helpers.js";

let upstream: FakeOpenAI;
let gw: TestGateway;
let nextUser = 0;

const post = async (path: string, body: unknown, method = "POST") => {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any, headers: res.headers };
};

async function users(n: number) {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const r = await post("/v1/chat/completions", {
        model: "support",
        user: `u${nextUser++}`,
        messages: [{ role: "user", content: "hi" }],
        switchyard_variables: { product: "P" },
      });
      expect(r.status).toBe(200);
      return r.headers.get("x-switchyard-prompt-version") as string;
    }),
  );
}

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  gw = await startGateway({
    auth: { required: false },
    backends: { fake: { type: "openai", baseUrl: upstream.url } },
    routes: {
      support: {
        variants: [
          { name: "live", backend: "fake", model: "m", prompt: "support@1" },
          { name: "next", backend: "fake", model: "m", prompt: "support@2" },
        ],
      },
    },
    experiments: {
      "prompt-rollout": {
        route: "support",
        variants: [
          { variant: "live", weight: 1 },
          { variant: "next", weight: 1 },
        ],
        rollout: {
          candidate: "next",
          steps: [20, 100],
          evaluateEveryMs: 3_600_000,
          minSamples: 5,
          minDurationMs: 0,
          minSuccessRate: 0.9,
          maxP95LatencyMs: 5_000,
        },
      },
    },
  });
  await post("/v1/admin/prompts/support/versions", {
    variables: { product: {} },
    template: { system: "v1 {{product}}" },
  });
  await post("/v1/admin/prompts/support/versions", {
    variables: { product: {} },
    template: { system: "v2 {{product}}" },
  });
});

afterAll(async () => {
  await gw.shutdown();
  await upstream.close();
});

describe("a staged rollout of a prompt version", () => {
  it("moves traffic to the new version step by step, each request logged with its version", async () => {
    const first = await users(80);
    const v2 = first.filter((v) => v === "support@2").length;
    expect(v2).toBeGreaterThanOrEqual(5);
    expect(v2).toBeLessThan(40);
    const d = await post("/v1/admin/experiments/prompt-rollout/evaluate", {});
    expect(d.json).toMatchObject({ action: "promote", fromStep: 0, toStep: 1 });
    expect(d.json.experiment.variants[1]).toMatchObject({ variant: "next", share: 1 });
    const after = await users(30);
    expect(new Set(after)).toEqual(new Set(["support@2"]));
    const logged = (await gw.rows()).map((r) => r.prompt_version);
    expect(logged.filter((v) => v === "support@2")).toHaveLength(v2 + 30);
    expect(logged.filter((v) => v === "support@1")).toHaveLength(80 - v2);
  });
});

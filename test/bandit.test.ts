/**
 * The Thompson-sampling bandit: shares follow the evidence with a floor per
 * variant (pure, seeded draws), and over real HTTP a variant that fails half
 * its requests loses traffic to the healthy one, keeping its minimum share,
 * with the update stored as an event.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { betaSample, thompsonShares } from "../src/core/bandit.js";
import { seededRandom } from "../src/core/random.js";
import type { Behaviour, FakeOpenAI } from "./fixtures/fake-openai.js";
import { startFakeOpenAI } from "./fixtures/fake-openai.js";
import { startGateway, type TestGateway } from "./helpers.js";

describe("thompsonShares", () => {
  it("gives nearly everything to a clearly better arm, but never less than the floor", () => {
    const shares = thompsonShares(
      [
        { variant: "good", successes: 80, failures: 20 },
        { variant: "bad", successes: 20, failures: 80 },
      ],
      0.1,
      5_000,
      seededRandom(1),
    );
    expect(shares.map((s) => s.variant)).toEqual(["good", "bad"]);
    expect(shares[0]?.probabilityBest).toBeGreaterThan(0.999);
    // share = 0.1 + 0.8 × P(best): 90 % and 10 %.
    expect(shares[0]?.weight).toBeCloseTo(90, 1);
    expect(shares[1]?.weight).toBeCloseTo(10, 1);
  });

  it("splits evenly while nothing is known", () => {
    const shares = thompsonShares(
      [
        { variant: "a", successes: 0, failures: 0 },
        { variant: "b", successes: 0, failures: 0 },
        { variant: "c", successes: 0, failures: 0 },
      ],
      0.05,
      30_000,
      seededRandom(7),
    );
    for (const s of shares) expect(Math.abs(s.weight - 100 / 3)).toBeLessThan(1.5);
    expect(shares.reduce((sum, s) => sum + s.weight, 0)).toBeCloseTo(100, 1);
  });

  it("refuses a floor larger than the whole", () => {
    expect(() =>
      thompsonShares(
        [
          { variant: "a", successes: 0, failures: 0 },
          { variant: "b", successes: 0, failures: 0 },
          { variant: "c", successes: 0, failures: 0 },
        ],
        0.4,
      ),
    ).toThrow(/exceeds 1/);
  });

  it("samples Beta(a, b) with the right mean and variance", () => {
    const random = seededRandom(42);
    const n = 40_000;
    const [a, b] = [3, 7];
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const x = betaSample(a, b, random);
      sum += x;
      sq += x * x;
    }
    const mean = sum / n;
    const variance = sq / n - mean * mean;
    // Beta(3, 7): mean a/(a+b) = 0.3, variance ab/((a+b)²(a+b+1)) = 21/1100 ≈ 0.019091.
    expect(mean).toBeCloseTo(0.3, 2);
    expect(variance).toBeCloseTo(21 / 1100, 3);
  });
});

describe("a bandit experiment", () => {
  let good: FakeOpenAI;
  let flaky: FakeOpenAI;
  let gw: TestGateway | undefined;

  beforeEach(async () => {
    [good, flaky] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
  });

  afterEach(async () => {
    await gw?.shutdown();
    await Promise.all([good.close(), flaky.close()]);
  });

  it("moves traffic away from a variant that fails half its requests, down to its floor", async () => {
    const half: Behaviour[] = [];
    for (let i = 0; i < 400; i++) half.push(i % 2 ? { kind: "status", status: 500 } : { kind: "ok" });
    flaky.script = half;
    gw = await startGateway({
      auth: { required: false },
      backends: {
        good: { type: "openai", baseUrl: good.url },
        flaky: { type: "openai", baseUrl: flaky.url, retry: { maxRetries: 0 }, breaker: { failureThreshold: 1000 } },
      },
      routes: {
        chat: {
          variants: [
            { name: "steady", backend: "good", model: "m" },
            { name: "flaky", backend: "flaky", model: "m" },
          ],
        },
      },
      experiments: {
        explore: {
          route: "chat",
          variants: [
            { variant: "steady", weight: 50 },
            { variant: "flaky", weight: 50 },
          ],
          bandit: { reward: "success", minShare: 0.1, updateEveryMs: 3_600_000 },
        },
      },
    });
    for (let batch = 0; batch < 4; batch++) {
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          fetch(`${gw?.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              model: "chat",
              user: `u-${batch}-${i}`,
              messages: [{ role: "user", content: "hi" }],
            }),
          }).then((r) => r.arrayBuffer()),
        ),
      );
    }
    const res = await fetch(`${gw.url}/v1/admin/experiments/explore/evaluate`, { method: "POST" });
    expect(res.status).toBe(200);
    const update = await res.json();
    expect(update.kind).toBe("bandit");
    const steady = update.rewards.find((r: any) => r.variant === "steady");
    const flakyReward = update.rewards.find((r: any) => r.variant === "flaky");
    expect(steady.failures).toBe(0);
    expect(flakyReward.failures).toBeGreaterThan(0);
    const share = Object.fromEntries(update.experiment.variants.map((v: any) => [v.variant, v.share]));
    expect(share.flaky).toBeGreaterThanOrEqual(0.1);
    expect(share.flaky).toBeLessThan(0.15);
    expect(share.steady).toBeGreaterThan(0.85);
    // Only the users the change required moved.
    expect(update.moved_share).toBeCloseTo(share.steady - 0.5, 2);
    const events = await (await fetch(`${gw.url}/v1/admin/experiments/explore/events`)).json();
    expect(events.data[0]).toMatchObject({ kind: "bandit", actor: "bandit" });
    const weights = await fetch(`${gw.url}/v1/admin/experiments/explore`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        variants: [
          { variant: "steady", weight: 1 },
          { variant: "flaky", weight: 1 },
        ],
      }),
    });
    expect(weights.status).toBe(409);
  });
});

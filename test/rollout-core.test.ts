/** core/rollout.ts decide(): each guardrail's rule and the action it leads to, without a server. */
import { describe, expect, it } from "vitest";
import type { RolloutConfig } from "../src/core/config/schema.js";
import { type ArmStats, decide, EARLY_MIN_REQUESTS, firstRolloutState } from "../src/core/rollout.js";

const config: RolloutConfig = {
  candidate: "new",
  steps: [10, 50, 100],
  evaluateEveryMs: 60_000,
  minSamples: 200,
  minDurationMs: 3_600_000,
  minSuccessRate: 0.98,
  maxP95LatencyMs: 1500,
};

const arm = (
  requests: number,
  successes: number,
  p95: number | null = 800,
  extra: Partial<ArmStats> = {},
): ArmStats => ({
  requests,
  successes,
  p95LatencyMs: p95,
  thumbsUp: 0,
  thumbs: 0,
  stars: { n: 0, sum: 0, sumSquares: 0 },
  ...extra,
});

const state = firstRolloutState(0);
const HOUR = 3_600_000;
const statusOf = (d: ReturnType<typeof decide>, name: string) => d.guardrails.find((g) => g.name === name)?.status;

describe("decide", () => {
  it("holds while samples or time are missing, and promotes when every guardrail passes", () => {
    const few = decide(config, state, { candidate: arm(50, 50), control: arm(450, 445) }, HOUR, false);
    expect(few.action).toBe("hold");
    expect(statusOf(few, "samples")).toBe("pending");
    const early = decide(config, state, { candidate: arm(250, 249), control: arm(2250, 2240) }, HOUR / 2, false);
    expect(early.action).toBe("hold");
    expect(statusOf(early, "duration")).toBe("pending");
    const ready = decide(config, state, { candidate: arm(250, 249), control: arm(2250, 2240) }, HOUR, false);
    expect(ready).toMatchObject({ action: "promote", fromStep: 0, toStep: 1, completes: false });
    const last = decide(config, { ...state, step: 2 }, { candidate: arm(250, 249), control: arm(0, 0) }, HOUR, false);
    expect(last).toMatchObject({ action: "promote", toStep: 2, completes: true });
  });

  it("does not roll back on a few early failures, but does on clearly too many", () => {
    // One failure in the first request: far from proof.
    expect(decide(config, state, { candidate: arm(1, 0), control: arm(9, 9) }, 0, false).action).toBe("hold");
    // Below EARLY_MIN_REQUESTS nothing early happens, however bad.
    const tooSoon = EARLY_MIN_REQUESTS - 1;
    expect(decide(config, state, { candidate: arm(tooSoon, 0), control: arm(90, 90) }, 0, false).action).toBe("hold");
    // 10 failures in 20 requests: the 99.9 % Wilson upper bound (≈ 0.83) is under 0.98.
    const bad = decide(config, state, { candidate: arm(20, 10), control: arm(180, 180) }, 0, false);
    expect(bad.action).toBe("rollback");
    expect(bad.guardrails.find((g) => g.name === "success_rate")?.detail).toMatchObject({ early: true });
    // At minSamples the point estimate decides: 0.975 < 0.98.
    expect(decide(config, state, { candidate: arm(200, 195), control: arm(1800, 1790) }, HOUR, false).action).toBe(
      "rollback",
    );
  });

  it("rolls back on a slow p95 once there are enough samples, and on an open breaker at once", () => {
    const slow = decide(config, state, { candidate: arm(200, 200, 1600), control: arm(1800, 1800) }, HOUR, false);
    expect(slow.action).toBe("rollback");
    expect(statusOf(slow, "p95_latency")).toBe("fail");
    const open = decide(config, state, { candidate: arm(3, 3), control: arm(27, 27) }, 0, true);
    expect(open.action).toBe("rollback");
    expect(statusOf(open, "breaker")).toBe("fail");
  });

  it("fails feedback only when the candidate is clearly worse than control by more than the margin", () => {
    const withFeedback: RolloutConfig = { ...config, feedback: { metric: "thumbs", margin: 0.05 } };
    const similar = decide(
      withFeedback,
      state,
      {
        candidate: arm(250, 250, 800, { thumbsUp: 40, thumbs: 50 }),
        control: arm(2250, 2250, 800, { thumbsUp: 420, thumbs: 500 }),
      },
      HOUR,
      false,
    );
    expect(statusOf(similar, "feedback")).toBe("pass");
    const worse = decide(
      withFeedback,
      state,
      {
        candidate: arm(250, 250, 800, { thumbsUp: 20, thumbs: 50 }),
        control: arm(2250, 2250, 800, { thumbsUp: 420, thumbs: 500 }),
      },
      HOUR,
      false,
    );
    expect(statusOf(worse, "feedback")).toBe("fail");
    expect(worse.action).toBe("rollback");
    const stars: RolloutConfig = { ...config, feedback: { metric: "stars", margin: 0.5 } };
    // Candidate mean 2 (all 2s), control mean 4.5: Welch interval far below −0.5.
    const lowStars = decide(
      stars,
      state,
      {
        candidate: arm(250, 250, 800, { stars: { n: 30, sum: 60, sumSquares: 120 } }),
        control: arm(2250, 2250, 800, { stars: { n: 40, sum: 180, sumSquares: 820 } }),
      },
      HOUR,
      false,
    );
    expect(statusOf(lowStars, "feedback")).toBe("fail");
  });
});

/**
 * Staged rollouts simulated with fixture upstreams: a healthy candidate climbs
 * every step to 100 % (users only ever move towards it); one failing 10 % of
 * requests, one whose users dislike it, and one whose breaker opens are rolled
 * back at the first step; every decision is stored with its evidence; and the
 * periodic evaluation acts without being asked.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Behaviour, FakeOpenAI } from "./fixtures/fake-openai.js";
import { startFakeOpenAI } from "./fixtures/fake-openai.js";
import { eventually, startGateway, type TestGateway } from "./helpers.js";

let control: FakeOpenAI;
let candidate: FakeOpenAI;
let gw: TestGateway | undefined;
let nextUser = 0;

beforeEach(async () => {
  [control, candidate] = await Promise.all([startFakeOpenAI(), startFakeOpenAI()]);
  candidate.fallback = { kind: "ok", content: "llama says hi" };
});

afterEach(async () => {
  await gw?.shutdown();
  gw = undefined;
  await Promise.all([control.close(), candidate.close()]);
});

function start(
  rollout: Record<string, unknown>,
  candidateBackend: Record<string, unknown> = {},
  dbPath?: string,
  fallbacks: Record<string, unknown>[] = [],
) {
  return startGateway(
    {
      auth: { required: false },
      backends: {
        claude: { type: "openai", baseUrl: control.url },
        llama: { type: "openai", baseUrl: candidate.url, retry: { maxRetries: 0 }, ...candidateBackend },
      },
      routes: {
        chat: {
          variants: [
            { name: "claude", backend: "claude", model: "claude-haiku" },
            { name: "llama", backend: "llama", model: "llama-ft" },
          ],
          fallbacks,
        },
      },
      experiments: {
        "llama-rollout": {
          route: "chat",
          variants: [
            { variant: "claude", weight: 1 },
            { variant: "llama", weight: 1 },
          ],
          rollout: {
            candidate: "llama",
            steps: [10, 25, 50, 100],
            evaluateEveryMs: 3_600_000,
            minSamples: 30,
            minDurationMs: 0,
            minSuccessRate: 0.98,
            maxP95LatencyMs: 5_000,
            ...rollout,
          },
        },
      },
    },
    dbPath,
  );
}

interface Served {
  user: string;
  status: number;
  variant: string;
  id: string;
}

async function chatAs(user: string): Promise<Served> {
  const res = await fetch(`${gw?.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "chat", user, messages: [{ role: "user", content: "hi" }] }),
  });
  await res.arrayBuffer();
  return {
    user,
    status: res.status,
    variant: res.headers.get("x-switchyard-variant") as string,
    id: res.headers.get("x-switchyard-request-id") as string,
  };
}

/** New users, in batches, until the candidate has served `n` of them. */
async function trafficUntilCandidate(n: number): Promise<Served[]> {
  const served: Served[] = [];
  while (served.filter((s) => s.variant === "llama").length < n) {
    const batch = Array.from({ length: 40 }, () => `user-${nextUser++}`);
    served.push(...(await Promise.all(batch.map(chatAs))));
  }
  return served;
}

async function admin(method: string, path: string, body?: unknown) {
  const res = await fetch(`${gw?.url}/v1/admin/experiments/llama-rollout${path}`, {
    method,
    ...(body !== undefined ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const guardrail = (d: Record<string, any>, name: string) => d.guardrails.find((g: any) => g.name === name);

describe("a staged rollout", () => {
  it("promotes a healthy candidate through every step to 100 %, moving users only towards it", async () => {
    gw = await start({});
    const onCandidate = new Set<string>();
    const shares = [10, 25, 50, 100];
    for (const [step, share] of shares.entries()) {
      const served = await trafficUntilCandidate(30);
      for (const s of served) {
        expect(s.status).toBe(200);
        if (s.variant === "llama") onCandidate.add(s.user);
      }
      // Users who had the candidate in an earlier step still have it.
      const earlier = [...onCandidate].slice(0, 40);
      for (const s of await Promise.all(earlier.map(chatAs))) expect(s.variant).toBe("llama");

      const d = (await admin("POST", "/evaluate")).body;
      expect(d).toMatchObject({ action: "promote", fromStep: step, completes: share === 100 });
      expect(guardrail(d, "success_rate")).toMatchObject({ status: "pass", value: 1 });
      expect(guardrail(d, "p95_latency").status).toBe("pass");
      if (share < 100)
        expect(d.experiment.variants[1]).toMatchObject({ variant: "llama", share: (shares[step + 1] as number) / 100 });
    }
    const after = await admin("GET", "");
    expect(after.body).toMatchObject({
      status: "stopped",
      winner: "llama",
      rollout: { state: { outcome: "completed" } },
    });
    expect((await chatAs("late-user")).variant).toBe("llama");

    const events = (await admin("GET", "/events")).body.data.reverse();
    expect(events.map((e: any) => e.kind)).toEqual(["create", "promote", "promote", "promote", "promote"]);
    expect(events.slice(1).map((e: any) => [e.detail.share_before, e.detail.share_after])).toEqual([
      [10, 25],
      [25, 50],
      [50, 100],
      [100, 100],
    ]);
    // The evidence: per arm counts of the step, with the concurrent control.
    expect(events[1].detail.stats.candidate.requests).toBeGreaterThanOrEqual(30);
    expect(events[1].detail.stats.control.requests).toBeGreaterThan(events[1].detail.stats.candidate.requests);
    expect(events[1].actor).toBe("rollout");
  });

  it("rolls back a candidate that fails 10 % of requests at the first step", async () => {
    const tenth: Behaviour[] = [];
    for (let i = 0; i < 100; i++) {
      tenth.push(i % 10 === 0 ? { kind: "status", status: 500 } : { kind: "ok", content: "llama says hi" });
    }
    candidate.script = tenth;
    gw = await start({});
    const hold = (await admin("POST", "/evaluate")).body;
    expect(hold.action).toBe("hold");
    expect(guardrail(hold, "samples")).toMatchObject({ status: "pending", value: 0 });

    const served = await trafficUntilCandidate(30);
    const failed = served.filter((s) => s.variant === "llama" && s.status !== 200);
    expect(failed.length).toBeGreaterThan(0);
    const d = (await admin("POST", "/evaluate")).body;
    expect(d).toMatchObject({ action: "rollback", fromStep: 0, toStep: -1 });
    const success = guardrail(d, "success_rate");
    expect(success.status).toBe("fail");
    expect(success.value).toBeLessThan(0.98);
    expect(d.experiment).toMatchObject({
      status: "stopped",
      winner: "claude",
      rollout: { state: { outcome: "rolled_back" } },
    });

    // Everyone is back on control, including the candidate's former users.
    const back = await Promise.all(served.filter((s) => s.variant === "llama").map((s) => chatAs(s.user)));
    expect(new Set(back.map((s) => s.variant))).toEqual(new Set(["claude"]));
    const kinds = (await admin("GET", "/events")).body.data.map((e: any) => e.kind).reverse();
    expect(kinds).toEqual(["create", "hold", "rollback"]);
    const decisive = (await admin("GET", "/events?kind=promote,rollback")).body.data;
    expect(decisive.map((e: any) => e.kind)).toEqual(["rollback"]);
    expect((await admin("POST", "/evaluate")).status).toBe(409);

    // Editing the rolled-back rollout's declaration does not set it running again.
    const { dbPath } = gw;
    await gw.shutdown();
    gw = await start({ minSamples: 50 }, {}, dbPath);
    const after = (await admin("GET", "")).body;
    expect(after).toMatchObject({
      status: "stopped",
      winner: "claude",
      rollout: { state: { outcome: "rolled_back" } },
    });
    expect(after.rollout.config.minSamples).toBe(50);
    expect((await chatAs("after-edit")).variant).toBe("claude");
  });

  it("counts an answer from a route fallback as the candidate failing", async () => {
    candidate.fallback = { kind: "status", status: 503 };
    gw = await start({}, { breaker: { failureThreshold: 1000 } }, undefined, [
      { backend: "claude", model: "claude-haiku" },
    ]);
    const served = await trafficUntilCandidate(30);
    // Every user got an answer: the candidate's users from the fallback.
    expect(served.every((s) => s.status === 200)).toBe(true);
    const d = (await admin("POST", "/evaluate")).body;
    expect(d.action).toBe("rollback");
    expect(guardrail(d, "success_rate")).toMatchObject({ status: "fail", value: 0 });
  });

  it("rolls back a candidate whose users like it less than control's", async () => {
    gw = await start({ feedback: { metric: "thumbs", margin: 0.05 } });
    const served = await trafficUntilCandidate(30);
    for (const s of served) {
      const res = await fetch(`${gw.url}/v1/feedback`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ request_id: s.id, kind: "thumbs", value: s.variant === "llama" ? "down" : "up" }),
      });
      expect(res.status).toBe(201);
    }
    const d = (await admin("POST", "/evaluate")).body;
    expect(d.action).toBe("rollback");
    expect(guardrail(d, "success_rate").status).toBe("pass");
    const fb = guardrail(d, "feedback");
    expect(fb).toMatchObject({ status: "fail", value: -1, threshold: -0.05 });
    expect(fb.detail.interval95[1]).toBeLessThan(-0.05);
  });

  it("gives a candidate with an open breaker no traffic, and rolls it back", async () => {
    candidate.fallback = { kind: "status", status: 503 };
    gw = await start({}, { breaker: { failureThreshold: 2, cooldownMs: 600_000 } });
    const first = await trafficUntilCandidate(2);
    expect(first.filter((s) => s.variant === "llama").every((s) => s.status !== 200)).toBe(true);
    // The breaker is open now: the candidate's users are served by control.
    const later = await Promise.all(Array.from({ length: 80 }, (_, i) => chatAs(`after-breaker-${i}`)));
    expect(new Set(later.map((s) => s.variant))).toEqual(new Set(["claude"]));
    const rows = await gw.rows();
    expect(rows.filter((r) => r.assigned_by === "breaker").length).toBeGreaterThan(0);
    const d = (await admin("POST", "/evaluate")).body;
    expect(d.action).toBe("rollback");
    expect(guardrail(d, "breaker")).toMatchObject({ status: "fail", value: "open" });
  });

  it("evaluates on its own every evaluateEveryMs", async () => {
    gw = await start({ evaluateEveryMs: 200, minSamples: 5 });
    await trafficUntilCandidate(5);
    await eventually(async () => {
      const e = await admin("GET", "");
      expect(e.body.rollout.state.step).toBeGreaterThanOrEqual(1);
    }, 10_000);
    const kinds = (await admin("GET", "/events")).body.data.map((e: any) => e.kind);
    expect(kinds).toContain("promote");
  });
});

/**
 * The replay admin API: a run posted with items works in the background on
 * the gateway's backends, its progress and results can be read, its report
 * comes as JSON, Markdown or HTML with the known numbers; a dataset taken from
 * the log with the export filters replays logged answers; bad bodies get a
 * 400 naming the problem.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerArithmetic, arithmeticItems } from "./fixtures/arithmetic.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { eventually, startGateway, type TestGateway } from "./helpers.js";

let upstream: FakeOpenAI;
let gw: TestGateway;

const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
};

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  answerArithmetic(upstream);
  gw = await startGateway({
    auth: { required: false },
    backends: { fake: { type: "openai", baseUrl: upstream.url, retry: { maxRetries: 0 } } },
    routes: {
      qa: {
        variants: [
          { name: "good", backend: "fake", model: "good" },
          { name: "bad", backend: "fake", model: "bad" },
        ],
      },
    },
  });
});

afterAll(async () => {
  await gw.shutdown();
  await upstream.close();
});

describe("the replay admin API", () => {
  it("runs posted items in the background and reports the known numbers", async () => {
    const items = arithmeticItems(40)
      .split("\n")
      .map((l) => JSON.parse(l));
    const r = await call("POST", "/v1/admin/replays", {
      id: "api-1",
      items,
      candidates: ["qa/good", "qa/bad"],
      scorers: ["exact"],
    });
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ id: "api-1", items: 40, progress: { total: 80 } });
    await eventually(async () => {
      expect((await call("GET", "/v1/admin/replays/api-1")).json).toMatchObject({
        status: "done",
        progress: { done: 80, total: 80 },
      });
    });
    const report = (await call("GET", "/v1/admin/replays/api-1/report")).json;
    expect(report.comparisons.find((c: any) => c.scorer === "exact")).toMatchObject({
      scorer: "exact",
      n: 40,
      baselineOnly: 20,
      candidateOnly: 0,
      baselineMean: 1,
      candidateMean: 0.5,
    });
    const md = await call("GET", "/v1/admin/replays/api-1/report?format=md");
    expect(md.text).toContain("| qa/bad | exact | 40 | 1.000 | 0.500 |");
    expect((await call("GET", "/v1/admin/replays/api-1/report?format=html")).text).toContain("<h1>Replay api-1</h1>");
    const results = (await call("GET", "/v1/admin/replays/api-1/results?limit=2")).json;
    expect(results.total).toBe(80);
    expect(results.data[0]).toMatchObject({ idx: 0, status: 200, output: "0", scores: { exact: 1 } });
    // Resuming a finished run sends nothing.
    const sent = upstream.requests.length;
    await call("POST", "/v1/admin/replays/api-1/resume", {});
    await eventually(async () => expect((await call("GET", "/v1/admin/replays/api-1")).json.status).toBe("done"));
    expect(upstream.requests.length).toBe(sent);
    expect((await call("POST", "/v1/admin/replays", { id: "api-1", items, candidates: ["qa/good"] })).status).toBe(409);
  });

  it("replays logged answers chosen with the export filters", async () => {
    for (const i of [5, 6, 7]) {
      const res = await call("POST", "/v1/chat/completions", {
        model: "qa",
        messages: [{ role: "user", content: `What is ${i} plus ${i}?` }],
      });
      expect(res.status).toBe(200);
    }
    const r = await call("POST", "/v1/admin/replays", {
      id: "from-log",
      from_log: { route: ["qa"] },
      candidates: ["qa/bad"],
      scorers: ["exact"],
    });
    expect(r.status).toBe(202);
    expect(r.json.items).toBe(3);
    await eventually(async () => expect((await call("GET", "/v1/admin/replays/from-log")).json.status).toBe("done"));
    // The reference is the answer the good variant served: bad agrees on 6 only.
    const results = (await call("GET", "/v1/admin/replays/from-log/results")).json.data;
    expect(results.map((x: any) => [x.output, x.scores.exact])).toEqual([
      ["11", 0],
      ["12", 1],
      ["15", 0],
    ]);
  });

  it("answers bad bodies precisely", async () => {
    const none = await call("POST", "/v1/admin/replays", { candidates: ["qa/good"] });
    expect(none.json.error.message).toMatch(/give exactly one of items/);
    const badItem = await call("POST", "/v1/admin/replays", { candidates: ["qa/good"], items: [{ messages: [] }] });
    expect(badItem.json.error.message).toBe("Invalid request body at 'items[0]': messages: needs at least one message");
    const badCandidate = await call("POST", "/v1/admin/replays", { candidates: ["qa"], jsonl: arithmeticItems(1) });
    expect(badCandidate.json.error.message).toMatch(/candidate 'qa': write ROUTE\/VARIANT/);
    expect((await call("GET", "/v1/admin/replays/nope")).status).toBe(404);
  });
});

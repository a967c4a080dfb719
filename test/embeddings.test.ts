/** POST /v1/embeddings through Switchyard: the openai SDK, routing, fallback, the log, and bad input. */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeAnthropic, startFakeAnthropic } from "./fixtures/fake-anthropic.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { startGateway, type TestGateway } from "./helpers.js";

let primary: FakeOpenAI;
let secondary: FakeOpenAI;
let claude: FakeAnthropic;
let gw: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  primary = await startFakeOpenAI();
  secondary = await startFakeOpenAI();
  claude = await startFakeAnthropic();
  const fast = { retry: { maxRetries: 0 } };
  gw = await startGateway({
    auth: { required: false },
    backends: {
      main: {
        type: "openai",
        baseUrl: primary.url,
        apiKey: "sk-main",
        prices: { "text-embedding-3-small": { input: 0.02, output: 0 } },
        ...fast,
      },
      spare: { type: "openai", baseUrl: secondary.url, apiKey: "sk-spare", ...fast },
      claude: { type: "anthropic", baseUrl: claude.url, apiKey: "anthropic-key-0123456789" },
    },
    routes: {
      embed: {
        variants: [{ name: "small", backend: "main", model: "text-embedding-3-small" }],
        fallbacks: [{ backend: "spare", model: "nomic-embed-text" }],
      },
      claude: { variants: [{ name: "sonnet", backend: "claude", model: "claude-sonnet-4-5" }] },
      "embed-cached": { cache: true, variants: [{ name: "small", backend: "main", model: "text-embedding-3-small" }] },
    },
  });
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await gw.shutdown();
  await Promise.all([primary.close(), secondary.close(), claude.close()]);
});

async function rowOf(requestId: string | null) {
  const row = (await gw.rows()).find((r) => r.id === requestId);
  if (!row) throw new Error(`no log row for ${requestId}`);
  return row;
}

describe("embeddings through Switchyard", () => {
  it("answers the openai SDK's default (base64) call with the vectors, and logs tokens and cost", async () => {
    const { data, response } = await client.embeddings
      .create({ model: "embed", input: ["the cat sat", "on the mat today"], user: "u-7" })
      .withResponse();
    expect(data.data.map((d) => Array.from(d.embedding))).toEqual([
      [0, 0.5, -0.25],
      [1, 0.5, -0.25],
    ]);
    expect(data.usage.prompt_tokens).toBe(7);
    expect(response.headers.get("x-switchyard-route")).toBe("embed");
    expect(response.headers.get("x-switchyard-variant")).toBe("small");
    expect(response.headers.get("x-switchyard-backend")).toBe("main");
    expect(response.headers.get("x-switchyard-session")).toBeNull();
    // What the client sent reaches the upstream, only the model replaced.
    expect(primary.requests.at(-1)?.body).toEqual({
      model: "text-embedding-3-small",
      input: ["the cat sat", "on the mat today"],
      user: "u-7",
      encoding_format: "base64",
    });
    const row = await rowOf(response.headers.get("x-switchyard-request-id"));
    expect(row).toMatchObject({
      endpoint: "embeddings",
      route: "embed",
      variant: "small",
      backend: "main",
      upstream_model: "text-embedding-3-small",
      user_id: "u-7",
      session_id: null,
      status: 200,
      input_tokens: 7,
      output_tokens: 0,
      tokens_estimated: 0,
      stream: 0,
      fallback_used: 0,
    });
    expect(row.cost_usd).toBeCloseTo((7 * 0.02) / 1e6, 15);
  });

  it("passes float vectors, dimensions and token-id inputs through unchanged", async () => {
    const res = await client.embeddings.create({
      model: "embed",
      input: [
        [101, 2023],
        [7, 8, 9],
      ],
      encoding_format: "float",
      dimensions: 3,
    });
    expect(res.data[1]?.embedding).toEqual([1, 0.5, -0.25]);
    expect(primary.requests.at(-1)?.body).toMatchObject({
      input: [
        [101, 2023],
        [7, 8, 9],
      ],
      dimensions: 3,
    });
  });

  it("falls back to the next backend when the first fails, and says so in the log", async () => {
    primary.script.push({ kind: "status", status: 503 });
    const { data, response } = await client.embeddings
      .create({ model: "embed", input: "hello", encoding_format: "float" })
      .withResponse();
    expect(data.data).toHaveLength(1);
    expect(response.headers.get("x-switchyard-backend")).toBe("spare");
    expect(secondary.requests.at(-1)?.body.model).toBe("nomic-embed-text");
    const row = await rowOf(response.headers.get("x-switchyard-request-id"));
    expect(row).toMatchObject({ status: 200, backend: "spare", fallback_used: 1, served_by: 1, attempts: 2 });
    expect(JSON.parse(row.failures ?? "[]")).toMatchObject([{ backend: "main", code: "SY_ERR_UPSTREAM_STATUS" }]);
  });

  it("counts the tokens itself when the upstream sends no usage", async () => {
    primary.script.push({
      kind: "raw",
      body: JSON.stringify({ object: "list", model: "m", data: [{ object: "embedding", index: 0, embedding: [1] }] }),
    });
    const { response } = await client.embeddings
      .create({ model: "embed", input: "four words right here", encoding_format: "float" })
      .withResponse();
    const row = await rowOf(response.headers.get("x-switchyard-request-id"));
    expect(row).toMatchObject({ input_tokens: 4, output_tokens: 0, tokens_estimated: 1 });
  });

  it("answers a 400 naming the backend kind on a route whose backend has no embeddings", async () => {
    const err = await client.embeddings.create({ model: "claude", input: "hi" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain("The anthropic backend cannot express embeddings");
    expect(claude.count).toBe(0);
  });

  it("treats a malformed upstream answer as that upstream's failure: the fallback serves", async () => {
    primary.script.push({ kind: "raw", body: '{"object": "list", "data": [{"index": 0}]}' });
    const res = await fetch(`${gw.url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "embed", input: "x" }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-switchyard-backend")).toBe("spare");
    const row = await rowOf(res.headers.get("x-switchyard-request-id"));
    expect(JSON.parse(row.failures ?? "[]")).toMatchObject([{ backend: "main", code: "SY_ERR_UPSTREAM_PROTOCOL" }]);
  });
});

describe("embeddings and the response cache", () => {
  it("answers a repeat from the cache with the same body, logged as a hit", async () => {
    const ask = () =>
      fetch(`${gw.url}/v1/embeddings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "embed-cached", input: ["cache me", "and me"], encoding_format: "float" }),
      });
    const first = await ask();
    const calls = primary.requests.length;
    const again = await ask();
    expect([first.headers.get("x-switchyard-cache"), again.headers.get("x-switchyard-cache")]).toEqual(["miss", "hit"]);
    expect(await again.text()).toBe(await first.text());
    expect(primary.requests.length).toBe(calls);
    const row = await rowOf(again.headers.get("x-switchyard-request-id"));
    expect(row).toMatchObject({ endpoint: "embeddings", cache_hit: 1, cost_usd: 0, backend: null, input_tokens: 4 });
  });
});

describe("bad embeddings requests", () => {
  it.each([
    [{ input: "x" }, "model", "is required"],
    [{ model: "embed" }, "input", "is required"],
    [{ model: "embed", input: "" }, "input", "must not be empty"],
    [{ model: "embed", input: [] }, "input", "at least one input"],
    [{ model: "embed", input: ["a", 3] }, "input[1]", "expected a string like input[0]"],
    [{ model: "embed", input: [1, -2] }, "input[1]", "token id"],
    [{ model: "embed", input: [[1], [2, "x"]] }, "input[1][1]", "token id"],
    [{ model: "embed", input: { text: "x" } }, "input", "got an object"],
    [{ model: "embed", input: "x", encoding_format: "hex" }, "encoding_format", '"float" or "base64"'],
    [{ model: "embed", input: "x", dimensions: 0 }, "dimensions", "positive integer"],
    [{ model: "embed", input: Array.from({ length: 2049 }, () => "a") }, "input", "at most 2048"],
  ])("%j → 400 at %s", async (body, param, problem) => {
    const res = await fetch(`${gw.url}/v1/embeddings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { code: string; param: string; message: string } };
    expect(error.code).toBe("SY_ERR_REQUEST_INVALID_BODY");
    expect(error.param).toBe(param);
    expect(error.message).toContain(problem);
  });

  it("answers an unknown route with a 404", async () => {
    const err = await client.embeddings.create({ model: "nope", input: "x" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
  });
});

/** A route served by an Anthropic backend, called with the openai SDK through Switchyard. */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeAnthropic, startFakeAnthropic } from "./fixtures/fake-anthropic.js";
import { startGateway, type TestGateway } from "./helpers.js";

let fake: FakeAnthropic;
let gw: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeAnthropic();
  gw = await startGateway({
    auth: { required: false },
    backends: {
      claude: {
        type: "anthropic",
        baseUrl: fake.url,
        apiKey: "anthropic-test-key-0123456789",
        prices: { "claude-sonnet-4-5": { input: 3, output: 15 } },
      },
    },
    routes: { assistant: { variants: [{ name: "sonnet", backend: "claude", model: "claude-sonnet-4-5" }] } },
  });
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await gw.shutdown();
  await fake.close();
});

describe("Anthropic through the gateway", () => {
  it("translates a non-streaming chat both ways", async () => {
    const res = await client.chat.completions.create({
      model: "assistant",
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Greet me" },
      ],
      max_tokens: 100,
      stop: ["END"],
    });
    expect(res.choices[0]?.message.content).toBe("Hello, world!");
    expect(res.choices[0]?.finish_reason).toBe("stop");
    expect(res.usage).toMatchObject({ prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 });
    expect(fake.last?.body).toMatchObject({
      model: "claude-sonnet-4-5",
      system: "You are terse.",
      messages: [{ role: "user", content: "Greet me" }],
      max_tokens: 100,
      stop_sequences: ["END"],
    });
    expect(fake.last?.headers["x-api-key"]).toBe("anthropic-test-key-0123456789");
  });

  it("streams Anthropic events as chat.completion.chunk, costed like the unstreamed answer", async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: "assistant", messages: [{ role: "user", content: "Greet me" }], stream: true })
      .withResponse();
    const parts: string[] = [];
    let finish: string | null | undefined;
    for await (const c of stream) {
      parts.push(c.choices[0]?.delta.content ?? "");
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(parts.join("")).toBe("Hello, world!");
    expect(finish).toBe("stop");
    const id = response.headers.get("x-switchyard-request-id");
    const row = (await gw.rows()).find((r) => r.id === id);
    expect(row).toMatchObject({
      backend: "claude",
      upstream_model: "claude-sonnet-4-5",
      input_tokens: 21,
      output_tokens: 5,
      tokens_estimated: 0,
    });
    expect(row?.cost_usd).toBeCloseTo((21 * 3 + 5 * 15) / 1e6, 12);
    expect(row?.ttft_ms).toBeGreaterThan(0);
  });

  it("answers what Anthropic cannot express with a 400 naming the field", async () => {
    const err = await client.chat.completions
      .create({ model: "assistant", messages: [{ role: "user", content: "x" }], n: 3 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain("n");
    expect((err as { code?: string }).code).toBe("SY_ERR_REQUEST_UNTRANSLATABLE");
  });

  it("maps an Anthropic error mid-stream to an error the SDK raises", async () => {
    fake.behaviour.errorEventAfter = { deltas: 1, type: "overloaded_error", message: "Overloaded" };
    try {
      const stream = await client.chat.completions.create({
        model: "assistant",
        messages: [{ role: "user", content: "x" }],
        stream: true,
      });
      const got: string[] = [];
      const err = await (async () => {
        for await (const c of stream) got.push(c.choices[0]?.delta.content ?? "");
      })().catch((e: unknown) => e);
      expect(got.join("")).toBe("Hello");
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect((err as Error).message).toContain("Overloaded");
    } finally {
      fake.reset();
    }
  });
});

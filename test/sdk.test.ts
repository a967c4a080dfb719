/** The official openai SDK, pointed at Switchyard by base URL only. */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { startGateway, type TestGateway } from "./helpers.js";

let upstream: FakeOpenAI;
let gw: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startFakeOpenAI();
  gw = await startGateway({
    auth: { required: false },
    backends: {
      fake: {
        type: "openai",
        baseUrl: upstream.url,
        apiKey: "sk-upstream-secret-123456",
        prices: { "fake-model": { input: 1, output: 2 } },
      },
    },
    routes: { chat: { variants: [{ name: "a", backend: "fake", model: "fake-model" }] } },
  });
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await gw.shutdown();
  await upstream.close();
});

describe("openai SDK against Switchyard", () => {
  it("completes a non-streaming chat and reports the route and variant", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "chat", messages: [{ role: "user", content: "Say hello" }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe("Hello from the fake upstream");
    expect(data.usage?.prompt_tokens).toBe(11);
    expect(response.headers.get("x-switchyard-route")).toBe("chat");
    expect(response.headers.get("x-switchyard-variant")).toBe("a");
    expect(response.headers.get("x-switchyard-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
    // The upstream got the upstream model name and its own key, not the client's.
    const sent = upstream.requests.at(-1);
    expect(sent?.body.model).toBe("fake-model");
    expect(sent?.headers.authorization).toBe("Bearer sk-upstream-secret-123456");
  });

  it("streams a chat chunk by chunk", async () => {
    const stream = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "Say hello" }],
      stream: true,
    });
    const parts: string[] = [];
    let chunks = 0;
    for await (const c of stream) {
      chunks++;
      parts.push(c.choices[0]?.delta.content ?? "");
    }
    expect(parts.join("")).toBe("Hello from the fake upstream");
    expect(chunks).toBeGreaterThan(3);
  });

  it("passes the usage chunk only to a client that asked for it", async () => {
    const stream = await client.chat.completions.create({
      model: "chat",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const c of stream) if (c.usage) usage = c.usage;
    expect(usage?.completion_tokens).toBe(5);
  });

  it("asks the upstream for usage but does not pass the usage chunk to a client that did not ask", async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }], stream: true }),
    });
    const text = await res.text();
    expect(upstream.requests.at(-1)?.body.stream_options).toEqual({ include_usage: true });
    expect(text).toContain('"finish_reason":"stop"');
    expect(text).not.toContain('"choices":[]');
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });

  it("lists the routes as models", async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(["chat"]);
  });

  it("receives typed errors", async () => {
    await expect(
      client.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.chat.completions.create({ model: "chat", messages: [] })).rejects.toBeInstanceOf(
      OpenAI.BadRequestError,
    );
    upstream.script.push({ kind: "status", status: 400, body: { error: { message: "max_tokens is too large" } } });
    const err = await client.chat.completions
      .create({ model: "chat", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).message).toContain("max_tokens is too large");
  });

  it("logs a streamed answer at the same tokens and cost as the same answer unstreamed", async () => {
    const plain = await client.chat.completions
      .create({ model: "chat", messages: [{ role: "user", content: "cost?" }] })
      .withResponse();
    const streamed = await client.chat.completions
      .create({ model: "chat", messages: [{ role: "user", content: "cost?" }], stream: true })
      .withResponse();
    for await (const _ of streamed.data) {
      // drain
    }
    const ids = [
      plain.response.headers.get("x-switchyard-request-id"),
      streamed.response.headers.get("x-switchyard-request-id"),
    ];
    const rows = (await gw.rows()).filter((r) => ids.includes(r.id));
    expect(rows).toHaveLength(2);
    const [a, b] = rows;
    expect(a?.cost_usd).toBeGreaterThan(0);
    expect(b?.cost_usd).toBe(a?.cost_usd);
    expect([b?.input_tokens, b?.output_tokens]).toEqual([a?.input_tokens, a?.output_tokens]);
    expect(rows.map((r) => r.stream).sort()).toEqual([0, 1]);
    // 11 input tokens at $1/M and 5 output tokens at $2/M.
    expect(a?.cost_usd).toBeCloseTo((11 * 1 + 5 * 2) / 1e6, 12);
  });
});

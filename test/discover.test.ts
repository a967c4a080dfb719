/** With no config, local OpenAI-compatible servers that answer become routes. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../src/core/config/parse.js";
import { configFromDiscovery, discoverLocalServers, routeNameFor } from "../src/server/discover.js";
import { type FakeOpenAI, startFakeOpenAI } from "./fixtures/fake-openai.js";
import { startGateway } from "./helpers.js";

let a: FakeOpenAI;
let b: FakeOpenAI;

beforeAll(async () => {
  a = await startFakeOpenAI();
  b = await startFakeOpenAI();
});

afterAll(async () => {
  await a.close();
  await b.close();
});

describe("first run without a config", () => {
  it("finds the servers that answer and serves their models", async () => {
    const found = await discoverLocalServers([
      { name: "ollama", label: "Ollama", baseUrl: a.url },
      { name: "lmstudio", label: "LM Studio", baseUrl: "http://127.0.0.1:9/v1" },
      { name: "vllm", label: "vLLM", baseUrl: b.url },
    ]);
    expect(found.map((f) => f.server.name)).toEqual(["ollama", "vllm"]);
    const raw = configFromDiscovery(found);
    const cfg = validateConfig(raw, "generated");
    // Both fakes serve the same two models, so each route carries its server's name.
    expect(Object.keys(cfg.routes).sort()).toEqual([
      "ollama/fake-large",
      "ollama/fake-model",
      "vllm/fake-large",
      "vllm/fake-model",
    ]);
    expect(cfg.auth.required).toBe(false);

    const gw = await startGateway(raw);
    try {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "vllm/fake-model", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(res.status).toBe(200);
      expect(b.requests.at(-1)?.body.model).toBe("fake-model");
    } finally {
      await gw.shutdown();
    }
  });
});

describe("route names for discovered models", () => {
  it("turns model ids that are not valid route names into ones that are, and skips what is left empty", () => {
    expect(routeNameFor("llama3.2:latest")).toBe("llama3.2:latest");
    expect(routeNameFor("/models/llama-3-8b")).toBe("models/llama-3-8b");
    expect(routeNameFor("my model@v2")).toBe("my-model-v2");
    expect(routeNameFor("@@@")).toBeUndefined();
    const cfg = validateConfig(
      configFromDiscovery([
        {
          server: { name: "vllm", label: "vLLM", baseUrl: "http://127.0.0.1:8000/v1" },
          models: ["/models/llama", "@@"],
        },
      ]),
      "generated",
    );
    expect(Object.keys(cfg.routes)).toEqual(["models/llama"]);
    expect(cfg.routes["models/llama"]?.variants[0]?.model).toBe("/models/llama");
  });
});

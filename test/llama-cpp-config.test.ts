/** The llama-cpp backend's config: defaults, and every adapter reference checked at start with the key named. */
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { defaultThreads } from "../src/backends/llama-cpp/engine.js";
import { ConfigError, parseConfig } from "../src/core/config/parse.js";

function problems(text: string): string[] {
  try {
    parseConfig(text, "switchyard.yaml", {});
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected the config to be rejected");
}

const base = `
backends:
  local:
    type: llama-cpp
    modelPath: /models/base.gguf
    adapters:
      support: { path: /models/support.gguf, scale: 0.5 }
  remote:
    type: openai
    baseUrl: http://127.0.0.1:11434/v1
`;

describe("llama-cpp config", () => {
  it("applies its defaults", () => {
    const cfg = parseConfig(
      `${base}routes:\n  chat:\n    variants:\n      - { name: t, backend: local, model: m, adapter: support }\n`,
      "switchyard.yaml",
      {},
    );
    expect(cfg.backends.local).toMatchObject({
      type: "llama-cpp",
      contextSize: 4096,
      parallel: 2,
      maxQueue: 8,
      gpuLayers: 0,
      maxLoadedAdapters: 4,
      adapters: { support: { path: "/models/support.gguf", scale: 0.5 } },
    });
    expect(cfg.routes.chat?.variants[0]?.adapter).toBe("support");
    // Half the logical cores, at least one: the default when threads is left out.
    expect(defaultThreads()).toBe(Math.max(1, Math.floor(availableParallelism() / 2)));
  });

  it("names an unknown adapter, an adapter on another kind of backend, and a tenant's bad mapping", () => {
    const found = problems(`${base}routes:
  chat:
    variants:
      - { name: a, backend: local, model: m, adapter: suport }
      - { name: b, backend: remote, model: m, adapter: support }
    fallbacks:
      - { backend: local, model: m, adapter: nope }
tenants:
  acme: { adapters: { local: missing } }
  globex: { adapters: { remote: support } }
  initech: { adapters: { nowhere: support } }
`);
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /routes\.chat\.variants\.0\.adapter.*unknown adapter 'suport' of backend 'local' \(its adapters: support\)/,
        ),
        expect.stringMatching(
          /routes\.chat\.variants\.1\.adapter.*backend 'remote' is openai: only a llama-cpp backend takes adapters/,
        ),
        expect.stringMatching(/routes\.chat\.fallbacks\.0\.adapter.*unknown adapter 'nope'/),
        expect.stringMatching(/tenants\.acme\.adapters\.local.*unknown adapter 'missing'/),
        expect.stringMatching(/tenants\.globex\.adapters\.remote.*only a llama-cpp backend takes adapters/),
        expect.stringMatching(/tenants\.initech\.adapters\.nowhere.*unknown backend 'nowhere'/),
      ]),
    );
  });

  it("refuses bad numbers with the key named", () => {
    const found = problems(`
backends:
  local: { type: llama-cpp, modelPath: /m.gguf, parallel: 0, maxQueue: -1, threads: 0, contextSize: 10 }
`);
    for (const key of ["parallel", "maxQueue", "threads", "contextSize"]) {
      expect(found.some((p) => p.startsWith(`backends.local.${key}`))).toBe(true);
    }
  });
});

/** A wrong config names the key path, the line, what was expected and what was found. */
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/core/config/parse.js";

function problems(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(text, "switchyard.yaml", env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected the config to be rejected");
}

const valid = `
backends:
  oa:
    type: openai
    baseUrl: \${BASE_URL:-http://127.0.0.1:11434/v1}
    apiKey: \${OPENAI_API_KEY}
  claude:
    type: anthropic
    apiKey: literal-$\${NOT_A_VAR}
routes:
  chat:
    variants:
      - { name: a, backend: oa, model: gpt-4o-mini, params: { temperature: 0.2 } }
    fallbacks:
      - { backend: claude, model: claude-3-5-haiku-latest }
tenants:
  acme: { routes: [chat] }
`;

describe("config", () => {
  it("applies defaults and interpolates the environment", () => {
    const cfg = parseConfig(valid, "switchyard.yaml", { OPENAI_API_KEY: "sk-abc" });
    expect(cfg.backends.oa).toMatchObject({
      baseUrl: "http://127.0.0.1:11434/v1",
      apiKey: "sk-abc",
      maxConcurrency: 64,
    });
    expect(cfg.backends.oa?.timeouts).toEqual({ connectMs: 5000, firstByteMs: 120000, totalMs: 600000 });
    expect(cfg.backends.claude).toMatchObject({ baseUrl: "https://api.anthropic.com", apiKey: "literal-${NOT_A_VAR}" });
    expect(cfg.server).toEqual({ host: "127.0.0.1", port: 8400, bodyLimit: 4 * 1024 * 1024, shutdownGraceMs: 15000 });
    expect(cfg.routes.chat?.variants[0]?.params).toEqual({ temperature: 0.2 });
  });

  it("reports an unset environment variable by key path", () => {
    expect(problems(valid)).toEqual([
      "backends.oa.apiKey: environment variable OPENAI_API_KEY is not set (write ${OPENAI_API_KEY:-default} to give a default)",
    ]);
  });

  it("names path, line, expectation and what was found", () => {
    const text = `server:
  port: "abc"
  bodyLimit: lots
  colour: blue
backends:
  oa: { type: openai, baseUrl: not-a-url }
  x: { type: grpc, baseUrl: http://a }
`;
    expect(problems(text)).toEqual([
      'server.port (line 2): expected number, found the string "abc"',
      'server.bodyLimit (line 3): expected a size such as 1048576, "512kb" or "4mb", found the string "lots"',
      "server (line 1): unknown key 'colour' (check the spelling; see the README for the keys this section takes)",
      'backends.oa.baseUrl (line 6): expected a URL such as http://127.0.0.1:11434/v1, found the string "not-a-url"',
      'backends.x.type (line 7): expected type "openai", "anthropic", "llama-cpp" or "plugin", found the string "grpc"',
    ]);
  });

  it("checks references between sections", () => {
    const text = `backends:
  oa: { type: openai, baseUrl: http://127.0.0.1:1/v1 }
routes:
  chat:
    variants:
      - { name: a, backend: nope, model: m }
      - { name: a, backend: oa, model: m }
    fallbacks:
      - { backend: gone, model: m }
tenants:
  acme: { routes: [chat, ghost] }
`;
    expect(problems(text)).toEqual([
      "routes.chat.variants.0.backend (line 6): unknown backend 'nope' (declared backends: oa), found the string \"nope\"",
      "routes.chat.variants.1.name (line 7): duplicate variant name 'a', found the string \"a\"",
      "routes.chat.fallbacks.0.backend (line 9): unknown backend 'gone' (declared backends: oa), found the string \"gone\"",
      "tenants.acme.routes.1 (line 11): unknown route 'ghost' (declared routes: chat), found the string \"ghost\"",
    ]);
  });

  it("rejects a route without variants and YAML that does not parse", () => {
    expect(problems("routes:\n  chat: { variants: [] }\n")[0]).toMatch(/^routes\.chat\.variants \(line 2\): Too small/);
    expect(problems("server: [1, 2\n")[0]).toMatch(/Flow sequence|Missing|Unexpected/i);
    expect(problems("backends:\n  x: { apiKey: ${KEY} }\n")[0]).toContain('quote a value that uses ${VAR}: "${VAR}"');
    expect(problems("- a\n- b\n")).toEqual(["the file must be a YAML mapping (key: value pairs) at the top level"]);
  });

  it("names what is wrong with the response cache and Redis", () => {
    expect(problems("cache: { store: redis }\n")).toEqual([
      'cache.store (line 1): is redis but no redis is declared (add redis: { url: redis://host:6379 }), found the string "redis"',
    ]);
    expect(problems("redis: { url: localhost:6379 }\n")[0]).toMatch(
      /^redis\.url \(line 1\): expected a redis:\/\/ or rediss:\/\/ URL/,
    );
    expect(
      problems("routes:\n  r:\n    cache: yes-please\n    variants: [{ name: a, backend: x, model: m }]\n")[0],
    ).toMatch(/^routes\.r\.cache \(line 3\)/);
  });

  it("accepts sizes with units", () => {
    expect(parseConfig("server: { bodyLimit: 512kb }", "s", {}).server.bodyLimit).toBe(512 * 1024);
    expect(parseConfig("server: { bodyLimit: 2097152 }", "s", {}).server.bodyLimit).toBe(2097152);
  });
});

describe("experiments in the config", () => {
  const base = `
backends:
  oa: { type: openai, baseUrl: "http://127.0.0.1:11434/v1" }
routes:
  chat:
    variants:
      - { name: a, backend: oa, model: m1 }
      - { name: b, backend: oa, model: m2 }
experiments:
`;

  it("names what is wrong with an experiment, by key path", () => {
    const found = problems(`${base}
  ab:
    route: chat
    variants: [{ variant: a, weight: 50 }, { variant: c, weight: 50 }]
    control: z
  second:
    route: chat
    variants: [{ variant: a, weight: 1 }, { variant: b, weight: 1 }]
  lonely:
    route: nowhere
    variants: [{ variant: a, weight: 1 }]
  rollout:
    route: chat
    status: stopped
    variants: [{ variant: a, weight: 1 }, { variant: b, weight: 1 }]
    rollout: { candidate: a, steps: [50, 10], minSuccessRate: 0.98, maxP95LatencyMs: 1500 }
`).join("\\n");
    expect(found).toContain(
      "experiments.ab.variants.1.variant (line 13): unknown variant 'c' of route 'chat' (its variants: a, b)",
    );
    expect(found).toContain("experiments.ab.control (line 14): 'z' is not one of the experiment's variants");
    expect(found).toContain("experiments.second.route (line 16): route 'chat' already has experiment 'ab'");
    expect(found).toContain("experiments.lonely.route (line 19): unknown route 'nowhere'");
    expect(found).toContain("experiments.rollout.rollout.steps (line 25): steps must be ascending");
    expect(found).toContain("experiments.rollout.rollout.steps (line 25): the last step must be 100");
    expect(found).toContain("experiments.rollout.rollout.candidate (line 25): the candidate cannot be the control");
  });

  it("accepts a split and fills in its defaults and the shadow limits", () => {
    const cfg = parseConfig(
      `${base}
  ab:
    route: chat
    variants: [{ variant: a, weight: 50 }, { variant: b, weight: 50 }]
    criteria: [{ metric: p95_latency_ms, op: "<", value: 1500 }]
`,
      "switchyard.yaml",
      {},
    );
    expect(cfg.experiments.ab).toMatchObject({ status: "running", verdictMinRequests: 100 });
    expect(cfg.shadow).toEqual({ maxConcurrency: 8, maxQueue: 64, maxBackendShare: 0.5 });
  });
});

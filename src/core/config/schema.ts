/**
 * The one config schema. Its inferred type (`Config`) is the only config type:
 * every default lives here, and every cross-reference (a variant's backend, a
 * tenant's routes) is checked here, so a bad file fails at start, not at the
 * first request.
 */
import { z } from "zod";
import { EXPERIMENT_STATUSES } from "../experiment.js";
import { parsePromptRef } from "../prompts/ref.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;
const name = (what: string) =>
  z.string().regex(NAME, `${what} must start with a letter or digit and use only letters, digits and . _ : / -`);
const ms = (def: number) => z.number().int().positive().default(def);

const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i;
const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
/** A byte size: a number of bytes or a string such as "4mb". */
const byteSize = z.union(
  [
    z.number().int().positive(),
    z
      .string()
      .regex(SIZE, 'a size such as 1048576, "512kb" or "4mb"')
      .transform((s) => {
        const [, n, unit] = SIZE.exec(s.trim()) as RegExpExecArray;
        return Math.round(Number(n) * (UNITS[(unit ?? "b").toLowerCase()] ?? 1));
      }),
  ],
  { error: 'expected a size such as 1048576, "512kb" or "4mb"' },
);

const price = z.strictObject({
  input: z.number().nonnegative().describe("USD per million input tokens"),
  output: z.number().nonnegative().describe("USD per million output tokens"),
});

const backendCommon = {
  timeouts: z
    .strictObject({
      connectMs: ms(5_000),
      /** Until response headers (non-streaming) or the first stream event. */
      firstByteMs: ms(120_000),
      /** From the first attempt to the last byte, retries included. */
      totalMs: ms(600_000),
    })
    .prefault({}),
  retry: z
    .strictObject({
      /** Further tries after the first, on retryable failures only. */
      maxRetries: z.number().int().min(0).max(10).default(2),
      baseDelayMs: ms(250),
      maxDelayMs: ms(4_000),
    })
    .prefault({}),
  breaker: z
    .strictObject({
      failureThreshold: z.number().int().positive().default(5),
      cooldownMs: ms(30_000),
    })
    .prefault({}),
  maxConcurrency: z.number().int().positive().default(64),
  /** Prices per upstream model, in USD per million tokens. */
  prices: z.record(z.string(), price).default({}),
  headers: z.record(z.string(), z.string()).default({}),
};

const openaiBackend = z.strictObject({
  type: z.literal("openai"),
  baseUrl: z.url({ error: "expected a URL such as http://127.0.0.1:11434/v1" }),
  apiKey: z.string().optional(),
  ...backendCommon,
});

const anthropicBackend = z.strictObject({
  type: z.literal("anthropic"),
  baseUrl: z.url({ error: "expected a URL such as https://api.anthropic.com" }).default("https://api.anthropic.com"),
  apiKey: z.string().optional(),
  anthropicVersion: z.string().default("2023-06-01"),
  defaultMaxTokens: z.number().int().positive().default(4096),
  ...backendCommon,
});

/** A team's own backend: a module whose `createBackend(context)` returns a Backend (see README). */
const pluginBackend = z.strictObject({
  type: z.literal("plugin"),
  /** A file path (relative to the working directory) or a package name. */
  module: z.string().min(1),
  /** Passed to the module's createBackend as is. */
  options: z.record(z.string(), z.unknown()).default({}),
  ...backendCommon,
});

/** A LoRA adapter file for a llama-cpp backend's base model, applied at `scale`. */
const llamaAdapter = z.strictObject({
  /** A GGUF LoRA adapter made for this base model (same architecture). */
  path: z.string().min(1),
  scale: z.number().min(0).max(10).default(1),
});

/**
 * An embedded llama.cpp engine (node-llama-cpp, an optional dependency): one GGUF
 * model loaded once from a local path, `parallel` sequences generating at once,
 * `maxQueue` more waiting; past that a request is answered 503 at once.
 */
const llamaCppBackend = z.strictObject({
  type: z.literal("llama-cpp"),
  /** A local GGUF file (e.g. a blob from Ollama's store or a downloaded file). */
  modelPath: z.string().min(1),
  /** Tokens each sequence holds: prompt and answer together. */
  contextSize: z.number().int().min(64).default(4096),
  /** Sequences generating at once (each has its own contextSize of KV cache). */
  parallel: z.number().int().positive().max(256).default(2),
  /** Requests waiting for a sequence at most; more are answered 503 SY_ERR_LOCAL_OVERLOADED at once. */
  maxQueue: z.number().int().min(0).default(8),
  /** CPU threads per generation; default half the logical cores (at least 1). Too many is much slower. */
  threads: z.number().int().positive().optional(),
  /** Layers offloaded to a GPU; 0 (the default) runs on the CPU only. */
  gpuLayers: z.number().int().min(0).default(0),
  /** Adapters by name; variants (`adapter`) and tenants (`adapters`) name them. */
  adapters: z.record(name("an adapter name"), llamaAdapter).default({}),
  /** Adapters kept loaded at most; the least recently used idle one is unloaded past it. */
  maxLoadedAdapters: z.number().int().positive().default(4),
  ...backendCommon,
});

const backend = z.discriminatedUnion("type", [openaiBackend, anthropicBackend, pluginBackend, llamaCppBackend], {
  error: 'expected type "openai", "anthropic", "llama-cpp" or "plugin"',
});

const target = {
  backend: z.string(),
  model: z.string().min(1),
  /** Request parameters this target always sends (they override the client's). */
  params: z.record(z.string(), z.unknown()).default({}),
  /** A llama-cpp target only: the adapter (declared on its backend) applied to the base model; over any tenant's. */
  adapter: z.string().optional(),
};

const variant = z.strictObject({
  name: name("a variant name"),
  ...target,
  /**
   * A prompt from the registry: `NAME@LABEL` follows the label as it moves,
   * `NAME@VERSION` is pinned. Its messages go before the client's; its
   * variables come with the request (body `switchyard_variables` or header
   * `x-switchyard-variables`).
   */
  prompt: z
    .string()
    .refine((s) => typeof parsePromptRef(s) !== "string", {
      error: (iss) => String(parsePromptRef(String(iss.input))),
    })
    .optional(),
});
const fallback = z.strictObject(target);

/**
 * A route's response cache: exact matches of the normalised request are answered
 * from memory. `true` takes the defaults; requests that sample (temperature
 * above 0, which is OpenAI's default of 1 when absent) are cached only with
 * `sampling: true`, since a sampled answer is one of many.
 */
const routeCache = z.union([
  z.boolean().transform((enabled) => ({ enabled, sampling: false, ttlMs: undefined as number | undefined })),
  z.strictObject({
    enabled: z.boolean().default(true),
    sampling: z.boolean().default(false),
    /** Overrides cache.ttlMs for this route. */
    ttlMs: z.number().int().positive().optional(),
  }),
]);

const route = z.strictObject({
  description: z.string().optional(),
  cache: routeCache.default({ enabled: false, sampling: false, ttlMs: undefined }),
  /** The first variant serves unless a request names another (header x-switchyard-variant). */
  variants: z.array(variant).min(1),
  /** Tried in order when the variant fails before the client received a byte. */
  fallbacks: z.array(fallback).default([]),
});

const experimentWeight = z.strictObject({
  /** A variant of the experiment's route. */
  variant: z.string(),
  /** Relative share of units; weights need not sum to 100. */
  weight: z.number().nonnegative().max(1_000_000),
});

const judge = z.strictObject({
  backend: z.string(),
  model: z.string().min(1),
  /** The judge's instructions; a default rubric when absent (core/judge.ts). */
  rubric: z.string().min(1).optional(),
  /** Share of shadowed requests judged, 0 to 1. */
  share: z.number().min(0).max(1).default(1),
  timeoutMs: ms(60_000),
});

/**
 * Shadow traffic: a share of the experiment's requests is also sent, in the
 * background, to these variants; the user only ever gets the primary's answer.
 */
export const shadowSchema = z.strictObject({
  variants: z.array(z.string()).min(1, "name at least one variant to shadow to"),
  /** Share of requests shadowed, 0 to 1. */
  share: z.number().min(0).max(1),
  /** Per shadow call, on top of the backend's own timeouts. */
  timeoutMs: ms(30_000),
  judge: judge.optional(),
});

/**
 * A staged rollout of one candidate against the experiment's control: the
 * candidate's share climbs through `steps` while every guardrail holds, and
 * everyone goes back to control when one fails (core/rollout.ts).
 */
export const rolloutSchema = z.strictObject({
  candidate: z.string(),
  /** The candidate's share in percent at each step, ascending; the last is 100. */
  steps: z
    .array(z.number().gt(0).max(100))
    .min(1)
    .refine((xs) => xs.every((x, i) => i === 0 || x > (xs[i - 1] as number)), "steps must be ascending")
    .refine((xs) => xs[xs.length - 1] === 100, "the last step must be 100"),
  evaluateEveryMs: ms(60_000),
  minSamples: z.number().int().positive().default(200),
  minDurationMs: z.number().int().nonnegative().default(3_600_000),
  minSuccessRate: z.number().min(0).max(1),
  maxP95LatencyMs: z.number().positive(),
  feedback: z
    .strictObject({
      metric: z.enum(["thumbs", "stars"]),
      /** How much worse than control is tolerated: rate points for thumbs, stars for stars. */
      margin: z.number().nonnegative().default(0.05),
    })
    .optional(),
});

/**
 * A Thompson-sampling bandit: the split follows each variant's chance of being
 * the best on a binary reward, with a floor per variant (core/bandit.ts).
 */
export const banditSchema = z.strictObject({
  /** success: status 200 with no error; thumbs: thumbs-up among thumbs given. */
  reward: z.enum(["success", "thumbs"]),
  /** Every variant keeps at least this share, 0 to 0.5. */
  minShare: z.number().min(0).max(0.5).default(0.05),
  updateEveryMs: ms(60_000),
});

/** Metrics a GO / NO-GO criterion can test (core/report.ts). `_vs_control`: candidate − control. */
export const CRITERION_METRICS = [
  "success_rate",
  "mean_latency_ms",
  "p50_latency_ms",
  "p95_latency_ms",
  "p99_latency_ms",
  "p95_ttft_ms",
  "thumbs_up_rate",
  "mean_stars",
  "cost_per_request_usd",
  "preference_win_rate",
  "success_rate_vs_control",
  "mean_latency_ms_vs_control",
  "thumbs_up_rate_vs_control",
  "mean_stars_vs_control",
] as const;

/**
 * One GO / NO-GO criterion, tested on every variant but the control. Absolute
 * metrics compare the point estimate once `minRequests` is reached;
 * `_vs_control` metrics compare the always-valid interval of the difference
 * (pass when all of it satisfies the test, fail when none of it does).
 */
export const criterionSchema = z.strictObject({
  metric: z.enum(CRITERION_METRICS),
  op: z.enum([">=", ">", "<=", "<"]),
  value: z.number(),
});

/**
 * An experiment splitting one route's traffic between its variants, and
 * optionally shadowing some of it to others. Declared here or created through
 * the admin API; the same schema checks both.
 */
export const experimentSchema = z.strictObject({
  route: z.string(),
  /** Salts the assignment hash; defaults to the experiment's name. */
  key: z.string().min(1).max(256).optional(),
  /** The split; a single variant (weight > 0) makes a shadow-only experiment. */
  variants: z
    .array(experimentWeight)
    .min(1, "an experiment needs at least one variant")
    .refine((ws) => ws.some((w) => w.weight > 0), "at least one weight must be positive"),
  shadow: shadowSchema.optional(),
  /** With a rollout, the weights follow its steps (the candidate gets the step's share). */
  rollout: rolloutSchema.optional(),
  /** With a bandit, the weights follow the rewards (the declared ones are the start). */
  bandit: banditSchema.optional(),
  /** The GO / NO-GO criteria its report's verdict applies. */
  criteria: z.array(criterionSchema).default([]),
  /** Requests a variant needs before an absolute criterion is judged. */
  verdictMinRequests: z.number().int().positive().default(100),
  /** The variant compared against; defaults to the first. Serves everyone while paused. */
  control: z.string().optional(),
  status: z.enum(EXPERIMENT_STATUSES).default("running"),
  /** When stopped: the variant that serves from then on (control when absent). */
  winner: z.string().optional(),
});

/** Limits on each key of a tenant, per minute from a key's first call in it; a limit left out is no limit. A key's own (keys create --rpm/--tpm) replace these. */
const keyLimits = z.strictObject({
  requestsPerMinute: z.number().int().positive().optional(),
  /** Input and output tokens of answered calls (cache hits spend none). */
  tokensPerMinute: z.number().int().positive().optional(),
});

const tenant = z.strictObject({
  /** Routes this tenant's keys may call: a list, or "*" for all. */
  routes: z.union([z.literal("*"), z.array(z.string())]).default("*"),
  limits: keyLimits.optional(),
  /** What the tenant's calls may cost together per period (prices from the backends' `prices`); past it, calls are refused with a 429. */
  budget: z
    .strictObject({
      usd: z.number().positive(),
      period: z.enum(["day", "week", "month"]).default("month"),
    })
    .optional(),
  /** Per llama-cpp backend, the adapter this tenant's requests use on its base model (unless the variant names one). */
  adapters: z.record(z.string(), z.string()).default({}),
});

export const configSchema = z
  .strictObject({
    server: z
      .strictObject({
        host: z.string().default("127.0.0.1"),
        port: z.number().int().min(0).max(65535).default(8400),
        bodyLimit: byteSize.default(4 * 1024 * 1024),
        /** How long a shutdown waits for in-flight requests before cutting them. */
        shutdownGraceMs: ms(15_000),
      })
      .prefault({}),
    database: z
      .strictObject({
        /** A SQLite file (the default), `:memory:`, or `postgres://user:password@host:5432/db` for a shared store. */
        url: z.string().min(1).default("./switchyard.db"),
        /** PostgreSQL only: connections this process keeps open at most (the log writer takes one per batch). */
        poolSize: z.number().int().min(1).max(1000).default(10),
      })
      .prefault({}),
    auth: z.strictObject({ required: z.boolean().default(true) }).prefault({}),
    logging: z
      .strictObject({ level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info") })
      .prefault({}),
    requestLog: z
      .strictObject({
        flushIntervalMs: ms(200),
        batchSize: z.number().int().positive().default(500),
        /** Rows held in memory at most while the store is slow or down; past it the oldest are dropped and counted. */
        maxQueue: z.number().int().positive().default(100_000),
        /** Conversation messages held in memory at most; past it the oldest turns are dropped (rows kept). */
        maxTurnBytes: byteSize.default(256 * 1024 * 1024),
      })
      .prefault({}),
    conversations: z
      .strictObject({
        /** Keep each answered request's new messages and answer as a conversation (per session). */
        store: z.boolean().default(true),
      })
      .prefault({}),
    backends: z.record(name("a backend name"), backend).default({}),
    routes: z.record(name("a route name"), route).default({}),
    tenants: z.record(name("a tenant name"), tenant).default({ default: { routes: "*", adapters: {} } }),
    experiments: z.record(name("an experiment name"), experimentSchema).default({}),
    /** A Redis that replicas share (the response cache with `cache.store: redis`). */
    redis: z
      .strictObject({
        url: z.string().regex(/^rediss?:\/\//, "expected a redis:// or rediss:// URL"),
        /** Every key Switchyard writes starts with this, so one Redis can serve several deployments. */
        keyPrefix: z.string().default("switchyard:"),
        /** A command that takes longer is given up (the cache then answers a miss): Redis never holds a request up. */
        commandTimeoutMs: ms(250),
      })
      .optional(),
    /** Where the keys' rate counters live: this process (memory) or the shared `redis` (every replica counts together). */
    limits: z.strictObject({ store: z.enum(["memory", "redis"]).default("memory") }).prefault({}),
    /** The response cache shared by the routes that turn it on (`routes.<name>.cache`). */
    cache: z
      .strictObject({
        /** memory: this process's own; redis: shared by every replica on the `redis` above. */
        store: z.enum(["memory", "redis"]).default("memory"),
        ttlMs: ms(3_600_000),
        /** Bounds of the in-memory store: past either, the least recently used answers go. */
        maxEntries: z.number().int().positive().default(10_000),
        /** Also the largest answer kept, in either store (Redis bounds its own memory with maxmemory). */
        maxBytes: byteSize.default(64 * 1024 * 1024),
      })
      .prefault({}),
    /** Limits on shadow work across all experiments: it is shed, never queued without bound. */
    shadow: z
      .strictObject({
        maxConcurrency: z.number().int().positive().default(8),
        maxQueue: z.number().int().min(0).default(64),
        /** A shadow call starts only while its backend's calls in flight (all of them) are below this share of its maxConcurrency. */
        maxBackendShare: z.number().gt(0).max(1).default(0.5),
      })
      .prefault({}),
  })
  .superRefine((cfg, ctx) => {
    for (const section of ["cache", "limits"] as const) {
      if (cfg[section].store === "redis" && !cfg.redis) {
        ctx.addIssue({
          code: "custom",
          path: [section, "store"],
          message: "is redis but no redis is declared (add redis: { url: redis://host:6379 })",
        });
      }
    }
    const backends = Object.keys(cfg.backends);
    const checkBackend = (ref: string, path: (string | number)[]) => {
      if (!Object.hasOwn(cfg.backends, ref)) {
        ctx.addIssue({
          code: "custom",
          path,
          message: `unknown backend '${ref}' (declared backends: ${backends.join(", ") || "none"})`,
        });
      }
    };
    for (const [routeName, r] of Object.entries(cfg.routes)) {
      const seen = new Set<string>();
      r.variants.forEach((v, i) => {
        checkBackend(v.backend, ["routes", routeName, "variants", i, "backend"]);
        if (seen.has(v.name)) {
          ctx.addIssue({
            code: "custom",
            path: ["routes", routeName, "variants", i, "name"],
            message: `duplicate variant name '${v.name}'`,
          });
        }
        seen.add(v.name);
      });
      for (const [i, f] of r.fallbacks.entries())
        checkBackend(f.backend, ["routes", routeName, "fallbacks", i, "backend"]);
    }
    const checkAdapter = (backendName: string, adapter: string, path: (string | number)[]) => {
      const b = Object.hasOwn(cfg.backends, backendName) ? cfg.backends[backendName] : undefined;
      if (!b) return;
      if (b.type !== "llama-cpp") {
        ctx.addIssue({
          code: "custom",
          path,
          message: `backend '${backendName}' is ${b.type}: only a llama-cpp backend takes adapters`,
        });
      } else if (!Object.hasOwn(b.adapters, adapter)) {
        const known = Object.keys(b.adapters).join(", ") || "none";
        ctx.addIssue({
          code: "custom",
          path,
          message: `unknown adapter '${adapter}' of backend '${backendName}' (its adapters: ${known})`,
        });
      }
    };
    for (const [routeName, r] of Object.entries(cfg.routes)) {
      for (const [i, v] of r.variants.entries())
        if (v.adapter !== undefined)
          checkAdapter(v.backend, v.adapter, ["routes", routeName, "variants", i, "adapter"]);
      for (const [i, f] of r.fallbacks.entries())
        if (f.adapter !== undefined)
          checkAdapter(f.backend, f.adapter, ["routes", routeName, "fallbacks", i, "adapter"]);
    }
    for (const [tenantName, t] of Object.entries(cfg.tenants)) {
      for (const [backendName, adapter] of Object.entries(t.adapters)) {
        checkBackend(backendName, ["tenants", tenantName, "adapters", backendName]);
        checkAdapter(backendName, adapter, ["tenants", tenantName, "adapters", backendName]);
      }
    }
    const holder = new Map<string, string>();
    for (const [expName, e] of Object.entries(cfg.experiments)) {
      const route = Object.hasOwn(cfg.routes, e.route) ? cfg.routes[e.route] : undefined;
      for (const p of experimentProblems(e, route, cfg.backends))
        ctx.addIssue({ code: "custom", ...p, path: ["experiments", expName, ...p.path] });
      if (e.status === "stopped") continue;
      const other = holder.get(e.route);
      if (other) {
        ctx.addIssue({
          code: "custom",
          path: ["experiments", expName, "route"],
          message: `route '${e.route}' already has experiment '${other}' (a route runs one experiment at a time; stop one)`,
        });
      }
      holder.set(e.route, expName);
    }
    for (const [tenantName, t] of Object.entries(cfg.tenants)) {
      if (t.routes === "*") continue;
      t.routes.forEach((r, i) => {
        if (!Object.hasOwn(cfg.routes, r)) {
          ctx.addIssue({
            code: "custom",
            path: ["tenants", tenantName, "routes", i],
            message: `unknown route '${r}' (declared routes: ${Object.keys(cfg.routes).join(", ") || "none"})`,
          });
        }
      });
    }
  });

/**
 * What is wrong with an experiment against its route: the route must exist and
 * every variant named (weights, control, winner) must be one of its variants.
 */
export function experimentProblems(
  e: z.infer<typeof experimentSchema>,
  route: RouteConfig | undefined,
  backends?: Record<string, unknown>,
): { path: (string | number)[]; message: string }[] {
  if (!route) return [{ path: ["route"], message: `unknown route '${e.route}'` }];
  const judgeBackend = e.shadow?.judge?.backend;
  if (judgeBackend !== undefined && backends && !Object.hasOwn(backends, judgeBackend)) {
    return [{ path: ["shadow", "judge", "backend"], message: `unknown backend '${judgeBackend}'` }];
  }
  const names = route.variants.map((v) => v.name);
  const known = (v: string) => names.includes(v);
  const out: { path: (string | number)[]; message: string }[] = [];
  const unknown = (v: string) => `unknown variant '${v}' of route '${e.route}' (its variants: ${names.join(", ")})`;
  const seen = new Set<string>();
  e.variants.forEach((w, i) => {
    if (!known(w.variant)) out.push({ path: ["variants", i, "variant"], message: unknown(w.variant) });
    if (seen.has(w.variant))
      out.push({ path: ["variants", i, "variant"], message: `variant '${w.variant}' listed twice` });
    seen.add(w.variant);
  });
  if (e.variants.length < 2 && !e.shadow) {
    out.push({ path: ["variants"], message: "an experiment needs two variants to split between, or a shadow" });
  }
  e.shadow?.variants.forEach((v, i) => {
    if (!known(v)) out.push({ path: ["shadow", "variants", i], message: unknown(v) });
  });
  if (e.bandit && e.rollout) {
    out.push({
      path: ["bandit"],
      message: "an experiment has either a rollout or a bandit driving its weights, not both",
    });
  }
  if (e.bandit && e.bandit.minShare * e.variants.length > 1) {
    out.push({
      path: ["bandit", "minShare"],
      message: `${e.bandit.minShare} for each of ${e.variants.length} variants is more than the whole`,
    });
  }
  if (e.rollout) {
    const control = e.control ?? e.variants[0]?.variant;
    if (!seen.has(e.rollout.candidate)) {
      out.push({
        path: ["rollout", "candidate"],
        message: `'${e.rollout.candidate}' is not one of the experiment's variants (${[...seen].join(", ")})`,
      });
    } else if (e.rollout.candidate === control) {
      out.push({ path: ["rollout", "candidate"], message: "the candidate cannot be the control" });
    }
    if (e.variants.length !== 2) {
      out.push({ path: ["variants"], message: "a rollout needs exactly two variants: the control and the candidate" });
    }
  }
  for (const field of ["control", "winner"] as const) {
    const v = e[field];
    if (v !== undefined && !seen.has(v))
      out.push({ path: [field], message: `'${v}' is not one of the experiment's variants (${[...seen].join(", ")})` });
  }
  return out;
}

export type Config = z.infer<typeof configSchema>;
export type ExperimentConfig = Config["experiments"][string];
export type ShadowConfig = NonNullable<ExperimentConfig["shadow"]>;
export type RolloutConfig = NonNullable<ExperimentConfig["rollout"]>;
export type BanditConfig = NonNullable<ExperimentConfig["bandit"]>;
export type Criterion = z.infer<typeof criterionSchema>;
export type BackendConfig = Config["backends"][string];
export type LlamaCppBackendConfig = Extract<BackendConfig, { type: "llama-cpp" }>;
export type RouteConfig = Config["routes"][string];
export type VariantConfig = RouteConfig["variants"][number];
export type TargetConfig = RouteConfig["fallbacks"][number];

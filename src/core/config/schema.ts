/**
 * The one config schema. Its inferred type (`Config`) is the only config type:
 * every default lives here, and every cross-reference (a variant's backend, a
 * tenant's routes) is checked here, so a bad file fails at start, not at the
 * first request.
 */
import { z } from "zod";

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

const backend = z.discriminatedUnion("type", [openaiBackend, anthropicBackend, pluginBackend], {
  error: 'expected type "openai", "anthropic" or "plugin"',
});

const target = {
  backend: z.string(),
  model: z.string().min(1),
  /** Request parameters this target always sends (they override the client's). */
  params: z.record(z.string(), z.unknown()).default({}),
};

const variant = z.strictObject({ name: name("a variant name"), ...target });
const fallback = z.strictObject(target);

const route = z.strictObject({
  description: z.string().optional(),
  /** The first variant serves unless a request names another (header x-switchyard-variant). */
  variants: z.array(variant).min(1),
  /** Tried in order when the variant fails before the client received a byte. */
  fallbacks: z.array(fallback).default([]),
});

const tenant = z.strictObject({
  /** Routes this tenant's keys may call: a list, or "*" for all. */
  routes: z.union([z.literal("*"), z.array(z.string())]).default("*"),
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
    database: z.strictObject({ url: z.string().min(1).default("./switchyard.db") }).prefault({}),
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
    tenants: z.record(name("a tenant name"), tenant).default({ default: { routes: "*" } }),
  })
  .superRefine((cfg, ctx) => {
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

export type Config = z.infer<typeof configSchema>;
export type BackendConfig = Config["backends"][string];
export type RouteConfig = Config["routes"][string];
export type VariantConfig = RouteConfig["variants"][number];
export type TargetConfig = RouteConfig["fallbacks"][number];

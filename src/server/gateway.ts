/**
 * Everything a running Switchyard holds: config, store, request log writer, key
 * cache, the resilient backends and metrics; and the order they start and stop
 * in (a graceful drain loses no log row).
 */
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { Cancel } from "../backends/cancel.js";
import { LlamaCppBackend } from "../backends/llama-cpp/index.js";
import type { PluginFactory } from "../backends/plugin.js";
import { createBackend, loadPlugins } from "../backends/registry.js";
import { ResilientBackend } from "../backends/resilient.js";
import type { Config } from "../core/config/schema.js";
import { errors } from "../errors.js";
import { type Db, migrateToLatest, openDatabase } from "../store/db.js";
import { syncConfigExperiments } from "../store/experiments.js";
import { openLogSink } from "../store/log-sinks.js";
import { RequestLogWriter } from "../store/request-log.js";
import { Authenticator, KeyCache } from "./auth.js";
import { SpendBudgets } from "./budgets.js";
import { ExperimentRegistry } from "./experiment-registry.js";
import { ExperimentScheduler } from "./experiment-scheduler.js";
import { BREAKER_VALUE, createMetrics, type GatewayMetrics } from "./metrics.js";
import { PromptRegistry } from "./prompt-registry.js";
import { KeyRateLimits } from "./rate-limits.js";
import { openRedis } from "./redis-client.js";
import { RedisResponseCache } from "./redis-response-cache.js";
import { MemoryResponseCache, type ResponseCacheStore } from "./response-cache.js";
import { ShadowRunner } from "./shadow.js";

export class Gateway {
  readonly backends = new Map<string, ResilientBackend>();
  /** The llama-cpp backends, for their engines' health and metrics. */
  readonly localEngines = new Map<string, LlamaCppBackend>();
  readonly metrics: GatewayMetrics;
  readonly log: RequestLogWriter;
  readonly keys: KeyCache;
  readonly auth: Authenticator;
  readonly experiments: ExperimentRegistry;
  /** Every prompt version, compiled, in memory (requests never read prompts from the store). */
  readonly prompts: PromptRegistry;
  readonly shadow: ShadowRunner;
  readonly cache: ResponseCacheStore;
  /** Per-key rate limits (the key's own or its tenant's). */
  readonly limits: KeyRateLimits;
  /** Spend budgets per key and tenant. */
  readonly budgets: SpendBudgets;
  readonly #redis: Redis | undefined;
  readonly scheduler: ExperimentScheduler;
  /** Replay runs working in this process (admin API), to interrupt on shutdown. */
  readonly replays = new Map<string, { abort: AbortController; done: Promise<void> }>();
  #draining = false;
  readonly #inFlight = new Set<Cancel>();
  readonly #recording = new Set<Promise<void>>();
  #idle: (() => void) | undefined;

  private constructor(
    readonly config: Config,
    readonly db: Db,
    readonly logger: Logger,
    plugins: Map<string, PluginFactory>,
    shared: { cache: ResponseCacheStore; limits: KeyRateLimits; redis: Redis | undefined },
  ) {
    this.log = new RequestLogWriter(openLogSink(db, config.database.url), config.requestLog, logger);
    this.metrics = createMetrics({
      logQueueDepth: () => this.log.depth,
      logRowsDropped: () => this.log.dropped,
      backendsInFlight: () => [...this.backends].map(([name, b]) => [name, b.inFlight]),
      shadowActive: () => this.shadow.active,
      shadowQueued: () => this.shadow.queued,
      shadowResultsDropped: () => this.log.shadowsDropped,
      cacheEntries: () => this.cache.size,
      cacheBytes: () => this.cache.bytes,
      cacheFailures: () => this.cache.failures,
      localEngines: () => [...this.localEngines].map(([name, b]) => [name, b.stats()]),
    });
    this.keys = new KeyCache(db, logger);
    this.auth = new Authenticator(config, this.keys);
    this.experiments = new ExperimentRegistry(db, logger);
    this.prompts = new PromptRegistry(db, logger);
    this.scheduler = new ExperimentScheduler(this, logger);
    this.cache = shared.cache;
    this.limits = shared.limits;
    this.budgets = new SpendBudgets(db, config, logger);
    this.#redis = shared.redis;
    this.shadow = new ShadowRunner({ config, backends: this.backends, metrics: this.metrics, log: this.log, logger });
    for (const [name, cfg] of Object.entries(config.backends)) {
      const inner = createBackend(name, cfg, plugins);
      if (inner instanceof LlamaCppBackend) this.#watchLoad(name, inner);
      const backend = new ResilientBackend(inner, cfg, (state) => {
        this.metrics.breakerState.set({ backend: name }, BREAKER_VALUE[state]);
        logger.warn({ backend: name, breaker: state }, `backend ${name}: circuit breaker ${state}`);
      });
      this.metrics.breakerState.set({ backend: name }, 0);
      this.backends.set(name, backend);
    }
  }

  #watchLoad(name: string, backend: LlamaCppBackend): void {
    this.localEngines.set(name, backend);
    const t0 = performance.now();
    backend.engine.ready.then(
      () => {
        const s = backend.stats();
        this.logger.info(
          {
            backend: name,
            load_ms: Math.round(performance.now() - t0),
            memory_bytes: s.memoryBytes,
            threads: s.threads,
          },
          `backend ${name}: local model loaded`,
        );
      },
      (e: unknown) =>
        this.logger.error(
          { backend: name, err: (e as Error).message },
          `backend ${name}: the local model failed to load; its requests fall back along their routes' chains`,
        ),
    );
  }

  /** Opens the store, migrates it, loads keys. */
  static async open(config: Config, logger: Logger): Promise<Gateway> {
    const plugins = await loadPlugins(config.backends);
    const db = openDatabase(config.database.url, { poolSize: config.database.poolSize });
    await migrateToLatest(db);
    const redis = await sharedRedis(config, logger);
    const shared = {
      cache: openResponseCache(config, redis, logger),
      limits: await KeyRateLimits.open(config, redis),
      redis,
    };
    const gw = new Gateway(config, db, logger, plugins, shared);
    await gw.keys.start();
    const sync = await syncConfigExperiments(db, config.experiments);
    for (const name of sync.superseded) {
      logger.warn(
        { experiment: name },
        `experiment ${name} stopped: the config file gave its route to another experiment`,
      );
    }
    for (const name of sync.removed)
      logger.info({ experiment: name }, `experiment ${name} stopped: removed from the config file`);
    await gw.experiments.start();
    await gw.prompts.start();
    gw.warnUnresolvedPrompts();
    gw.scheduler.start();
    gw.budgets.start();
    return gw;
  }

  /** Says at start which variants name a prompt the store cannot serve yet (their requests answer 503). */
  warnUnresolvedPrompts(): void {
    for (const [route, r] of Object.entries(this.config.routes)) {
      for (const v of r.variants) {
        if (!v.prompt) continue;
        const res = this.prompts.resolve(v.prompt);
        if (typeof res === "string") {
          this.logger.warn(
            { route, variant: v.name, prompt: v.prompt },
            `route ${route} variant ${v.name}: prompt ${v.prompt} cannot be served yet: ${res} (create it with switchyard prompts create or import)`,
          );
        }
      }
    }
  }

  get draining(): boolean {
    return this.#draining;
  }

  /**
   * Registers a request in flight; its token is cancelled when the drain's grace
   * period ends. Call `done` when the response has ended.
   */
  track(): { cancel: Cancel; done: () => void } {
    if (this.#draining) throw errors.shuttingDown();
    const cancel = new Cancel();
    this.#inFlight.add(cancel);
    return {
      cancel,
      done: () => {
        this.#inFlight.delete(cancel);
        if (this.#inFlight.size === 0) this.#idle?.();
      },
    };
  }

  /** Keeps a request-log row being built from being lost to a shutdown. */
  recording(p: Promise<void>): void {
    this.#recording.add(p);
    void p.finally(() => this.#recording.delete(p));
  }

  /** Resolves once every log row being built has been handed to the writer. */
  async recorded(): Promise<void> {
    await Promise.allSettled([...this.#recording]);
  }

  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  /** From now on new requests are refused (503 in OpenAI's shape) and readiness fails. */
  stopAccepting(): void {
    this.#draining = true;
  }

  /** Stops taking requests, waits up to the grace period for those in flight, then cuts the rest. */
  async drain(graceMs: number): Promise<void> {
    this.stopAccepting();
    if (this.#inFlight.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.#idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const c of this.#inFlight) c.cancel(errors.shuttingDown());
  }

  /** Writes every queued log row and releases the store and upstream pools. */
  async close(): Promise<void> {
    this.keys.stop();
    this.experiments.stop();
    this.prompts.stop();
    this.scheduler.stop();
    this.budgets.stop();
    for (const r of this.replays.values()) r.abort.abort();
    await Promise.allSettled([...this.replays.values()].map((r) => r.done));
    await this.recorded();
    // After the rows: a cut shadow call still records its comparison with the primary.
    await this.shadow.close();
    await this.log.close();
    await Promise.allSettled([...this.backends.values()].map((b) => b.close()));
    await this.cache.close();
    await this.#redis?.quit().catch(() => this.#redis?.disconnect());
    await this.db.destroy();
  }
}

/** The Redis connection, when the cache or the limits are configured on it. */
async function sharedRedis(config: Config, logger: Logger): Promise<Redis | undefined> {
  if (!config.redis || (config.cache.store !== "redis" && config.limits.store !== "redis")) return undefined;
  let lastWarn = 0;
  return openRedis(config.redis, (e) => {
    // The URL may carry a password: only the error's own message is logged, at most once a minute.
    if (Date.now() - lastWarn < 60_000) return;
    lastWarn = Date.now();
    logger.warn(
      { err: { message: (e as Error)?.message } },
      "Redis unreachable: cache misses, limits counted per replica",
    );
  });
}

function openResponseCache(config: Config, redis: Redis | undefined, logger: Logger): ResponseCacheStore {
  if (config.cache.store !== "redis" || !redis || !config.redis) return new MemoryResponseCache(config.cache);
  return new RedisResponseCache(redis, { keyPrefix: config.redis.keyPrefix, maxBytes: config.cache.maxBytes }, logger);
}

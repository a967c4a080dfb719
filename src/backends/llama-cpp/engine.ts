/**
 * One GGUF model loaded once, and the sequences that generate from it. A LoRA
 * adapter in llama.cpp applies to a whole context, so each adapter in use has a
 * context of its own on the shared model (the base weights are never reloaded):
 * the base's is made at load, an adapter's on first use, and past
 * `maxLoadedAdapters` the least recently used idle one is unloaded.
 *
 * At most `parallel` sequences generate at once, across all contexts; at most
 * `maxQueue` requests wait for one; the rest are refused at once with
 * SY_ERR_LOCAL_OVERLOADED (never an unbounded queue).
 */
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import type { ChatWrapper, Llama, LlamaContext, LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import type { LlamaCppBackendConfig } from "../../core/config/schema.js";
import { errors } from "../../errors.js";
import type { NodeLlamaCpp } from "./load.js";

export interface LlamaEngineStats {
  state: "loading" | "ready" | "failed";
  error: string | null;
  /** Adapters whose context is loaded, most recently used first. */
  adaptersLoaded: string[];
  /** The model's weights, the loaded adapters' files and every context's estimated memory, in bytes. */
  memoryBytes: number;
  active: number;
  queued: number;
  parallel: number;
  maxQueue: number;
  threads: number;
  /** Decode speed, a moving average over recent generations. */
  tokensPerSecond: number;
  generatedTokens: number;
}

/** A sequence granted to one request; `release` gives it back (safe to call twice). */
export interface Lease {
  sequence: LlamaContextSequence;
  adapter: string | undefined;
  release(): void;
}

interface Loaded {
  context: Promise<LlamaContext>;
  users: number;
  lastUsed: number;
  /** The context's memory (KV cache and compute buffers, node-llama-cpp's estimate) once it has loaded. */
  bytes: number;
}

interface Waiter {
  adapter: string | undefined;
  grant: (entry: Loaded) => void;
  fail: (e: unknown) => void;
}

/** Half the logical cores, at least 1: llama.cpp is fastest near the physical core count, and far slower past it. */
export function defaultThreads(): number {
  return Math.max(1, Math.floor(availableParallelism() / 2));
}

export class LlamaEngine {
  readonly #mod: NodeLlamaCpp;
  readonly #name: string;
  readonly #cfg: LlamaCppBackendConfig;
  readonly #adapterBytes: Map<string, number>;
  readonly threads: number;
  #llama: Llama | undefined;
  #model: LlamaModel | undefined;
  #wrapper: ChatWrapper | undefined;
  #state: LlamaEngineStats["state"] = "loading";
  #error: string | null = null;
  readonly #loaded = new Map<string, Loaded>();
  readonly #queue: Waiter[] = [];
  #active = 0;
  #closed = false;
  #tps = 0;
  #generated = 0;
  readonly ready: Promise<void>;

  constructor(mod: NodeLlamaCpp, name: string, cfg: LlamaCppBackendConfig, adapterBytes: Map<string, number>) {
    this.#mod = mod;
    this.#name = name;
    this.#cfg = cfg;
    this.#adapterBytes = adapterBytes;
    this.threads = cfg.threads ?? defaultThreads();
    this.ready = this.#load();
    // A failed load is reported by every request and the health view, never as an unhandled rejection.
    this.ready.catch(() => {});
  }

  async #load(): Promise<void> {
    try {
      // build "never" and gpu false (unless layers are offloaded): never download or compile at run time.
      this.#llama = await this.#mod.getLlama({
        gpu: this.#cfg.gpuLayers > 0 ? "auto" : false,
        build: "never",
        maxThreads: this.threads,
        logLevel: this.#mod.LlamaLogLevel.error,
        progressLogs: false,
      });
      this.#model = await this.#llama.loadModel({ modelPath: this.#cfg.modelPath, gpuLayers: this.#cfg.gpuLayers });
      this.#wrapper = this.#mod.resolveChatWrapper(this.#model);
      const base = this.#loadedEntry(undefined);
      this.#loaded.set("", base);
      await base.context;
      if (this.#closed) return;
      this.#state = "ready";
    } catch (e) {
      this.#state = "failed";
      this.#error = (e as Error).message ?? String(e);
      for (const w of this.#queue.splice(0)) w.fail(this.#unavailable());
      throw e;
    }
    this.#pump();
  }

  #unavailable() {
    return errors.localModelUnavailable({}, this.#name, `the model failed to load: ${this.#error}`);
  }

  get model(): LlamaModel {
    return this.#model as LlamaModel;
  }

  get chatWrapper(): ChatWrapper {
    return this.#wrapper as ChatWrapper;
  }

  get modelPath(): string {
    return this.#cfg.modelPath;
  }

  get contextSize(): number {
    return this.#cfg.contextSize;
  }

  #createContext(adapter: string | undefined): Promise<LlamaContext> {
    const a = adapter === undefined ? undefined : this.#cfg.adapters[adapter];
    return (this.#model as LlamaModel).createContext({
      contextSize: this.#cfg.contextSize,
      sequences: this.#cfg.parallel,
      threads: this.threads,
      ...(a ? { lora: { adapters: [{ filePath: a.path, scale: a.scale }] } } : {}),
    });
  }

  /**
   * Waits (within the queue's bound) for a sequence on the adapter's context. Rejects
   * with SY_ERR_LOCAL_OVERLOADED when the queue is full, with the model's load error
   * when it failed, and with `signal.reason` when the caller gives up while waiting.
   */
  async acquire(adapter: string | undefined, signal: AbortSignal): Promise<Lease> {
    if (this.#state === "failed") throw this.#unavailable();
    if (this.#closed) throw errors.shuttingDown();
    if (signal.aborted) throw signal.reason;
    let entry: Loaded;
    // Strict arrival order: nobody passes a waiter, so one waiting for adapter room is never starved.
    const free = this.#queue.length === 0 && this.#active < this.#cfg.parallel;
    if (this.#state === "ready" && free && this.#admissible(adapter)) {
      entry = this.#take(adapter);
    } else {
      if (this.#queue.length >= this.#cfg.maxQueue) {
        throw errors.localOverloaded({}, this.#name, this.#active, this.#queue.length);
      }
      entry = await new Promise<Loaded>((grant, fail) => {
        const w: Waiter = {
          adapter,
          grant: (e) => {
            signal.removeEventListener("abort", onAbort);
            grant(e);
          },
          fail: (e) => {
            signal.removeEventListener("abort", onAbort);
            fail(e);
          },
        };
        const onAbort = () => {
          const i = this.#queue.indexOf(w);
          if (i >= 0) this.#queue.splice(i, 1);
          fail(signal.reason);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        this.#queue.push(w);
      });
    }
    // The slot is ours (#active counts it, the entry its user); the context may still be loading.
    const key = adapter ?? "";
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      entry.users--;
      entry.lastUsed = Date.now();
      this.#active--;
      this.#pump();
    };
    try {
      const context = await entry.context;
      if (signal.aborted) throw signal.reason;
      const sequence = context.getSequence();
      return {
        sequence,
        adapter,
        release: () => {
          if (!released && !sequence.disposed) sequence.dispose();
          release();
        },
      };
    } catch (e) {
      release();
      if (signal.aborted && e === signal.reason) throw e;
      // An adapter that failed to load is dropped, so a fixed file is tried again later.
      if (this.#loaded.get(key) === entry && entry.users === 0) this.#loaded.delete(key);
      throw errors.localModelUnavailable(
        { cause: e },
        this.#name,
        adapter === undefined ? (e as Error).message : `adapter '${adapter}' failed to load: ${(e as Error).message}`,
      );
    }
  }

  /** Whether a request for this adapter could start now (a slot being free): loaded, room to load, or an idle one to unload. */
  #admissible(adapter: string | undefined): boolean {
    if (adapter === undefined || this.#loaded.has(adapter)) return true;
    if (this.#adapterCount() < this.#cfg.maxLoadedAdapters) return true;
    return this.#idleAdapter() !== undefined;
  }

  #adapterCount(): number {
    return this.#loaded.size - (this.#loaded.has("") ? 1 : 0);
  }

  #idleAdapter(): string | undefined {
    let lru: string | undefined;
    let oldest = Number.POSITIVE_INFINITY;
    for (const [key, e] of this.#loaded) {
      if (key !== "" && e.users === 0 && e.lastUsed < oldest) {
        lru = key;
        oldest = e.lastUsed;
      }
    }
    return lru;
  }

  /** Takes a slot and a user of the adapter's context, synchronously, so admission counts stay exact. */
  #take(adapter: string | undefined): Loaded {
    this.#active++;
    const entry = this.#entryFor(adapter);
    entry.users++;
    entry.lastUsed = Date.now();
    return entry;
  }

  #entryFor(adapter: string | undefined): Loaded {
    const key = adapter ?? "";
    const have = this.#loaded.get(key);
    if (have) return have;
    if (this.#adapterCount() >= this.#cfg.maxLoadedAdapters) {
      const evict = this.#idleAdapter();
      if (evict !== undefined) this.#unload(evict);
    }
    const entry = this.#loadedEntry(adapter);
    this.#loaded.set(key, entry);
    return entry;
  }

  #loadedEntry(adapter: string | undefined): Loaded {
    const entry: Loaded = { context: this.#createContext(adapter), users: 0, lastUsed: Date.now(), bytes: 0 };
    entry.context
      .then(() =>
        (this.#model as LlamaModel).fileInsights.estimateContextResourceRequirementsV2({
          contextSize: this.#cfg.contextSize,
          sequences: this.#cfg.parallel,
          modelGpuLayers: this.#cfg.gpuLayers,
        }),
      )
      .then((need) => {
        entry.bytes = need.cpuRam + need.gpuVram;
      })
      .catch(() => {});
    return entry;
  }

  /** Unloads an idle adapter: its context, then its weights unless another loaded adapter shares the file. */
  #unload(adapter: string): void {
    const entry = this.#loaded.get(adapter);
    this.#loaded.delete(adapter);
    const path = this.#cfg.adapters[adapter]?.path;
    const shared = [...this.#loaded.keys()].some((k) => k !== "" && this.#cfg.adapters[k]?.path === path);
    void entry?.context
      .then(async (ctx) => {
        await ctx.dispose();
        if (path !== undefined && !shared) await this.#freeLoraWeights(path);
      })
      .catch(() => {});
  }

  /**
   * node-llama-cpp 3.x keeps an adapter's weights on the model until the model is
   * disposed and has no public call to drop them; this reaches its adapter map (by
   * the resolved path, as it keys it) to free them, and does nothing if that changes.
   */
  async #freeLoraWeights(path: string): Promise<void> {
    const loras = (this.#model as unknown as { _loraAdapters?: unknown })._loraAdapters;
    if (!(loras instanceof Map)) return;
    const key = resolve(process.cwd(), path);
    const lora = loras.get(key) as { dispose?: () => Promise<void> } | undefined;
    if (typeof lora?.dispose !== "function") return;
    loras.delete(key);
    await lora.dispose();
  }

  /**
   * Grants free slots to waiters in arrival order. The first waiting for adapter room
   * (every loaded adapter busy) holds the rest back: otherwise requests for a busy
   * adapter could keep it busy, and that waiter would wait for ever.
   */
  #pump(): void {
    if (this.#state !== "ready") return;
    while (this.#queue.length > 0 && this.#active < this.#cfg.parallel) {
      const w = this.#queue[0] as Waiter;
      if (!this.#admissible(w.adapter)) return;
      this.#queue.shift();
      w.grant(this.#take(w.adapter));
    }
  }

  /** Counts one finished generation into the decode-speed average. */
  recordGeneration(tokens: number, decodeMs: number): void {
    this.#generated += tokens;
    if (tokens < 2 || decodeMs <= 0) return;
    const rate = ((tokens - 1) * 1000) / decodeMs;
    this.#tps = this.#tps === 0 ? rate : this.#tps * 0.8 + rate * 0.2;
  }

  stats(): LlamaEngineStats {
    const adapters = [...this.#loaded.entries()]
      .filter(([k]) => k !== "")
      .sort((a, b) => b[1].lastUsed - a[1].lastUsed)
      .map(([k]) => k);
    let memory = this.#model?.size ?? 0;
    for (const a of adapters) memory += this.#adapterBytes.get(a) ?? 0;
    for (const e of this.#loaded.values()) memory += e.bytes;
    return {
      state: this.#state,
      error: this.#error,
      adaptersLoaded: adapters,
      memoryBytes: memory,
      active: this.#active,
      queued: this.#queue.length,
      parallel: this.#cfg.parallel,
      maxQueue: this.#cfg.maxQueue,
      threads: this.threads,
      tokensPerSecond: this.#tps,
      generatedTokens: this.#generated,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const w of this.#queue.splice(0)) w.fail(errors.shuttingDown());
    await this.ready.catch(() => {});
    for (const e of this.#loaded.values()) await (await e.context.catch(() => undefined))?.dispose();
    this.#loaded.clear();
    await this.#model?.dispose();
  }
}

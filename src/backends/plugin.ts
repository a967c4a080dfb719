/**
 * Backends a team writes itself (a seq2seq model behind its own server, an
 * internal API): a module exporting `createBackend(context)` that returns an
 * object implementing `Backend` (types.ts). Switchyard wraps it with the same
 * timeouts, retries, breaker, concurrency limit and fallback as its own.
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isChatCompletion, isChatCompletionChunk, isEmbeddingsResponse } from "../core/openai-shape.js";
import { errors, isSwitchyardError } from "../errors.js";
import type { Backend, BackendCallContext, ChatResult } from "./types.js";

/** What a plugin's createBackend receives. */
export interface PluginContext {
  /** The backend's name in the config. */
  name: string;
  /** The config entry's `options`, as written. */
  options: Record<string, unknown>;
  connectTimeoutMs: number;
  maxConcurrency: number;
}

export type PluginFactory = (context: PluginContext) => Backend;

export class PluginError extends Error {
  override name = "PluginError";
}

/** Loads a plugin module and returns its factory, or throws a PluginError saying what is wrong. */
export async function loadPlugin(backendName: string, module: string, cwd = process.cwd()): Promise<PluginFactory> {
  const isPath = module.startsWith(".") || isAbsolute(module);
  const specifier = isPath ? pathToFileURL(resolve(cwd, module)).href : module;
  let loaded: { createBackend?: unknown; default?: { createBackend?: unknown } | unknown };
  try {
    loaded = await import(specifier);
  } catch (e) {
    throw new PluginError(`backends.${backendName}.module: cannot load '${module}': ${(e as Error).message}`);
  }
  const factory =
    loaded.createBackend ??
    (typeof loaded.default === "function"
      ? loaded.default
      : (loaded.default as { createBackend?: unknown })?.createBackend);
  if (typeof factory !== "function") {
    throw new PluginError(`backends.${backendName}.module: '${module}' exports no createBackend function`);
  }
  return (context) => {
    const backend = (factory as PluginFactory)(context);
    for (const method of ["chat", "listModels", "close"] as const) {
      if (typeof (backend as unknown as Record<string, unknown>)?.[method] !== "function") {
        throw new PluginError(`backends.${backendName}: the object '${module}' created has no ${method}() method`);
      }
    }
    return withPlainErrors(backend, backendName);
  };
}

/**
 * A plugin need not know Switchyard's errors, nor honour the abort signal: a
 * plain error it throws becomes an upstream failure (a 4xx `status` on it blames
 * the request; anything else is retryable and may fall back); every wait on it
 * ends when the signal aborts (timeouts, client gone, shutdown); and what it
 * returns is checked, so a malformed answer is a protocol error, not a crash.
 */
function withPlainErrors(backend: Backend, name: string): Backend {
  const translate = (e: unknown, ctx: BackendCallContext): unknown => {
    if (ctx.signal.aborted) return ctx.signal.reason;
    if (isSwitchyardError(e)) return e;
    const message = e instanceof Error ? e.message : String(e);
    const status = (e as { status?: unknown } | null)?.status;
    if (typeof status === "number" && status >= 400 && status < 500 && status !== 429) {
      return errors.upstreamRejected({ cause: e }, name, status, message);
    }
    return errors.upstreamStatus({ cause: e }, name, typeof status === "number" ? status : 502, message);
  };
  const malformed = (what: string) => errors.upstreamProtocol({}, name, `the plugin returned ${what}`);
  const embeddings = backend.embeddings?.bind(backend);
  const wrapped: Backend = {
    name: backend.name,
    kind: backend.kind,
    async chat(body, ctx): Promise<ChatResult> {
      let result: ChatResult;
      try {
        result = await untilAborted(backend.chat(body, ctx), ctx.signal);
      } catch (e) {
        throw translate(e, ctx);
      }
      if (result?.kind === "json") {
        if (!isChatCompletion(result.body)) throw malformed("a body that is not a chat.completion");
        return result;
      }
      const events = result?.kind === "stream" ? result.events : undefined;
      if (!events || typeof events[Symbol.asyncIterator] !== "function") {
        throw malformed('neither { kind: "json", body } nor { kind: "stream", events }');
      }
      const iterator = events[Symbol.asyncIterator]();
      return {
        kind: "stream",
        events: (async function* () {
          try {
            while (true) {
              const next = await untilAborted(iterator.next(), ctx.signal);
              if (next.done) return;
              const item = next.value;
              if (!isChatCompletionChunk(item?.chunk) || typeof item.text !== "string") {
                throw malformed("a stream item that is not { chunk, text } with a chat.completion.chunk");
              }
              yield item;
            }
          } catch (e) {
            throw translate(e, ctx);
          } finally {
            // Not awaited: a plugin that never settles must not hold the call open.
            void Promise.resolve(iterator.return?.()).catch(() => {});
          }
        })(),
      };
    },
    listModels: (signal) => backend.listModels(signal),
    close: () => backend.close(),
  };
  if (embeddings) {
    wrapped.embeddings = async (body, ctx) => {
      let result: Awaited<ReturnType<typeof embeddings>>;
      try {
        result = await untilAborted(embeddings(body, ctx), ctx.signal);
      } catch (e) {
        throw translate(e, ctx);
      }
      if (!isEmbeddingsResponse(result?.body))
        throw malformed("an embeddings result that is not { body: { data: [...] } }");
      return result;
    };
  }
  return wrapped;
}

/** `p`, or a rejection with the signal's reason as soon as it aborts. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Builds a Backend from its config entry. Adding a kind of backend is one entry
 * in `factories` and one branch in the config schema; a team's own kind needs
 * neither (type: plugin, see plugin.ts). Kinds that must load something before
 * they can be built (a plugin's module; node-llama-cpp and a model file) are
 * prepared by `loadPlugins` at start, so a missing piece stops the start.
 */
import type { BackendConfig } from "../core/config/schema.js";
import { AnthropicBackend } from "./anthropic/index.js";
import { LlamaCppBackend } from "./llama-cpp/index.js";
import { prepareLlamaCpp } from "./llama-cpp/load.js";
import { OpenAIBackend } from "./openai/index.js";
import { loadPlugin, type PluginFactory } from "./plugin.js";
import type { Backend } from "./types.js";

type BuiltIn = Exclude<BackendConfig["type"], "plugin" | "llama-cpp">;
type Factory<T extends BuiltIn> = (name: string, cfg: Extract<BackendConfig, { type: T }>) => Backend;

const factories: { [T in BuiltIn]: Factory<T> } = {
  openai: (name, cfg) =>
    new OpenAIBackend({
      backend: name,
      baseUrl: cfg.baseUrl,
      apiKey: cfg.apiKey,
      headers: cfg.headers,
      connectTimeoutMs: cfg.timeouts.connectMs,
      maxConnections: cfg.maxConcurrency,
      secrets: cfg.apiKey ? [cfg.apiKey] : [],
    }),
  anthropic: (name, cfg) =>
    new AnthropicBackend({
      backend: name,
      baseUrl: cfg.baseUrl,
      apiKey: cfg.apiKey,
      anthropicVersion: cfg.anthropicVersion,
      defaultMaxTokens: cfg.defaultMaxTokens,
      headers: cfg.headers,
      connectTimeoutMs: cfg.timeouts.connectMs,
      maxConnections: cfg.maxConcurrency,
      secrets: cfg.apiKey ? [cfg.apiKey] : [],
    }),
};

/**
 * Loads every plugin module the config names, and prepares every llama-cpp backend
 * (node-llama-cpp imported, model and adapter files checked), once, before any
 * backend is built. A llama-cpp backend's model then loads in the background.
 */
export async function loadPlugins(backends: Record<string, BackendConfig>): Promise<Map<string, PluginFactory>> {
  const loaded = new Map<string, PluginFactory>();
  for (const [name, cfg] of Object.entries(backends)) {
    if (cfg.type === "plugin") loaded.set(name, await loadPlugin(name, cfg.module));
    if (cfg.type === "llama-cpp") {
      const { mod, adapterBytes } = await prepareLlamaCpp(name, cfg);
      loaded.set(name, () => new LlamaCppBackend(mod, name, cfg, adapterBytes));
    }
  }
  return loaded;
}

export function createBackend(name: string, cfg: BackendConfig, plugins: Map<string, PluginFactory>): Backend {
  if (cfg.type === "llama-cpp") {
    const factory = plugins.get(name);
    if (!factory) throw new Error(`llama-cpp backend '${name}' was not prepared`);
    return factory({ name, options: {}, connectTimeoutMs: cfg.timeouts.connectMs, maxConcurrency: cfg.maxConcurrency });
  }
  if (cfg.type === "plugin") {
    const factory = plugins.get(name);
    if (!factory) throw new Error(`plugin for backend '${name}' was not loaded`);
    return factory({
      name,
      options: cfg.options,
      connectTimeoutMs: cfg.timeouts.connectMs,
      maxConcurrency: cfg.maxConcurrency,
    });
  }
  return (factories[cfg.type] as Factory<BuiltIn>)(name, cfg as never);
}

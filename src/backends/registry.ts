/**
 * Builds a Backend from its config entry. Adding a kind of backend is one entry
 * in `factories` and one branch in the config schema.
 */
import type { BackendConfig } from "../core/config/schema.js";
import { AnthropicBackend } from "./anthropic/index.js";
import { OpenAIBackend } from "./openai/index.js";
import type { Backend } from "./types.js";

type Factory<T extends BackendConfig["type"]> = (name: string, cfg: Extract<BackendConfig, { type: T }>) => Backend;

const factories: { [T in BackendConfig["type"]]: Factory<T> } = {
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

export function createBackend(name: string, cfg: BackendConfig): Backend {
  return (factories[cfg.type] as Factory<typeof cfg.type>)(name, cfg as never);
}

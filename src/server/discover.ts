/**
 * First run without a config: look for the usual local model servers and build
 * a config that serves each model they list as a route of the same name.
 */
import { request } from "undici";

export interface LocalServer {
  /** Backend name in the generated config. */
  name: string;
  label: string;
  baseUrl: string;
}

export const USUAL_LOCAL_SERVERS: LocalServer[] = [
  { name: "ollama", label: "Ollama", baseUrl: "http://127.0.0.1:11434/v1" },
  { name: "lmstudio", label: "LM Studio", baseUrl: "http://127.0.0.1:1234/v1" },
  { name: "llamacpp", label: "llama.cpp server", baseUrl: "http://127.0.0.1:8080/v1" },
  { name: "vllm", label: "vLLM", baseUrl: "http://127.0.0.1:8000/v1" },
];

export interface Found {
  server: LocalServer;
  models: string[];
}

async function probe(server: LocalServer, timeoutMs: number): Promise<Found | undefined> {
  try {
    const res = await request(`${server.baseUrl}/models`, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return undefined;
    }
    const body = (await res.body.json()) as { data?: Array<{ id?: unknown }> };
    const models = (body.data ?? []).flatMap((m) => (typeof m.id === "string" ? [m.id] : []));
    return { server, models };
  } catch {
    return undefined;
  }
}

export async function discoverLocalServers(servers = USUAL_LOCAL_SERVERS, timeoutMs = 800): Promise<Found[]> {
  const results = await Promise.all(servers.map((s) => probe(s, timeoutMs)));
  return results.filter((r): r is Found => r !== undefined);
}

/** A config object (to validate like a file) serving every model found, auth off on loopback. */
export function configFromDiscovery(found: Found[]): Record<string, unknown> {
  const backends: Record<string, unknown> = {};
  const routes: Record<string, unknown> = {};
  const owners = new Map<string, number>();
  for (const f of found) for (const m of f.models) owners.set(m, (owners.get(m) ?? 0) + 1);
  for (const f of found) {
    backends[f.server.name] = { type: "openai", baseUrl: f.server.baseUrl };
    for (const model of f.models) {
      const name = routeNameFor(model);
      if (!name) continue;
      // A model two servers both serve gets the server's name in front, so neither hides the other.
      const route = (owners.get(model) ?? 0) > 1 ? `${f.server.name}/${name}` : name;
      routes[route] = { variants: [{ name: f.server.name, backend: f.server.name, model }] };
    }
  }
  return { auth: { required: false }, backends, routes };
}

/**
 * A route name for a model id: ids such as vLLM's default (the model's path,
 * "/models/llama") or ones with spaces or "@" are not valid route names as they
 * are. Undefined when nothing usable is left.
 */
export function routeNameFor(modelId: string): string | undefined {
  const name = modelId.replace(/[^A-Za-z0-9._:/-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return name === "" ? undefined : name;
}

export function describeDiscovery(found: Found[], configPath: string, host: string): string {
  const lines = [`No config file at ${configPath}; looked for local model servers:`];
  for (const s of USUAL_LOCAL_SERVERS) {
    const f = found.find((x) => x.server.name === s.name);
    lines.push(
      f
        ? `  ✓ ${s.label} at ${s.baseUrl}: ${f.models.length} model(s)${f.models.length ? ` → routes ${routesOf(f).join(", ")}` : ""}`
        : `  · ${s.label} at ${s.baseUrl}: not answering`,
    );
  }
  lines.push(
    isLoopback(host)
      ? `Serving these without API keys, on ${host} only. To add cloud backends, routes, fallbacks and keys,`
      : `WARNING: serving these without API keys on ${host}, reachable from other machines. To require keys, and to add backends, routes and fallbacks,`,
    `write ${configPath} (see the README, section "Configuration"), for example:`,
    "  backends:",
    '    openai: { type: openai, baseUrl: https://api.openai.com/v1, apiKey: "${OPENAI_API_KEY}" }',
    "  routes:",
    "    chat: { variants: [{ name: gpt, backend: openai, model: gpt-4o-mini }] }",
  );
  return lines.join("\n");
}

function routesOf(f: Found): string[] {
  return f.models.flatMap((m) => {
    const name = routeNameFor(m);
    return name ? [name === m ? m : `${name} (model ${m})`] : [];
  });
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

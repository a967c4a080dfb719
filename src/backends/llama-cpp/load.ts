/**
 * What a llama-cpp backend needs before Switchyard starts: node-llama-cpp itself
 * (an optional dependency, imported only when a config names this kind) and model
 * and adapter files that exist and read as GGUF. Any problem stops the start with a
 * `LocalEngineError` that names the config key and the fix; nothing here loads weights.
 */
import { open, stat } from "node:fs/promises";
import type { LlamaCppBackendConfig } from "../../core/config/schema.js";

export type NodeLlamaCpp = typeof import("node-llama-cpp");

export class LocalEngineError extends Error {
  override name = "LocalEngineError";
}

let imported: Promise<NodeLlamaCpp> | undefined;

/** Imports node-llama-cpp once, or says how to install it. */
export function importNodeLlamaCpp(backendName: string): Promise<NodeLlamaCpp> {
  imported ??= import("node-llama-cpp");
  return imported.catch((e: unknown) => {
    imported = undefined;
    const missing = (e as { code?: string }).code === "ERR_MODULE_NOT_FOUND";
    throw new LocalEngineError(
      missing
        ? `backends.${backendName}: type llama-cpp needs the optional package node-llama-cpp, which is not installed. ` +
            "Install it with `npm install node-llama-cpp` (npm installs it with Switchyard unless optional dependencies are omitted: drop --omit=optional / --no-optional)"
        : `backends.${backendName}: node-llama-cpp failed to load: ${(e as Error).message}`,
    );
  });
}

/** Checks that `path` is a readable GGUF file whose header and metadata parse; returns its size in bytes. */
export async function checkGgufFile(
  mod: NodeLlamaCpp,
  path: string,
  key: string,
  what: "model" | "adapter",
): Promise<number> {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new Error("not a regular file");
    size = s.size;
    const fh = await open(path, "r");
    try {
      const magic = Buffer.alloc(4);
      await fh.read(magic, 0, 4, 0);
      if (magic.toString("latin1") !== "GGUF") {
        throw new Error(`not a GGUF file (it starts with ${JSON.stringify(magic.toString("latin1"))}, not "GGUF")`);
      }
    } finally {
      await fh.close();
    }
    const info = await mod.readGgufFileInfo(path, {
      sourceType: "filesystem",
      readTensorInfo: true,
      logWarnings: false,
    });
    // The reader does not notice a file cut short: every tensor must start inside it.
    const tensors = info.fullTensorInfo ?? info.tensorInfo ?? [];
    if (tensors.length === 0) throw new Error("it holds no tensors");
    const lastStart = Math.max(...tensors.map((t) => Number(t.fileOffset)));
    if (!(lastStart < size)) {
      throw new Error(
        `it is cut short (${size} bytes, but a tensor starts at byte ${lastStart}): download or copy it again`,
      );
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === "ENOENT"
        ? "no such file"
        : err.code === "EACCES"
          ? "permission denied"
          : `cannot be read as GGUF: ${err.message}`;
    const hint =
      what === "model"
        ? " (a local GGUF file: see the README's 'Local models' for Ollama's store or a downloaded file)"
        : " (a GGUF LoRA adapter made for this backend's model)";
    throw new LocalEngineError(`${key}: ${what} file '${path}': ${why}${hint}`);
  }
  return size;
}

/** Everything a backend's start checks; returns the adapters' file sizes by name. */
export async function prepareLlamaCpp(
  name: string,
  cfg: LlamaCppBackendConfig,
): Promise<{ mod: NodeLlamaCpp; adapterBytes: Map<string, number> }> {
  const mod = await importNodeLlamaCpp(name);
  await checkGgufFile(mod, cfg.modelPath, `backends.${name}.modelPath`, "model");
  const adapterBytes = new Map<string, number>();
  for (const [adapter, a] of Object.entries(cfg.adapters)) {
    adapterBytes.set(adapter, await checkGgufFile(mod, a.path, `backends.${name}.adapters.${adapter}.path`, "adapter"));
  }
  return { mod, adapterBytes };
}

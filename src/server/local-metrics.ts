/**
 * Prometheus gauges of the embedded llama-cpp engines, read at scrape time: model
 * loaded, adapters loaded, memory, sequences generating and waiting, decode speed,
 * and tokens generated.
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { LlamaEngineStats } from "../backends/llama-cpp/engine.js";

export type LocalEngineSource = () => Iterable<[string, LlamaEngineStats]>;

export function registerLocalEngineMetrics(registry: Registry, engines: LocalEngineSource): void {
  const gauge = (name: string, help: string, value: (s: LlamaEngineStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["backend"],
      registers: [registry],
      collect() {
        for (const [backend, s] of engines()) this.set({ backend }, value(s));
      },
    });
  gauge(
    "switchyard_local_model_loaded",
    "1 when the llama-cpp backend's model is loaded, 0 while loading, -1 when it failed to load",
    (s) => (s.state === "ready" ? 1 : s.state === "loading" ? 0 : -1),
  );
  gauge("switchyard_local_adapters_loaded", "LoRA adapters loaded on the model", (s) => s.adaptersLoaded.length);
  gauge("switchyard_local_memory_bytes", "Model and adapter files plus context state, in bytes", (s) => s.memoryBytes);
  gauge("switchyard_local_sequences_active", "Sequences generating now", (s) => s.active);
  gauge("switchyard_local_sequences_queued", "Requests waiting for a sequence", (s) => s.queued);
  gauge(
    "switchyard_local_tokens_per_second",
    "Decode speed, a moving average over recent generations",
    (s) => s.tokensPerSecond,
  );
  const seen = new Map<string, number>();
  new Counter({
    name: "switchyard_local_generated_tokens_total",
    help: "Tokens the llama-cpp backend generated (stopped generations included)",
    labelNames: ["backend"],
    registers: [registry],
    collect() {
      for (const [backend, s] of engines()) {
        const delta = s.generatedTokens - (seen.get(backend) ?? 0);
        seen.set(backend, s.generatedTokens);
        this.inc({ backend }, delta);
      }
    },
  });
}

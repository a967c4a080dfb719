/**
 * The embedded llama.cpp backend: chat completions generated in this process by
 * node-llama-cpp from a local GGUF model, with a LoRA adapter per variant or
 * tenant on the shared base. Generation runs on llama.cpp's native threads; the
 * event loop only hands tokens on. Usage is counted by the model's own tokenizer.
 */
import { basename } from "node:path";
import type { LlamaChat as LlamaChatClass } from "node-llama-cpp";
import type { LlamaCppBackendConfig } from "../../core/config/schema.js";
import type { ChatCompletion, ChatCompletionChunk, ChatRequest, FinishReason, Usage } from "../../core/openai-types.js";
import { errors, isSwitchyardError } from "../../errors.js";
import type { Backend, BackendCallContext, ChatResult, StreamChunk } from "../types.js";
import { type Lease, LlamaEngine, type LlamaEngineStats } from "./engine.js";
import type { NodeLlamaCpp } from "./load.js";
import { type Sampling, toHistory, toSampling } from "./request.js";
import { ChunkChannel } from "./stream.js";

export class LlamaCppBackend implements Backend {
  readonly kind = "llama-cpp";
  readonly name: string;
  readonly engine: LlamaEngine;
  readonly #mod: NodeLlamaCpp;

  constructor(mod: NodeLlamaCpp, name: string, cfg: LlamaCppBackendConfig, adapterBytes: Map<string, number>) {
    this.name = name;
    this.#mod = mod;
    this.engine = new LlamaEngine(mod, name, cfg, adapterBytes);
  }

  stats(): LlamaEngineStats {
    return this.engine.stats();
  }

  async chat(body: ChatRequest, ctx: BackendCallContext): Promise<ChatResult> {
    const history = toHistory(body.messages);
    const sampling = toSampling(body);
    const lease = await this.engine.acquire(ctx.adapter, ctx.signal);
    // A stream holds its lease until the generation ends; anything else gives it back here.
    let streaming = false;
    try {
      const prompt = this.engine.chatWrapper.generateContextState({ chatHistory: history }).contextText;
      const promptTokens = prompt.tokenize(this.engine.model.tokenizer).length;
      const room = this.engine.contextSize - promptTokens;
      if (room < 1) throw errors.localPromptTooLong(this.name, promptTokens, this.engine.contextSize);
      const id = `chatcmpl-${ctx.requestId}`;
      const created = Math.floor(Date.now() / 1000);
      const run: Run = { id, created, model: body.model, history, sampling, promptTokens, room, lease };
      if (body.stream) {
        const events = this.#stream(run, ctx, body.stream_options?.include_usage);
        streaming = true;
        return { kind: "stream", events };
      }
      const out = await this.#generate(run, ctx.signal, () => {});
      const completion: ChatCompletion = {
        id,
        object: "chat.completion",
        created,
        model: body.model,
        choices: [
          { index: 0, message: { role: "assistant", content: out.text }, finish_reason: out.finish, logprobs: null },
        ],
        usage: out.usage,
      };
      return { kind: "json", body: completion };
    } finally {
      if (!streaming) lease.release();
    }
  }

  /** Generates on the lease's sequence, calling `onText` per token's text; the lease stays held. */
  async #generate(
    run: Run,
    signal: AbortSignal,
    onText: (text: string) => void,
  ): Promise<{ text: string; finish: FinishReason; usage: Usage }> {
    const { LlamaChat } = this.#mod;
    const chat: LlamaChatClass = new LlamaChat({
      contextSequence: run.lease.sequence,
      chatWrapper: this.engine.chatWrapper,
      autoDisposeSequence: false,
    });
    const meter = run.lease.sequence.tokenMeter.getState();
    const s: Sampling = run.sampling;
    // Never past the sequence's room: LlamaChat would otherwise shift the context and drop the prompt's start.
    const maxTokens = Math.min(s.maxTokens ?? run.room, run.room);
    const t0 = performance.now();
    let tFirst: number | undefined;
    try {
      const res = await chat.generateResponse(run.history, {
        maxTokens,
        temperature: s.temperature,
        ...(s.topP === undefined ? {} : { topP: s.topP }),
        ...(s.seed === undefined ? {} : { seed: s.seed }),
        ...(s.stop.length > 0 ? { customStopTriggers: s.stop } : {}),
        repeatPenalty:
          s.frequencyPenalty || s.presencePenalty
            ? { frequencyPenalty: s.frequencyPenalty ?? 0, presencePenalty: s.presencePenalty ?? 0 }
            : false,
        signal,
        stopOnAbortSignal: false,
        onTextChunk: (t) => {
          tFirst ??= performance.now();
          onText(t);
        },
      });
      const completionTokens = run.lease.sequence.tokenMeter.diff(meter).usedOutputTokens;
      this.engine.recordGeneration(completionTokens, performance.now() - (tFirst ?? t0));
      const text = res.response;
      return {
        text,
        finish: res.metadata.stopReason === "maxTokens" ? "length" : "stop",
        usage: {
          prompt_tokens: run.promptTokens,
          completion_tokens: completionTokens,
          total_tokens: run.promptTokens + completionTokens,
        },
      };
    } catch (e) {
      // Tokens made before a stop still count towards the engine's total (not its speed).
      this.engine.recordGeneration(run.lease.sequence.tokenMeter.diff(meter).usedOutputTokens, 0);
      if (signal.aborted) throw signal.reason;
      if (isSwitchyardError(e)) throw e;
      throw errors.localGenerationFailed({ cause: e }, this.name, (e as Error).message ?? String(e));
    } finally {
      chat.dispose({ disposeSequence: false });
    }
  }

  /** Chunks as tokens come; the first (the role) waits for the first token, so a failure before it can fall back. */
  #stream(run: Run, ctx: BackendCallContext, includeUsage: boolean | undefined): AsyncIterable<StreamChunk> {
    const stop = new AbortController();
    const onAbort = () => stop.abort(ctx.signal.reason);
    ctx.signal.addEventListener("abort", onAbort, { once: true });
    const channel = new ChunkChannel(() => stop.abort(ABANDONED));
    const chunk = (delta: ChatCompletionChunk["choices"][number]["delta"], finish: FinishReason | null) =>
      wire({
        id: run.id,
        object: "chat.completion.chunk",
        created: run.created,
        model: run.model,
        choices: [{ index: 0, delta, finish_reason: finish }],
      });
    let started = false;
    const role = () => {
      if (started) return;
      started = true;
      channel.push(chunk({ role: "assistant", content: "" }, null));
    };
    this.#generate(run, stop.signal, (text) => {
      role();
      channel.push(chunk({ content: text }, null));
    })
      .then((out) => {
        role();
        channel.push(chunk({}, out.finish));
        if (includeUsage) {
          channel.push(
            wire({
              id: run.id,
              object: "chat.completion.chunk",
              created: run.created,
              model: run.model,
              choices: [],
              usage: out.usage,
            }),
          );
        }
        channel.end();
      })
      .catch((e) => channel.fail(e))
      .finally(() => {
        ctx.signal.removeEventListener("abort", onAbort);
        run.lease.release();
      });
    return channel;
  }

  async listModels(): Promise<string[]> {
    await this.engine.ready.catch(() => {});
    return [basename(this.engine.modelPath)];
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}

const ABANDONED = new Error("the stream's reader stopped");

interface Run {
  id: string;
  created: number;
  model: string;
  history: ReturnType<typeof toHistory>;
  sampling: Sampling;
  promptTokens: number;
  room: number;
  lease: Lease;
}

function wire(chunk: ChatCompletionChunk): StreamChunk {
  return { chunk, text: JSON.stringify(chunk) };
}

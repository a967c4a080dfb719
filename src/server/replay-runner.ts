/**
 * Runs a stored replay: every (item, candidate) pair without a result is sent
 * to the candidate variant (its backend, model, params and prompt; no route
 * fallbacks, so the variant itself is measured), at most `concurrency` at a
 * time; the answer is scored, the judge asked when configured, and the result
 * stored before the pair counts as done. Resuming a run sends only the pairs
 * that have no result, so nothing already scored is sent again.
 */

import { Cancel } from "../backends/cancel.js";
import { runChain } from "../backends/chain.js";
import { createBackend, loadPlugins } from "../backends/registry.js";
import { ResilientBackend } from "../backends/resilient.js";
import type { Config, VariantConfig } from "../core/config/schema.js";
import { messageText } from "../core/conversation.js";
import { costUsd } from "../core/cost.js";
import { timeOrderedId } from "../core/ids.js";
import type { ChatMessage, ChatRequest } from "../core/openai-types.js";
import { parsePromptRef } from "../core/prompts/ref.js";
import { compareReplay, type ReplayComparison } from "../core/replay/compare.js";
import type { ReplayItem } from "../core/replay/dataset.js";
import { gradeMessages, parseGrade } from "../core/replay/judge-grade.js";
import { compileSchema, SCORERS, type ScorerName, type Scores, scoreAnswer } from "../core/replay/scorers.js";
import { isSwitchyardError } from "../errors.js";
import type { Db } from "../store/db.js";
import {
  createRun,
  doneKeys,
  insertResult,
  loadItems,
  loadResults,
  loadRun,
  type ReplaySettings,
  resultKey,
  type StoredResult,
  setRunStatus,
} from "../store/replay.js";
import { applyPrompt } from "./apply-prompt.js";
import type { PromptRegistry } from "./prompt-registry.js";

export interface ReplayEnv {
  db: Db;
  config: Config;
  backends: ReadonlyMap<string, ResilientBackend>;
  prompts: PromptRegistry;
}

export interface CandidateRef {
  name: string;
  route: string;
  variant: VariantConfig;
}

/**
 * Resolves candidate names against the config: `ROUTE/VARIANT` is the variant
 * as configured; `ROUTE/VARIANT+NAME@REF` is that variant with another prompt
 * version (to evaluate a version before any label points at it). Errors name
 * what exists.
 */
export function resolveCandidates(config: Config, names: string[]): CandidateRef[] {
  return names.map((name) => {
    const plus = name.indexOf("+");
    const base = plus < 0 ? name : name.slice(0, plus);
    const prompt = plus < 0 ? undefined : name.slice(plus + 1);
    if (prompt !== undefined) {
      const ref = parsePromptRef(prompt);
      if (typeof ref === "string") throw new Error(`candidate '${name}': ${ref}`);
    }
    const slash = base.indexOf("/");
    if (slash <= 0)
      throw new Error(
        `candidate '${name}': write ROUTE/VARIANT (for example chat/${Object.values(config.routes)[0]?.variants[0]?.name ?? "a"}), optionally +NAME@VERSION for another prompt`,
      );
    const route = base.slice(0, slash);
    const variantName = base.slice(slash + 1);
    const r = Object.hasOwn(config.routes, route) ? config.routes[route] : undefined;
    if (!r)
      throw new Error(
        `candidate '${name}': no route '${route}' (routes: ${Object.keys(config.routes).join(", ") || "none"})`,
      );
    const variant = r.variants.find((v) => v.name === variantName);
    if (!variant)
      throw new Error(
        `candidate '${name}': route '${route}' has no variant '${variantName}' (its variants: ${r.variants.map((v) => v.name).join(", ")})`,
      );
    return { name, route, variant: prompt === undefined ? variant : { ...variant, prompt } };
  });
}

/** Resilient backends for every backend of the config (the CLI has no gateway to borrow them from). */
export async function openBackends(config: Config): Promise<Map<string, ResilientBackend>> {
  const plugins = await loadPlugins(config.backends);
  return new Map(
    Object.entries(config.backends).map(([name, cfg]) => [
      name,
      new ResilientBackend(createBackend(name, cfg, plugins), cfg),
    ]),
  );
}

export interface ReplayProgress {
  done: number;
  total: number;
  /** Pairs found already scored when the run (re)started. */
  skipped: number;
}

/** One upstream call, whole (no stream); never throws. */
export async function ask(
  env: ReplayEnv,
  variant: VariantConfig,
  body: ChatRequest,
  id: string,
  cancel: Cancel,
): Promise<{
  status: number;
  text: string | null;
  error: string | null;
  latencyMs: number;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | undefined;
}> {
  const backend = env.backends.get(variant.backend);
  const t0 = performance.now();
  if (!backend) return { status: 500, text: null, error: `no backend '${variant.backend}'`, latencyMs: 0 };
  try {
    const chain = await runChain(
      [{ backend, model: variant.model, params: variant.params }],
      { ...body, stream: false },
      id,
      cancel,
    );
    const started = chain.started;
    try {
      if (started.kind !== "json")
        return {
          status: 502,
          text: null,
          error: "the backend streamed an unrequested stream",
          latencyMs: performance.now() - t0,
        };
      const message = started.body.choices[0]?.message;
      return {
        status: 200,
        text: message ? messageText(message) : "",
        error: null,
        latencyMs: performance.now() - t0,
        usage: started.body.usage ?? undefined,
      };
    } finally {
      started.finish();
    }
  } catch (e) {
    const last = (e as { last?: unknown }).last ?? e;
    return {
      status: isSwitchyardError(last) ? last.status : 500,
      text: null,
      error: last instanceof Error ? last.message : String(last),
      latencyMs: performance.now() - t0,
    };
  }
}

function conversationText(item: ReplayItem): string {
  return item.messages.map((m) => `${m.role}: ${messageText(m)}`).join("\n\n");
}

/**
 * Replays run `runId` to the end (or until `signal` aborts: the pairs in
 * flight then finish or fail, and the run is left "interrupted").
 */
export async function runReplay(
  env: ReplayEnv,
  runId: string,
  opts: { concurrency: number; signal?: AbortSignal; onProgress?: (p: ReplayProgress) => void },
): Promise<ReplayProgress> {
  const run = await loadRun(env.db, runId);
  if (!run) throw new Error(`no replay run '${runId}'`);
  const candidates = resolveCandidates(env.config, run.candidates);
  const judge = run.scorers.judge ? resolveCandidates(env.config, [run.scorers.judge])[0] : undefined;
  const items = await loadItems(env.db, runId);
  const done = await doneKeys(env.db, runId);
  const pending: { idx: number; c: CandidateRef }[] = [];
  for (let idx = 0; idx < items.length; idx++)
    for (const c of candidates) if (!done.has(resultKey(idx, c.name))) pending.push({ idx, c });
  const total = items.length * candidates.length;
  const progress: ReplayProgress = { done: total - pending.length, total, skipped: total - pending.length };
  opts.onProgress?.(progress);
  const scorerOpts = {
    scorers: run.scorers.scorers as ScorerName[],
    regex: run.scorers.regex,
    schema: run.scorers.schema,
  };
  const cancel = new Cancel();
  const onAbort = () => cancel.cancel(new Error("replay interrupted"));
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  await setRunStatus(env.db, runId, "running");

  const one = async ({ idx, c }: { idx: number; c: CandidateRef }): Promise<void> => {
    const item = items[idx] as ReplayItem;
    const id = `${runId}:${idx}:${c.name}`;
    let promptVersion: string | null = null;
    let answer: Awaited<ReturnType<typeof ask>>;
    try {
      const prompted = applyPrompt(
        env.prompts,
        c.route,
        c.variant,
        { model: c.route, messages: item.messages },
        { ok: true, values: item.variables ?? {} },
      );
      promptVersion = prompted.promptVersion;
      answer = await ask(env, c.variant, prompted.body, id, cancel);
    } catch (e) {
      answer = { status: isSwitchyardError(e) ? e.status : 500, text: null, error: (e as Error).message, latencyMs: 0 };
    }
    if (cancel.cancelled) return;
    const scores: Scores = scoreAnswer(item, answer.text, scorerOpts);
    let judgeRaw: string | null = null;
    if (scorerOpts.scorers.includes("judge")) {
      if (answer.text === null || !judge) scores.judge = answer.text === null ? 0 : null;
      else {
        const verdict = await ask(
          env,
          judge.variant,
          {
            model: judge.route,
            messages: gradeMessages({
              rubric: run.scorers.rubric,
              conversation: conversationText(item),
              answer: answer.text,
              reference: item.reference,
            }) as ChatMessage[],
            temperature: 0,
          },
          `${id}:judge`,
          cancel,
        );
        if (cancel.cancelled) return;
        judgeRaw = verdict.text ?? `(judge failed: ${verdict.error})`;
        const g = verdict.text === null ? null : parseGrade(verdict.text);
        scores.judge = g === null ? null : g.pass ? 1 : 0;
      }
    }
    const backendCfg = env.config.backends[c.variant.backend];
    const input = answer.usage?.prompt_tokens ?? null;
    const output = answer.usage?.completion_tokens ?? null;
    const result: StoredResult = {
      idx,
      candidate: c.name,
      status: answer.status,
      output: answer.text,
      error: answer.error,
      latency_ms: answer.latencyMs,
      input_tokens: input,
      output_tokens: output,
      cost_usd: costUsd(backendCfg?.prices[c.variant.model], input, output),
      prompt_version: promptVersion,
      scores,
      judge_raw: judgeRaw,
      created_at: Date.now(),
    };
    await insertResult(env.db, runId, result);
    progress.done++;
    opts.onProgress?.(progress);
  };

  let next = 0;
  const worker = async () => {
    while (!cancel.cancelled && next < pending.length) await one(pending[next++] as (typeof pending)[number]);
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, pending.length)) }, worker));
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
  }
  await setRunStatus(env.db, runId, progress.done === total ? "done" : "interrupted");
  return progress;
}

/** Checks a new run's settings and stores it with its items; the run id is returned. */
export async function createReplayRun(
  env: ReplayEnv,
  run: {
    id?: string | undefined;
    tenant: string;
    source: Record<string, unknown>;
    items: ReplayItem[];
    settings: ReplaySettings;
  },
): Promise<string> {
  resolveCandidates(env.config, run.settings.candidates);
  if (run.settings.candidates.length === 0) throw new Error("name at least one candidate (ROUTE/VARIANT)");
  if (new Set(run.settings.candidates).size !== run.settings.candidates.length)
    throw new Error("a candidate is named twice");
  for (const s of run.settings.scorers.scorers) {
    if (!(SCORERS as readonly string[]).includes(s))
      throw new Error(`unknown scorer '${s}' (scorers: ${SCORERS.join(", ")})`);
  }
  const wantsJudge = run.settings.scorers.scorers.includes("judge");
  if (wantsJudge && !run.settings.scorers.judge)
    throw new Error("the judge scorer needs a judge model: --judge ROUTE/VARIANT");
  if (run.settings.scorers.judge) resolveCandidates(env.config, [run.settings.scorers.judge]);
  if (run.settings.scorers.rubricPrompt !== undefined) {
    // A rubric kept in the registry: rendered once here, so a resumed run grades with the same text.
    const ref = run.settings.scorers.rubricPrompt;
    const r = env.prompts.resolve(ref);
    if (typeof r === "string") throw new Error(`--rubric-prompt ${ref}: ${r}`);
    if (r.prompt.required.length > 0)
      throw new Error(
        `--rubric-prompt ${ref}: a rubric takes no variables, and this one needs ${r.prompt.required.join(", ")}`,
      );
    run.settings.scorers.rubric = r.prompt
      .render({})
      .map((m) => m.content)
      .join("\n\n");
    run.settings.scorers.rubricPrompt = `${r.name}@${r.version}`;
  }
  if (run.settings.scorers.regex !== undefined) new RegExp(run.settings.scorers.regex);
  if (run.settings.scorers.schema !== undefined) {
    const c = compileSchema(run.settings.scorers.schema);
    if (typeof c === "string") throw new Error(`--schema: ${c}`);
  }
  const id = run.id ?? timeOrderedId("rpl_");
  await createRun(env.db, { id, tenant: run.tenant, source: run.source, settings: run.settings, items: run.items });
  return id;
}

/** The run's comparison report from its stored results. */
export async function replayComparison(db: Db, runId: string, alpha = 0.05): Promise<ReplayComparison> {
  const run = await loadRun(db, runId);
  if (!run) throw new Error(`no replay run '${runId}'`);
  return compareReplay({
    run: run.id,
    items: run.itemCount,
    candidates: run.candidates,
    scorers: run.scorers.scorers,
    results: await loadResults(db, runId),
    alpha,
  });
}

/**
 * `switchyard replay`: offline evaluation. A dataset (a JSONL file, or the
 * log chosen with the export filters) is sent through candidate variants with
 * bounded concurrency and scored; every result is stored as it comes, so an
 * interrupted run resumes (`--resume RUN`) without sending what was done.
 * `replay report RUN` renders the comparison between the candidates.
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { SingleBar } from "cli-progress";
import { type Command, Option } from "commander";
import { pino } from "pino";
import type { Config } from "../core/config/schema.js";
import { ExportOptionError, parseExportOptions } from "../core/dataset-options.js";
import { type ReplayComparison, replayHtml, replayMarkdown } from "../core/replay/compare.js";
import { parseReplayJsonl, type ReplayItem } from "../core/replay/dataset.js";
import { DETERMINISTIC_SCORERS } from "../core/replay/scorers.js";
import { PromptRegistry } from "../server/prompt-registry.js";
import { createReplayRun, openBackends, replayComparison, runReplay } from "../server/replay-runner.js";
import { type Db, migrateToLatest, openDatabase } from "../store/db.js";
import { itemsFromLog, listRuns, loadRun } from "../store/replay.js";
import { tenantOf } from "./config-file.js";

const collect = (v: string, prev: string[] = []) => [
  ...prev,
  ...v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
];

function render(r: ReplayComparison, format: "md" | "json" | "html"): string {
  return format === "json" ? `${JSON.stringify(r, null, 2)}\n` : format === "html" ? replayHtml(r) : replayMarkdown(r);
}

function alphaOf(v: string): number {
  const a = Number(v);
  if (!(a > 0 && a < 0.5)) throw new Error(`expected a significance level between 0 and 0.5, e.g. 0.05, got '${v}'`);
  return a;
}

interface RunFlags {
  dataset?: string;
  fromLog?: boolean;
  route?: string[];
  variant?: string[];
  model?: string[];
  prompt?: string[];
  feedback?: string[];
  from?: string;
  to?: string;
  limit: string;
  candidate?: string[];
  scorers?: string[];
  regex?: string;
  schema?: string;
  judge?: string;
  rubric?: string;
  rubricPrompt?: string;
  concurrency: string;
  run?: string;
  resume?: string;
  tenant?: string;
  format: "md" | "json" | "html";
  out?: string;
  alpha: number;
  progress: boolean;
}

async function withDb<T>(cfg: Config, work: (db: Db) => Promise<T>): Promise<T> {
  const db = openDatabase(cfg.database.url);
  try {
    await migrateToLatest(db);
    return await work(db);
  } finally {
    await db.destroy();
  }
}

export function addReplayCommand(program: Command, storeConfig: () => Config, requireConfig: () => Config): void {
  const replay = program
    .command("replay")
    .description(
      "offline evaluation: replay a dataset through candidate variants, score the answers, compare the candidates",
    );

  replay
    .command("run", { isDefault: true })
    .description("replay a JSONL file (--dataset) or the log (--from-log, with the export filters) through candidates")
    .option(
      "-d, --dataset <file>",
      "JSONL items: {messages, reference?, schema?, contains?, regex?, variables?} (SFT rows work too)",
    )
    .option("--from-log", "items from stored answers (reference: the correction if given, else the answer served)")
    .option("--route <name>", "from-log: only this route (repeatable)", collect)
    .option("--variant <name>", "from-log: only this variant (repeatable)", collect)
    .option("--model <name>", "from-log: only this upstream model (repeatable)", collect)
    .option("--prompt <ref>", "from-log: only this prompt version or prompt (repeatable)", collect)
    .option("--feedback <filter>", "from-log: thumbs:up, correction, ... (repeatable)", collect)
    .option("--from <date>", "from-log: answers from this time on")
    .option("--to <date>", "from-log: answers before this time")
    .option("--limit <n>", "from-log: at most this many items", "1000")
    .option(
      "--candidate <route/variant>",
      "a variant to evaluate (ROUTE/VARIANT, or ROUTE/VARIANT+NAME@VERSION for another prompt); the first is the baseline (repeatable or comma-separated)",
      collect,
    )
    .option(
      "--scorers <list>",
      `scorers, comma-separated (default ${DETERMINISTIC_SCORERS.join(",")}; add judge with --judge)`,
      collect,
    )
    .option("--regex <pattern>", "the regex scorer's pattern for items without their own")
    .option("--schema <file>", "a JSON Schema file for items without their own")
    .option("--judge <route/variant>", "the judge model that grades each answer pass/fail (adds the judge scorer)")
    .option("--rubric <text|@file>", "the judge's rubric (default: a strict correctness rubric)")
    .option(
      "--rubric-prompt <NAME@REF>",
      "the judge's rubric from the prompt registry (a versioned rubric; rendered once per run)",
    )
    .option("-j, --concurrency <n>", "calls in flight at most", "8")
    .option("--run <id>", "name the run (default rpl_<time><random>)")
    .option("--resume <id>", "finish an interrupted run: only items not yet scored are sent")
    .option("-t, --tenant <tenant>", "whose log (from-log) and whose run")
    .addOption(
      new Option("-f, --format <format>", "the report printed at the end")
        .choices(["md", "json", "html"])
        .default("md"),
    )
    .option("-o, --out <file>", "write the report to a file")
    .option("--alpha <level>", "significance level of the intervals", alphaOf, 0.05)
    .option("--no-progress", "no progress bar (shown only on a terminal anyway)")
    .addHelpText(
      "after",
      `
Examples:
  switchyard replay --dataset evals/support.jsonl --candidate support/v1,support/v2 --concurrency 16
  switchyard replay --from-log --route support --feedback thumbs:up --limit 300 --candidate support/v1 --candidate support/v2
  switchyard replay --dataset evals/json.jsonl --candidate chat/a --scorers json,schema --schema evals/answer.schema.json
  switchyard replay --dataset evals/qa.jsonl --candidate chat/a,chat/b --judge chat/judge --rubric @rubric.txt
  switchyard replay --resume rpl_0190c3a1b2c4...        # after Ctrl-C or a crash`,
    )
    .action(async (flags: RunFlags) => {
      const cfg = requireConfig();
      await withDb(cfg, async (db) => {
        const tenant = tenantOf(cfg, flags.tenant);
        const prompts = new PromptRegistry(db, pino({ level: "silent" }));
        await prompts.start({ poll: false });
        const backends = await openBackends(cfg);
        const env = { db, config: cfg, backends, prompts };
        let runId: string;
        if (flags.resume) {
          const run = await loadRun(db, flags.resume);
          if (!run) throw new Error(`no replay run '${flags.resume}' (see switchyard replay list)`);
          runId = run.id;
        } else {
          let items: ReplayItem[];
          let source: Record<string, unknown>;
          if (flags.dataset && flags.fromLog) throw new Error("give --dataset or --from-log, not both");
          if (flags.dataset) {
            const parsed = parseReplayJsonl(readFileSync(flags.dataset, "utf8"));
            if (!parsed.ok)
              throw new Error(
                `${flags.dataset}:\n${parsed.problems
                  .slice(0, 20)
                  .map((p) => `  - ${p}`)
                  .join("\n")}`,
              );
            items = parsed.items;
            source = { file: flags.dataset };
          } else if (flags.fromLog) {
            let filter: ReturnType<typeof parseExportOptions>["filter"];
            try {
              filter = parseExportOptions("sft", {
                route: flags.route,
                variant: flags.variant,
                model: flags.model,
                prompt: flags.prompt,
                feedback: flags.feedback,
                from: flags.from,
                to: flags.to,
              }).filter;
            } catch (e) {
              if (e instanceof ExportOptionError) throw new Error(`--${e.option}: ${e.message}`);
              throw e;
            }
            const limit = Number(flags.limit);
            if (!Number.isInteger(limit) || limit < 1)
              throw new Error(`--limit: expected a positive whole number, got '${flags.limit}'`);
            items = await itemsFromLog(db, tenant, filter, limit);
            if (items.length === 0) throw new Error("no logged answers pass those filters");
            source = { log: filter, limit };
          } else throw new Error("give a dataset: --dataset FILE.jsonl or --from-log");
          const scorers = flags.scorers ?? [...DETERMINISTIC_SCORERS, ...(flags.judge ? ["judge"] : [])];
          const rubric = flags.rubric?.startsWith("@") ? readFileSync(flags.rubric.slice(1), "utf8") : flags.rubric;
          runId = await createReplayRun(env, {
            id: flags.run,
            tenant,
            source,
            items,
            settings: {
              candidates: flags.candidate ?? [],
              scorers: {
                scorers,
                regex: flags.regex,
                schema: flags.schema
                  ? (JSON.parse(readFileSync(flags.schema, "utf8")) as Record<string, unknown>)
                  : undefined,
                judge: flags.judge,
                rubric,
                rubricPrompt: flags.rubricPrompt,
              },
            },
          });
          console.error(`replay run ${runId}: ${items.length} items`);
        }
        const concurrency = Number(flags.concurrency);
        if (!Number.isInteger(concurrency) || concurrency < 1)
          throw new Error(`--concurrency: expected a positive whole number, got '${flags.concurrency}'`);
        const abort = new AbortController();
        const stop = () => abort.abort();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        let bar: SingleBar | undefined;
        // Loaded only when a bar will be drawn (the serve process never needs it).
        const progress = flags.progress && process.stderr.isTTY ? await import("cli-progress") : undefined;
        try {
          const result = await runReplay(env, runId, {
            concurrency,
            signal: abort.signal,
            onProgress: (p) => {
              if (!progress) return;
              if (!bar) {
                bar = new progress.SingleBar({
                  stream: process.stderr,
                  format: "{bar} {percentage}% | {value}/{total} answers scored | {eta_formatted} left",
                });
                bar.start(p.total, p.done);
              } else bar.update(p.done);
            },
          });
          bar?.stop();
          if (result.done < result.total) {
            console.error(
              `interrupted: ${result.done}/${result.total} scored; finish with: switchyard replay --resume ${runId}`,
            );
            process.exitCode = 130;
            return;
          }
          console.error(`replay run ${runId}: ${result.total} answers scored (${result.skipped} already were)`);
          const text = render(await replayComparison(db, runId, flags.alpha), flags.format);
          if (flags.out) writeFileSync(flags.out, text);
          else process.stdout.write(text);
        } finally {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          await Promise.allSettled([...backends.values()].map((b) => b.close()));
        }
      });
    });

  replay
    .command("report <run>")
    .description(
      "the comparison report of a replay run: per candidate scores with intervals, paired tests against the baseline",
    )
    .addOption(new Option("-f, --format <format>", "md, json or html").choices(["md", "json", "html"]).default("md"))
    .option("-o, --out <file>", "write to a file")
    .option("--alpha <level>", "significance level of the intervals", alphaOf, 0.05)
    .action((run: string, opts: { format: "md" | "json" | "html"; out?: string; alpha: number }) =>
      withDb(storeConfig(), async (db) => {
        if (!(await loadRun(db, run))) throw new Error(`no replay run '${run}' (see switchyard replay list)`);
        const text = render(await replayComparison(db, run, opts.alpha), opts.format);
        if (opts.out) writeFileSync(opts.out, text);
        else process.stdout.write(text);
      }),
    );

  replay
    .command("list")
    .description("replay runs, newest first")
    .option("-t, --tenant <tenant>", "whose runs")
    .action((opts: { tenant?: string }) => {
      const cfg = storeConfig();
      return withDb(cfg, async (db) => {
        const runs = await listRuns(db, tenantOf(cfg, opts.tenant));
        if (runs.length === 0) console.log("no replay runs");
        for (const r of runs) {
          console.log(
            `${r.id}  ${r.status}  ${r.itemCount} items  ${r.candidates.join(", ")}  ${new Date(r.createdAt).toISOString()}`,
          );
        }
      });
    });
}

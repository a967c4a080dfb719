/** `switchyard export sft|dpo`: fine-tuning files from stored conversations and their feedback. */
import { once } from "node:events";
import { createWriteStream, mkdirSync, renameSync, rmSync, type WriteStream, writeFileSync } from "node:fs";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import type { SingleBar } from "cli-progress";
import { type Command, Option } from "commander";
import type { Config } from "../core/config/schema.js";
import { SPLITS, type Split } from "../core/dataset.js";
import { ExportOptionError, parseExportOptions, type RawExportOptions } from "../core/dataset-options.js";
import { countTurns, exportDpo, exportSft } from "../store/dataset-export.js";
import { migrateToLatest, openDatabase } from "../store/db.js";
import { tenantOf } from "./config-file.js";

interface ExportFlags extends RawExportOptions {
  out: string;
  tenant?: string;
  dedupe: boolean;
  corrections: boolean;
  redact?: boolean;
  progress: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function addExportCommand(program: Command, storeConfig: () => Config): void {
  program
    .command("export")
    .description("write a fine-tuning dataset (train / validation / test JSONL and a summary) from stored traffic")
    .addArgument(program.createArgument("<kind>", "sft or dpo").choices(["sft", "dpo"]))
    .requiredOption("-o, --out <dir>", "directory for train.jsonl, validation.jsonl, test.jsonl and summary.json")
    .option("-t, --tenant <tenant>", "whose traffic (needed when several tenants are declared)")
    .option("--from <date>", "only answers from this time on (2026-11-01, a date-time, or ms)")
    .option("--to <date>", "only answers before this time")
    .option("--route <name>", "only this route (repeatable)", collect)
    .option("--variant <name>", "only this variant (repeatable)", collect)
    .option("--model <name>", "only answers of this upstream model (repeatable)", collect)
    .option(
      "--prompt <ref>",
      "only answers sent with this prompt version (NAME@VERSION) or any version of NAME (repeatable)",
      collect,
    )
    .option(
      "--adapter <name>",
      "only answers of this LoRA adapter of a local model; none for the base (repeatable)",
      collect,
    )
    .option(
      "--feedback <filter>",
      "sft: only answers with this feedback: thumbs:up, thumbs:down, thumbs, stars, tags, comment, correction, preference (repeatable: all must hold)",
      collect,
    )
    .option("--min-stars <n>", "sft: only answers whose mean rating is at least n")
    .option("--tag <tag>", "sft: only answers tagged with one of these (repeatable)", collect)
    .option("--language <code>", "only conversations in this language, ISO 639-3 (eng, fra, deu…; repeatable)", collect)
    .option("--system <text>", "put this system message first in every example (replacing one already there)")
    .option("--split <ratios>", "train/validation/test shares", "80/10/10")
    .option("--seed <text>", "changes which conversations land in which split", "switchyard")
    .option("--no-dedupe", "keep identical rows")
    .option("--no-corrections", "sft: keep the original answer even where a user corrected it")
    .option("--sources <list>", "dpo: pair sources, comma-separated (default preference,correction,votes)", collect)
    .addOption(
      new Option("--prompt-format <format>", "dpo: prompt as messages (TRL conversational) or strings").choices([
        "messages",
        "strings",
      ]),
    )
    .option("--redact", "replace e-mail addresses and phone numbers with [EMAIL] and [PHONE]")
    .option("--no-progress", "no progress bar (it is shown only on a terminal anyway)")
    .addHelpText(
      "after",
      `
Examples:
  switchyard export sft --out data/sft --feedback thumbs:up --split 90/5/5
  switchyard export sft --out data/support --route support --min-stars 4 --system "You are Acme's support agent." --redact
  switchyard export dpo --out data/dpo --sources correction,preference

SFT rows are {"messages": [...]} (OpenAI fine-tuning and TRL format), one per answered request: the
conversation up to the answer. DPO rows are {"prompt": [...], "chosen": [...], "rejected": [...]} (TRL's
conversational explicit-prompt form) with the source and request ids. Splits are by conversation.`,
    )
    .action(async (kind: "sft" | "dpo", flags: ExportFlags) => {
      const cfg = storeConfig();
      const tenant = tenantOf(cfg, flags.tenant);
      let parsed: ReturnType<typeof parseExportOptions>;
      try {
        parsed = parseExportOptions(kind, flags);
      } catch (e) {
        if (e instanceof ExportOptionError) throw new Error(`--${e.option}: ${e.message}`);
        throw e;
      }
      const db = openDatabase(cfg.database.url);
      mkdirSync(flags.out, { recursive: true });
      // Written beside the final names and renamed at the end: a failed export leaves no half file.
      const files = Object.fromEntries(
        SPLITS.map((s) => [s, createWriteStream(join(flags.out, `${s}.jsonl.partial`))]),
      ) as Record<Split, WriteStream>;
      // A file that cannot be opened or written (no permission, a full disk) fails the export.
      let fileError: Error | undefined;
      for (const f of Object.values(files)) {
        f.on("error", (e) => {
          fileError ??= e;
        });
      }
      let bar: SingleBar | undefined;
      try {
        await migrateToLatest(db);
        if (flags.progress && process.stderr.isTTY) {
          const { SingleBar } = await import("cli-progress");
          bar = new SingleBar({
            stream: process.stderr,
            format: "{bar} {percentage}% | {value}/{total} answers read | {eta_formatted} left",
          });
          bar.start(await countTurns(db, tenant), 0);
        }
        const options = {
          tenant,
          ...parsed,
          dedupe: flags.dedupe,
          useCorrections: flags.corrections,
          redact: flags.redact === true,
          onProgress: (n: number) => bar?.update(n),
        };
        const sink = async (split: Split, row: object) => {
          if (fileError) throw fileError;
          const file = files[split];
          // `once` rejects when the stream errors while we wait for it to drain.
          if (!file.write(`${JSON.stringify(row)}\n`)) await once(file, "drain");
        };
        const summary = kind === "sft" ? await exportSft(db, options, sink) : await exportDpo(db, options, sink);
        bar?.stop();
        for (const f of Object.values(files)) f.end();
        await Promise.all(Object.values(files).map((f) => finished(f)));
        if (fileError) throw fileError;
        const withOptions = {
          ...summary,
          created_at: new Date().toISOString(),
          tenant,
          options: { ...flags, progress: undefined, out: undefined, tenant: undefined },
        };
        writeFileSync(join(flags.out, "summary.json.partial"), `${JSON.stringify(withOptions, null, 2)}\n`);
        for (const s of SPLITS) renameSync(join(flags.out, `${s}.jsonl.partial`), join(flags.out, `${s}.jsonl`));
        renameSync(join(flags.out, "summary.json.partial"), join(flags.out, "summary.json"));
        const { train, validation, test } = summary.splits;
        console.error(
          `wrote ${summary.rows} ${kind} rows to ${flags.out} (train ${train}, validation ${validation}, test ${test}; ` +
            `${summary.duplicates_dropped} duplicates dropped); see summary.json`,
        );
      } catch (e) {
        bar?.stop();
        for (const s of SPLITS) files[s].destroy();
        // Best effort, file by file: a cleanup that fails must neither stop the others nor hide `e`.
        for (const name of [...SPLITS.map((s) => `${s}.jsonl.partial`), "summary.json.partial"]) {
          try {
            rmSync(join(flags.out, name), { force: true });
          } catch {}
        }
        throw e;
      } finally {
        await db.destroy();
      }
    });
}

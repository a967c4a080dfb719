/** `switchyard report <experiment>`: an experiment's report from the store, as Markdown, HTML or JSON. */
import { writeFile } from "node:fs/promises";
import { type Command, Option } from "commander";
import type { Config } from "../core/config/schema.js";
import { reportHtml, reportMarkdown } from "../core/report-render.js";
import { migrateToLatest, openDatabase } from "../store/db.js";
import { experimentReport } from "../store/experiment-report.js";
import { loadExperiment } from "../store/experiments.js";
import { tenantOf } from "./config-file.js";

function time(v: string): number {
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t))
    throw new Error(`expected a date (2026-11-01 or 2026-11-01T12:00Z) or ms since the epoch, got '${v}'`);
  return t;
}

function alphaOf(v: string): number {
  const a = Number(v);
  if (!(a > 0 && a < 0.5)) throw new Error(`expected a significance level between 0 and 0.5, e.g. 0.05, got '${v}'`);
  return a;
}

export function addReportCommand(program: Command, storeConfig: () => Config): void {
  program
    .command("report <experiment>")
    .description(
      "an experiment's report: per variant success, latency, tokens, cost and feedback with intervals, the sample-ratio check, the preference leaderboard, shadow comparisons and the GO / NO-GO verdict",
    )
    .addOption(new Option("-f, --format <format>", "md, html or json").choices(["md", "html", "json"]).default("md"))
    .option("-o, --out <file>", "write to a file instead of standard output")
    .option("-t, --tenant <tenant>", "the tenant whose traffic to report (needed when several are declared)")
    .option("--from <when>", "start of the window (default: the experiment's creation)", time)
    .option("--to <when>", "end of the window (default: now)", time)
    .option("--alpha <level>", "significance level of every interval", alphaOf, 0.05)
    .addHelpText(
      "after",
      `
Examples:
  switchyard report llama-vs-claude
  switchyard report llama-vs-claude --format html --out report.html
  switchyard report llama-vs-claude --format json --from 2026-11-01 --alpha 0.01`,
    )
    .action(
      async (
        name: string,
        opts: {
          format: "md" | "html" | "json";
          out?: string;
          tenant?: string;
          from?: number;
          to?: number;
          alpha: number;
        },
      ) => {
        const cfg = storeConfig();
        const db = openDatabase(cfg.database.url);
        try {
          await migrateToLatest(db);
          const e = await loadExperiment(db, name);
          if (!e) {
            throw new Error(
              `no experiment '${name}' in the store (one declared in the config file appears there once \`switchyard serve\` has started with it)`,
            );
          }
          const report = await experimentReport(db, e, tenantOf(cfg, opts.tenant), {
            ...(opts.from !== undefined ? { from: opts.from } : {}),
            ...(opts.to !== undefined ? { to: opts.to } : {}),
            alpha: opts.alpha,
          });
          const text =
            opts.format === "json"
              ? `${JSON.stringify(report, null, 2)}\n`
              : opts.format === "html"
                ? reportHtml(report)
                : reportMarkdown(report);
          if (opts.out) await writeFile(opts.out, text);
          else process.stdout.write(text);
        } finally {
          await db.destroy();
        }
      },
    );
}

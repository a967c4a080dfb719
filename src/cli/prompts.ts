/**
 * `switchyard prompts list|show|create|label|diff|history|import|export`: the
 * prompt registry in the store. Running servers pick up a change within
 * PROMPT_REFRESH_MS (they poll), with no restart.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import type { Config } from "../core/config/schema.js";
import { unifiedDiff } from "../core/prompts/diff.js";
import { contentText, parsePromptFile, promptFileText } from "../core/prompts/file.js";
import { LATEST, PROMPT_NAME, PROMPT_NAME_RULE, parsePromptRef } from "../core/prompts/ref.js";
import { checkPromptContent, type PromptContent } from "../core/prompts/template.js";
import { type Db, migrateToLatest, openDatabase } from "../store/db.js";
import { promptExecutionHistory } from "../store/prompt-history.js";
import { importPromptFiles, PromptImportError } from "../store/prompt-import.js";
import {
  createVersion,
  labelHistory,
  loadPrompt,
  loadPrompts,
  moveLabel,
  type StoredPrompt,
} from "../store/prompts.js";
import { tenantOf } from "./config-file.js";

function defaultAuthor(): string {
  try {
    return process.env.SWITCHYARD_AUTHOR ?? userInfo().username;
  } catch {
    return "cli";
  }
}

async function withStore<T>(storeConfig: () => Config, work: (db: Db, cfg: Config) => Promise<T>): Promise<T> {
  const cfg = storeConfig();
  const db = openDatabase(cfg.database.url);
  try {
    await migrateToLatest(db);
    return await work(db, cfg);
  } finally {
    await db.destroy();
  }
}

async function mustLoad(db: Db, name: string): Promise<StoredPrompt> {
  const p = await loadPrompt(db, name);
  if (!p) throw new Error(`no prompt '${name}' (see switchyard prompts list)`);
  return p;
}

/** A version of `p` by ref: a number, a label or latest. */
function versionNumber(p: StoredPrompt, ref: string): number {
  const newest = p.versions[p.versions.length - 1]?.version ?? 0;
  if (/^\d+$/.test(ref)) {
    const n = Number(ref);
    if (n < 1 || n > newest) throw new Error(`prompt '${p.name}' has no version ${n} (its versions: 1 to ${newest})`);
    return n;
  }
  if (ref === LATEST) return newest;
  const n = p.labels.get(ref);
  if (n === undefined)
    throw new Error(
      `prompt '${p.name}' has no label '${ref}' (its labels: ${[LATEST, ...p.labels.keys()].join(", ")})`,
    );
  return n;
}

function contentOf(p: StoredPrompt, version: number): PromptContent {
  return (p.versions.find((v) => v.version === version) as { content: PromptContent }).content;
}

function checked(name: string, raw: unknown, source: string): PromptContent {
  const c = checkPromptContent(raw);
  if (c.ok) return c.prompt.content;
  throw new Error(
    `${source}: prompt '${name}' is not valid:\n${c.problems.map((x) => `  - ${x.path}: ${x.message}`).join("\n")}`,
  );
}

/** Every .yaml / .yml file among the paths (directories are read one level deep). */
function promptFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) if (/\.ya?ml$/i.test(f)) out.push(join(p, f));
    } else out.push(p);
  }
  return out;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function addPromptCommands(program: Command, storeConfig: () => Config): void {
  const prompts = program
    .command("prompts")
    .description("the prompt registry: immutable versions, movable labels, diffs, YAML import/export")
    .addHelpText(
      "after",
      `
Examples:
  switchyard prompts create support --system "You answer questions about {{product}}." --var product=Switchyard -m "first"
  switchyard prompts label support production 1
  switchyard prompts diff support 1 2
  switchyard prompts export --out prompts/        # one YAML file per prompt, for git
  switchyard prompts import prompts/              # new versions for changed files, labels moved as the files say`,
    );

  prompts
    .command("list")
    .description("every prompt with its newest version and labels")
    .action(() =>
      withStore(storeConfig, async (db) => {
        const all = await loadPrompts(db);
        if (all.length === 0) console.log("no prompts");
        for (const p of all) {
          const newest = p.versions[p.versions.length - 1];
          const labels = [...p.labels].map(([l, v]) => `${l}=${v}`).join(" ");
          console.log(
            `${p.name}  v${newest?.version ?? 0}  ${labels || "(no labels)"}${newest?.content.description ? `  ${newest.content.description}` : ""}`,
          );
        }
      }),
    );

  prompts
    .command("show <ref>")
    .description("a prompt's versions and labels (NAME), or one version's content (NAME@VERSION or NAME@LABEL)")
    .option("--history", "also list every label move")
    .action((ref: string, opts: { history?: boolean }) =>
      withStore(storeConfig, async (db) => {
        const at = ref.includes("@");
        const name = at ? ref.slice(0, ref.lastIndexOf("@")) : ref;
        const p = await mustLoad(db, name);
        if (at) {
          const n = versionNumber(p, ref.slice(ref.lastIndexOf("@") + 1));
          const labels = [...p.labels].filter(([, v]) => v === n).map(([l]) => l);
          process.stdout.write(promptFileText({ name, version: n, labels, content: contentOf(p, n) }));
          return;
        }
        console.log(
          `${p.name}: ${p.versions.length} version(s); labels: ${[...p.labels].map(([l, v]) => `${l}=${v}`).join(", ") || "none"}`,
        );
        for (const v of p.versions) {
          console.log(`  v${v.version}  ${new Date(v.createdAt).toISOString()}  ${v.author}  ${v.message}`);
        }
        if (opts.history) {
          console.log("label moves (newest first):");
          for (const e of await labelHistory(db, name)) {
            console.log(
              `  ${new Date(e.at).toISOString()}  ${e.label}: ${e.previousVersion ?? "-"} -> ${e.version}  ${e.actor}  ${e.message}`,
            );
          }
        }
      }),
    );

  prompts
    .command("create <name>")
    .description("store a new version of a prompt (creating the prompt on its first)")
    .option("-f, --file <file>", "a prompt YAML file (variables, template; see prompts export)")
    .option("--system <text>", "the template's system message")
    .option("--user <text>", "a user message of the template (repeatable)", collect, [])
    .option("--var <name[=default]>", "declare a variable, with an optional default (repeatable)", collect, [])
    .option("--description <text>", "what the prompt is for")
    .option("-m, --message <text>", "why this version", "")
    .option("--author <name>", "who wrote it (default: $SWITCHYARD_AUTHOR or your user name)")
    .action(
      (
        name: string,
        opts: {
          file?: string;
          system?: string;
          user: string[];
          var: string[];
          description?: string;
          message: string;
          author?: string;
        },
      ) =>
        withStore(storeConfig, async (db) => {
          if (!PROMPT_NAME.test(name)) throw new Error(PROMPT_NAME_RULE);
          let raw: Record<string, unknown>;
          if (opts.file) {
            const parsed = parsePromptFile(readFileSync(opts.file, "utf8"), { name });
            if (!parsed.ok) throw new Error(`${opts.file}:\n${parsed.problems.map((x) => `  - ${x}`).join("\n")}`);
            const { name: _n, labels: _l, message: _m, version: _v, ...content } = parsed.file;
            raw = content;
          } else {
            const variables = Object.fromEntries(
              opts.var.map((v) => {
                const eq = v.indexOf("=");
                return eq < 0 ? [v, {}] : [v.slice(0, eq), { default: v.slice(eq + 1) }];
              }),
            );
            raw = {
              ...(opts.description !== undefined ? { description: opts.description } : {}),
              variables,
              template: {
                ...(opts.system !== undefined ? { system: opts.system } : {}),
                ...(opts.user.length > 0 ? { messages: opts.user.map((content) => ({ role: "user", content })) } : {}),
              },
            };
          }
          const content = checked(name, raw, opts.file ?? "command line");
          const { version, created } = await createVersion(db, name, content, {
            author: opts.author ?? defaultAuthor(),
            message: opts.message,
            skipIfUnchanged: true,
          });
          console.log(
            created
              ? `created ${name}@${version.version}`
              : `unchanged: ${name}@${version.version} already has this content (no new version)`,
          );
        }),
    );

  prompts
    .command("label <name> <label> <version>")
    .description("point a label at a version (moving it back is the rollback; every move is kept)")
    .option("-m, --message <text>", "why", "")
    .option("--author <name>", "who moves it")
    .action((name: string, label: string, version: string, opts: { message: string; author?: string }) =>
      withStore(storeConfig, async (db) => {
        const ref = parsePromptRef(`${name}@${label}`);
        if (typeof ref === "string") throw new Error(ref);
        if (ref.version !== undefined) throw new Error(`'${label}' is a number; a label starts with a letter`);
        if (label === LATEST) throw new Error(`'${LATEST}' always points at the newest version and cannot be moved`);
        const p = await mustLoad(db, name);
        const n = versionNumber(p, version);
        const r = await moveLabel(db, name, label, n, { actor: opts.author ?? defaultAuthor(), message: opts.message });
        console.log(
          r.moved
            ? `${name}@${label}: ${r.previousVersion ?? "(new)"} -> ${n}; running servers follow within a second`
            : `${name}@${label} already points at ${n}`,
        );
      }),
    );

  prompts
    .command("diff <name> <from> [to]")
    .description("a unified diff between two versions (numbers or labels; to defaults to latest)")
    .action((name: string, from: string, to: string | undefined) =>
      withStore(storeConfig, async (db) => {
        const p = await mustLoad(db, name);
        const a = versionNumber(p, from);
        const b = versionNumber(p, to ?? LATEST);
        const d = unifiedDiff(contentText(contentOf(p, a)), contentText(contentOf(p, b)), {
          from: `${name}@${a}`,
          to: `${name}@${b}`,
        });
        process.stdout.write(d || `${name}@${a} and ${name}@${b} are the same\n`);
      }),
    );

  prompts
    .command("history <name>")
    .description("execution history per version, from the request log and feedback")
    .option("-t, --tenant <tenant>", "the tenant whose traffic to count (needed when several are declared)")
    .option("--json", "as JSON")
    .action((name: string, opts: { tenant?: string; json?: boolean }) =>
      withStore(storeConfig, async (db, cfg) => {
        await mustLoad(db, name);
        const rows = await promptExecutionHistory(db, name, tenantOf(cfg, opts.tenant));
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        if (rows.length === 0) console.log(`no logged calls used ${name}`);
        const pct = (x: number | null) => (x === null ? "-" : `${(x * 100).toFixed(1)}%`);
        for (const r of rows) {
          console.log(
            `${r.prompt_version}  calls=${r.calls}  success=${pct(r.success_rate)}  latency=${r.mean_latency_ms?.toFixed(0) ?? "-"}ms  cost=$${r.cost_usd.toFixed(6)}  thumbs_up=${pct(r.thumbs_up_rate)} (${r.thumbs})`,
          );
        }
      }),
    );

  prompts
    .command("import <paths...>")
    .description(
      "prompt YAML files (or directories of them): changed content becomes a new version, then labels move as each file says",
    )
    .option("--author <name>", "who the new versions are by")
    .action((paths: string[], opts: { author?: string }) =>
      withStore(storeConfig, async (db) => {
        const files = promptFiles(paths).map((f) => ({ source: f, text: readFileSync(f, "utf8") }));
        let outcomes: Awaited<ReturnType<typeof importPromptFiles>>;
        try {
          outcomes = await importPromptFiles(db, files, opts.author ?? defaultAuthor());
        } catch (e) {
          // A bad file names itself and its problems; nothing was stored.
          if (e instanceof PromptImportError) throw new Error(e.message);
          throw e;
        }
        for (const o of outcomes) {
          console.log(
            `${o.source}: ${o.created ? `created ${o.prompt}@${o.version}` : `${o.prompt}@${o.version} unchanged`}${o.moved.length ? `; moved ${o.moved.join(", ")}` : ""}`,
          );
        }
      }),
    );

  prompts
    .command("export [names...]")
    .description("write prompts as YAML files (one per prompt) to keep in git")
    .requiredOption("-o, --out <dir>", "the directory to write NAME.yaml files into")
    .option("--ref <label>", "the version each file holds: a label or latest", LATEST)
    .action((names: string[], opts: { out: string; ref: string }) =>
      withStore(storeConfig, async (db) => {
        const all = await loadPrompts(db, names.length > 0 ? names : undefined);
        for (const n of names) if (!all.some((p) => p.name === n)) throw new Error(`no prompt '${n}'`);
        mkdirSync(opts.out, { recursive: true });
        for (const p of all) {
          if (opts.ref !== LATEST && !p.labels.has(opts.ref)) {
            console.error(`skipped ${p.name}: no label '${opts.ref}'`);
            continue;
          }
          const v = versionNumber(p, opts.ref);
          const labels = [...p.labels].filter(([, n]) => n === v).map(([l]) => l);
          const file = join(opts.out, `${p.name}.yaml`);
          writeFileSync(file, promptFileText({ name: p.name, version: v, labels, content: contentOf(p, v) }));
          console.log(`${file}: ${p.name}@${v}`);
        }
      }),
    );
}

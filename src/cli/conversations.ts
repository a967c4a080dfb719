/** `switchyard conversations list|export`: read stored conversations straight from the store. */
import { createWriteStream } from "node:fs";
import type { Writable } from "node:stream";
import { type Command, Option } from "commander";
import type { Config } from "../core/config/schema.js";
import { conversationMarkdown } from "../core/conversation.js";
import {
  type Branches,
  conversationJson,
  getConversation,
  listConversations,
  missingConversations,
} from "../store/conversations.js";
import { migrateToLatest, openDatabase } from "../store/db.js";
import { tenantOf } from "./config-file.js";

interface Common {
  tenant?: string;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a whole number of at least 1, got '${v}'`);
  return n;
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await new Promise((r) => out.once("drain", r));
}

export function addConversationCommands(program: Command, storeConfig: () => Config): void {
  const cmd = program
    .command("conversations")
    .description("list, search, show and export the conversations stored from proxied traffic");
  const tenantOption = () =>
    new Option("-t, --tenant <tenant>", "the tenant whose conversations to read (needed when several are declared)");

  cmd
    .command("list")
    .description("newest first, or by relevance with --search")
    .addOption(tenantOption())
    .option("-s, --search <text>", "full-text search; every word must appear (word* matches a prefix)")
    .option("-u, --user <user>", "only this user's conversations")
    .option("-n, --limit <n>", "how many", positiveInt, 50)
    .action(async (opts: Common & { search?: string; user?: string; limit: number }) => {
      const cfg = storeConfig();
      const db = openDatabase(cfg.database.url);
      try {
        await migrateToLatest(db);
        const rows = await listConversations(db, {
          tenant: tenantOf(cfg, opts.tenant),
          search: opts.search,
          user: opts.user,
          limit: opts.limit,
        });
        if (rows.length === 0) console.log("no conversations");
        for (const r of rows) {
          const when = new Date(r.updated_at).toISOString().slice(0, 16).replace("T", " ");
          const who = r.user_id ? `  user=${r.user_id}` : "";
          console.log(`${r.id}  ${when}  ${r.message_count} msgs${who}  ${r.title ?? "(untitled)"}`);
          if (r.snippet) console.log(`    ${r.snippet.replaceAll("\n", " ")}`);
        }
      } finally {
        await db.destroy();
      }
    });

  cmd
    .command("export [ids...]")
    .description("export conversations as JSON or Markdown: the ids given, or those a search or user selects")
    .addOption(tenantOption())
    .addOption(
      new Option("-f, --format <format>", "json or markdown").choices(["json", "markdown", "md"]).default("json"),
    )
    .addOption(
      new Option("-b, --branches <which>", "active: the newest branch; all: every regenerated or edited branch")
        .choices(["active", "all"])
        .default("active"),
    )
    .option("-s, --search <text>", "without ids: the conversations matching this search")
    .option("-u, --user <user>", "without ids: only this user's conversations")
    .option("-n, --limit <n>", "without ids: at most this many (newest or most relevant first)", positiveInt, 100)
    .option("-o, --out <file>", "write to this file instead of standard output")
    .addHelpText(
      "after",
      `
Examples:
  switchyard conversations export ses_123 --format markdown
  switchyard conversations export --search "refund policy" --out refunds.json
  switchyard conversations export --user alice --limit 1000 --format md --out alice.md`,
    )
    .action(
      async (
        ids: string[],
        opts: Common & {
          format: string;
          branches: Branches;
          search?: string;
          user?: string;
          limit: number;
          out?: string;
        },
      ) => {
        const cfg = storeConfig();
        const tenant = tenantOf(cfg, opts.tenant);
        const db = openDatabase(cfg.database.url);
        let out: Writable = process.stdout;
        try {
          await migrateToLatest(db);
          const wanted =
            ids.length > 0
              ? ids
              : (await listConversations(db, { tenant, search: opts.search, user: opts.user, limit: opts.limit })).map(
                  (r) => r.id,
                );
          // Every id checked first: an unknown one must not leave a half-written file behind.
          const missing = await missingConversations(db, tenant, ids);
          if (missing.length > 0)
            throw new Error(`no conversation ${missing.map((m) => `'${m}'`).join(", ")} in tenant '${tenant}'`);
          if (opts.out) out = createWriteStream(opts.out);
          const markdown = opts.format !== "json";
          if (!markdown) await write(out, '{"object":"list","data":[');
          // One conversation at a time: an export of thousands never sits in memory whole.
          for (const [i, id] of wanted.entries()) {
            const c = await getConversation(db, tenant, id, opts.branches);
            if (!c) throw new Error(`no conversation '${id}' in tenant '${tenant}'`);
            if (markdown) await write(out, `${i > 0 ? "\n---\n\n" : ""}${conversationMarkdown(c)}`);
            else await write(out, `${i > 0 ? "," : ""}\n${JSON.stringify(conversationJson(c))}`);
          }
          if (!markdown) await write(out, "\n]}\n");
          if (opts.out) console.error(`wrote ${wanted.length} conversation(s) to ${opts.out}`);
        } finally {
          await db.destroy();
          if (out !== process.stdout) await new Promise((r) => out.end(r));
        }
      },
    );
}

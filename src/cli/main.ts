#!/usr/bin/env -S node --max-semi-space-size=4 --v8-pool-size=0
/** The `switchyard` command: serve, migrate, check, keys, conversations, export, report, prompts, replay. */
import { Command, Option } from "commander";
import { pino } from "pino";
import { ConfigError, validateConfig } from "../core/config/parse.js";
import type { Config } from "../core/config/schema.js";
import { configFromDiscovery, describeDiscovery, discoverLocalServers } from "../server/discover.js";
import { startServer } from "../server/serve.js";
import { migrateToLatest, openDatabase, StoreError } from "../store/db.js";
import { createKey, listKeys, revokeKey, setKeyLimits } from "../store/keys.js";
import { configPath, loadConfigFile } from "./config-file.js";
import { addConversationCommands } from "./conversations.js";
import { addExportCommand } from "./export.js";
import { tuneHeapForServing } from "./heap-tuning.js";
import { addLimitOptions, describeLimits, type LimitOptions, limitsFromOptions } from "./key-limits.js";
import { addPromptCommands } from "./prompts.js";
import { addReplayCommand } from "./replay.js";
import { addReportCommand } from "./report.js";

const program = new Command()
  .name("switchyard")
  .description(
    "A self-hostable, OpenAI-compatible LLM gateway: routes and fallbacks, A/B experiments, shadow tests and staged rollouts, feedback, reports with honest statistics, and fine-tuning datasets.",
  )
  .option("-c, --config <file>", "config file (default: $SWITCHYARD_CONFIG or ./switchyard.yaml)")
  .showHelpAfterError()
  .addHelpText(
    "after",
    `
Examples:
  switchyard serve                          # ./switchyard.yaml, or probe local model servers if absent
  switchyard serve -c prod.yaml --port 9000
  switchyard check -c prod.yaml             # validate a config and exit
  switchyard keys create --tenant acme --role app --name web-frontend
  switchyard keys limit key_1a2b3c --rpm 120 --budget-usd 50 --budget-period month
  switchyard conversations list --search "refund"
  switchyard export sft --out data/ --feedback thumbs:up
  switchyard report llama-vs-claude --format html --out report.html
  switchyard prompts create support --system "You help with {{product}}." --var product -m "first"
  switchyard prompts label support production 2
  switchyard replay --dataset evals.jsonl --candidate support/v1,support/v2 --format html --out replay.html
  switchyard migrate`,
  );

function requireConfig(): Config {
  const cfg = loadConfigFile(program.opts().config);
  if (!cfg) throw new Error(`no config file at ${configPath(program.opts().config)} (write one, or pass --config)`);
  return cfg;
}

/** Config for commands that only need the store: the file if present, else the defaults. */
function storeConfig(): Config {
  return loadConfigFile(program.opts().config) ?? validateConfig({}, "defaults");
}

program
  .command("serve")
  .description("start the gateway (migrates the store first)")
  .option("-p, --port <port>", "port to listen on (overrides server.port)", (v) => Number.parseInt(v, 10))
  .option("-H, --host <host>", "address to listen on (overrides server.host)")
  .addHelpText(
    "after",
    `
Then call it like OpenAI:
  curl http://127.0.0.1:8400/v1/chat/completions -H 'content-type: application/json' \\
    -H "authorization: Bearer $SWITCHYARD_KEY" -d '{"model":"chat","messages":[{"role":"user","content":"hi"}]}'`,
  )
  .action(async (opts: { port?: number; host?: string }) => {
    let config = loadConfigFile(program.opts().config);
    let discovery: string | undefined;
    if (!config) {
      const found = await discoverLocalServers();
      config = validateConfig(configFromDiscovery(found), "generated config");
      discovery = describeDiscovery(found, configPath(program.opts().config), opts.host ?? config.server.host);
    }
    if (opts.port !== undefined) config.server.port = opts.port;
    if (opts.host !== undefined) config.server.host = opts.host;
    if (discovery) process.stdout.write(`${discovery}\n`);
    const logger = pino({
      level: config.logging.level,
      redact: { paths: ["req.headers.authorization", "*.apiKey", "*.api_key"], censor: "[redacted]" },
    });
    tuneHeapForServing();
    const server = await startServer(config, logger);
    logger.info(
      { url: server.url, routes: Object.keys(config.routes), backends: Object.keys(config.backends) },
      `switchyard listening on ${server.url}`,
    );
    let signals = 0;
    const stop = (signal: string) => {
      signals++;
      if (signals > 1) {
        logger.warn("second signal: exiting without waiting");
        process.exit(1);
      }
      logger.info({ signal, in_flight: server.gateway.inFlightCount }, "shutting down: draining requests");
      server.shutdown().then(
        () => {
          logger.info({ log_rows_written: server.gateway.log.written }, "shutdown complete");
          process.exit(0);
        },
        (e) => {
          logger.error({ err: e }, "shutdown failed");
          process.exit(1);
        },
      );
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });

program
  .command("check")
  .description("validate the config file and print what it declares")
  .action(() => {
    const cfg = requireConfig();
    console.log(
      `${configPath(program.opts().config)} is valid: ${Object.keys(cfg.backends).length} backend(s), ` +
        `${Object.keys(cfg.routes).length} route(s) (${Object.keys(cfg.routes).join(", ")}), ` +
        `${Object.keys(cfg.tenants).length} tenant(s), ` +
        `${Object.keys(cfg.experiments).length} experiment(s)` +
        (Object.keys(cfg.experiments).length > 0 ? ` (${Object.keys(cfg.experiments).join(", ")})` : ""),
    );
  });

program
  .command("migrate")
  .description("bring the store's schema up to date (serve does this on start)")
  .action(async () => {
    const db = openDatabase(storeConfig().database.url);
    try {
      const res = await migrateToLatest(db);
      const applied = res.results?.filter((r) => r.status === "Success").map((r) => r.migrationName) ?? [];
      console.log(applied.length ? `applied: ${applied.join(", ")}` : "the store is up to date");
    } finally {
      await db.destroy();
    }
  });

const keys = program.command("keys").description("create, list, limit and revoke API keys");

addLimitOptions(
  keys
    .command("create")
    .description("create a key; it is printed once and stored only as a hash")
    .requiredOption("-t, --tenant <tenant>", "the tenant the key belongs to (declared under tenants: in the config)")
    .addOption(new Option("-r, --role <role>", "admin or app").choices(["admin", "app"]).default("app"))
    .option("-n, --name <name>", "a label to recognise the key by"),
).action(async (opts: { tenant: string; role: "admin" | "app"; name?: string } & LimitOptions) => {
  const cfg = storeConfig();
  if (!Object.hasOwn(cfg.tenants, opts.tenant)) {
    throw new Error(
      `tenant '${opts.tenant}' is not declared in the config (declared: ${Object.keys(cfg.tenants).join(", ")}); add it under tenants:`,
    );
  }
  const db = openDatabase(cfg.database.url);
  try {
    await migrateToLatest(db);
    const { key, record } = await createKey(db, { ...opts, limits: limitsFromOptions(opts) });
    console.log(key);
    console.error(
      `created ${record.id} (tenant ${record.tenant}, role ${record.role}); the key above is not shown again`,
    );
  } finally {
    await db.destroy();
  }
});

keys
  .command("list")
  .description("list keys (never the keys themselves)")
  .option("-t, --tenant <tenant>", "only this tenant's keys")
  .action(async (opts: { tenant?: string }) => {
    const db = openDatabase(storeConfig().database.url);
    try {
      await migrateToLatest(db);
      const rows = await listKeys(db, opts.tenant);
      if (rows.length === 0) console.log("no keys");
      for (const r of rows) {
        const state = r.revoked_at ? `revoked ${new Date(r.revoked_at).toISOString()}` : "active";
        console.log(
          `${r.id}  ${r.key_prefix}…  tenant=${r.tenant}  role=${r.role}  ${state}  ${describeLimits(r)}${r.name ? `  ${r.name}` : ""}`,
        );
      }
    } finally {
      await db.destroy();
    }
  });

addLimitOptions(
  keys
    .command("limit <id>")
    .description("set or clear (none) a key's own limits and budget; servers apply it within 10 s"),
).action(async (id: string, opts: LimitOptions) => {
  const db = openDatabase(storeConfig().database.url);
  try {
    await migrateToLatest(db);
    const current = (await listKeys(db)).find((r) => r.id === id);
    if (!current) throw new Error(`no key with id ${id}`);
    const limits = limitsFromOptions(opts, current);
    if (Object.keys(limits).length === 0) throw new Error("nothing to set: give --rpm, --tpm or --budget-usd");
    await setKeyLimits(db, id, limits);
    const k = (await listKeys(db)).find((r) => r.id === id);
    console.log(`${id}  ${k ? describeLimits(k) : ""}`);
  } finally {
    await db.destroy();
  }
});

keys
  .command("revoke <id>")
  .description("revoke a key by its id (see keys list)")
  .action(async (id: string) => {
    const db = openDatabase(storeConfig().database.url);
    try {
      await migrateToLatest(db);
      if (!(await revokeKey(db, id))) throw new Error(`no active key with id ${id}`);
      console.log(`revoked ${id}; running servers stop accepting it within 10 seconds`);
    } finally {
      await db.destroy();
    }
  });

addConversationCommands(program, storeConfig);
addExportCommand(program, storeConfig);
addReportCommand(program, storeConfig);
addPromptCommands(program, storeConfig);
addReplayCommand(program, storeConfig, requireConfig);

program.parseAsync().catch((e: unknown) => {
  if (e instanceof ConfigError || e instanceof StoreError || e instanceof Error) {
    console.error(`switchyard: ${e.message}`);
  } else {
    console.error("switchyard:", e);
  }
  process.exit(1);
});

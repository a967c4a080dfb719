/**
 * Opens the store named by `database.url` and brings its schema up to date.
 * SQLite (a file path, `sqlite:path` or `:memory:`) is the embedded default;
 * `postgres://…` (or `postgresql://…`) opens a PostgreSQL pool, for several
 * replicas sharing one store.
 */
import { createRequire } from "node:module";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, type MigrationResultSet, Migrator, PostgresDialect, SqliteDialect, sql } from "kysely";
import type pg from "pg";
import { migrations } from "./migrations/index.js";
import type { Database } from "./schema.js";

export type Db = Kysely<Database>;
export type Dialect = "sqlite" | "postgres";

/** The SQLite connection under each Db, for writers that need its synchronous API. */
const handles = new WeakMap<Db, BetterSqlite3.Database>();
const pools = new WeakMap<Db, pg.Pool>();

/** The pg driver, loaded only for a PostgreSQL store (SQLite, the default, never needs its memory). */
let pgModule: typeof pg | undefined;
const loadPg = (): typeof pg => {
  pgModule ??= createRequire(import.meta.url)("pg") as typeof pg;
  return pgModule;
};

export function sqliteHandle(db: Db): BetterSqlite3.Database | undefined {
  return handles.get(db);
}

export function dialectOf(db: Db): Dialect {
  return pools.has(db) ? "postgres" : "sqlite";
}

export class StoreError extends Error {
  override name = "StoreError";
}

export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//i.test(url);

/**
 * int8 (counts, bigint columns, sums of integers) and numeric (sums of bigints)
 * arrive from pg as strings, to keep precision past 2^53. Every such value
 * here is a count, a millisecond time or a token sum, far below that, and the
 * code reads them as numbers, as SQLite gives them.
 */
const PG_INT8 = 20;
const PG_NUMERIC = 1700;
const pgTypes = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === PG_INT8 || oid === PG_NUMERIC) return (v: string) => Number(v);
    return loadPg().types.getTypeParser(oid, format as any);
  },
} as pg.CustomTypesConfig;

export function openDatabase(url: string, options: { poolSize?: number } = {}): Db {
  if (isPostgresUrl(url)) return openPostgres(url, options.poolSize ?? 10);
  const file = url.replace(/^sqlite:(\/\/)?/i, "");
  let sqlite: BetterSqlite3.Database;
  try {
    sqlite = new BetterSqlite3(file);
  } catch (e) {
    throw new StoreError(`cannot open the SQLite database '${file}': ${(e as Error).message}`);
  }
  // WAL lets readers (reports, the CLI) work while the server writes.
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("busy_timeout = 5000");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  handles.set(db, sqlite);
  return db;
}

function openPostgres(url: string, max: number): Db {
  const pool = new (loadPg().Pool)({ connectionString: url, max, types: pgTypes, connectionTimeoutMillis: 10_000 });
  // An idle client's error (the server restarted, the network dropped) is reported here; without a
  // listener it would crash the process. The pool replaces the client and the next query reconnects.
  pool.on("error", () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  return db;
}

/** PostgreSQL errors that mean "run the transaction again": serialization failure, deadlock, a racing insert. */
const RETRYABLE_PG = new Set(["40001", "40P01", "23505"]);
const PG_ATTEMPTS = 8;

/**
 * A transaction that reads and then writes, safe against concurrent writers.
 *
 * SQLite: the default (deferred) BEGIN takes the write lock only at the first
 * write, and if the log writer thread committed since this transaction's first
 * read, that write fails at once with SQLITE_BUSY_SNAPSHOT (no busy wait can
 * help: the snapshot is stale). BEGIN IMMEDIATE takes the write lock first,
 * waiting up to busy_timeout for it.
 *
 * PostgreSQL: several replicas may run the same read-then-write at once (two
 * feedback writes for one answer, two changes of one experiment). SERIALIZABLE
 * makes all but one fail, and each is run again on a fresh snapshot, where it
 * sees the other's write. `work` must therefore do nothing but database work.
 */
export async function writeTransaction<T>(db: Db, work: (trx: Db) => Promise<T>): Promise<T> {
  if (dialectOf(db) === "postgres") {
    for (let attempt = 1; ; attempt++) {
      try {
        return await db.transaction().setIsolationLevel("serializable").execute(work);
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (attempt >= PG_ATTEMPTS || typeof code !== "string" || !RETRYABLE_PG.has(code)) throw e;
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
      }
    }
  }
  return db.connection().execute(async (conn) => {
    await sql`BEGIN IMMEDIATE`.execute(conn);
    try {
      const result = await work(conn);
      await sql`COMMIT`.execute(conn);
      return result;
    } catch (e) {
      await sql`ROLLBACK`.execute(conn).catch(() => {});
      throw e;
    }
  });
}

export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  let result: MigrationResultSet;
  try {
    result = await migrator.migrateToLatest();
  } catch (e) {
    throw new StoreError(`cannot migrate the store: ${(e as Error).message}`);
  }
  if (result.error) {
    const failed = result.results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    const err = result.error as Error;
    throw new StoreError(`migration ${failed} failed: ${err.message || String(err)}`);
  }
  return result;
}

/**
 * Opens the store named by `database.url` and brings its schema up to date.
 * SQLite (a file path, `sqlite:path` or `:memory:`) is the embedded default.
 */
import BetterSqlite3 from "better-sqlite3";
import { Kysely, type MigrationResultSet, Migrator, SqliteDialect, sql } from "kysely";
import { migrations } from "./migrations/index.js";
import type { Database } from "./schema.js";

export type Db = Kysely<Database>;

/** The SQLite connection under each Db, for writers that need its synchronous API. */
const handles = new WeakMap<Db, BetterSqlite3.Database>();

export function sqliteHandle(db: Db): BetterSqlite3.Database | undefined {
  return handles.get(db);
}

export class StoreError extends Error {
  override name = "StoreError";
}

export function openDatabase(url: string): Db {
  if (/^postgres(ql)?:\/\//i.test(url)) {
    throw new StoreError(
      "database.url names PostgreSQL, which this version of Switchyard cannot use yet; use a SQLite file path (for example ./switchyard.db)",
    );
  }
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

/**
 * A transaction that reads and then writes. SQLite's default (deferred) BEGIN
 * takes the write lock only at the first write, and if the log writer thread
 * committed since this transaction's first read, that write fails at once with
 * SQLITE_BUSY_SNAPSHOT (no busy wait can help: the snapshot is stale). BEGIN
 * IMMEDIATE takes the write lock first, waiting up to busy_timeout for it.
 */
export async function writeTransaction<T>(db: Db, work: (trx: Db) => Promise<T>): Promise<T> {
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
  const result = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new StoreError(`migration ${failed} failed: ${(result.error as Error).message ?? result.error}`);
  }
  return result;
}

/** The batch writer: a refused value costs only its row; a busy database costs nothing (the batch is retried). */
import { spawn } from "node:child_process";
import BetterSqlite3 from "better-sqlite3";
import { afterEach, expect, it } from "vitest";
import { migrateToLatest, openDatabase, sqliteHandle, writeTransaction } from "../src/store/db.js";
import { toColumnValues } from "../src/store/request-log-columns.js";
import { sqliteLogWriter } from "../src/store/sqlite-log-writer.js";
import { tempSqlitePath } from "./helpers.js";

const open: Array<{ close(): unknown }> = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

const row = (id: string) =>
  toColumnValues({ id, created_at: 1, tenant: "t", route: "chat", stream: 0, status: 200, latency_ms: 1 });
const turn = (id: string) => ({
  tenant: "t",
  session: `ses-${id}`,
  user: null,
  route: "chat",
  requestId: id,
  createdAt: 1,
  messages: [{ role: "user" as const, content: `question ${id}` }],
  answer: { role: "assistant" as const, content: `answer ${id}` },
});

/** Request ids whose messages the full-text index finds for `word`. */
const found = (db: BetterSqlite3.Database, word: string) =>
  db
    .prepare(
      `SELECT DISTINCT m.request_id FROM conversation_messages_fts f JOIN conversation_messages m ON m.seq = f.rowid
       WHERE conversation_messages_fts MATCH ? ORDER BY m.request_id`,
    )
    .pluck()
    .all(word);

/** Index entries matching `query` (an entry indexed twice counts twice). */
const matches = (db: BetterSqlite3.Database, query: string) =>
  db
    .prepare("SELECT count(*) FROM conversation_messages_fts WHERE conversation_messages_fts MATCH ?")
    .pluck()
    .get(query);

async function store() {
  const file = tempSqlitePath();
  const db = openDatabase(file);
  await migrateToLatest(db);
  const handle = sqliteHandle(db) as BetterSqlite3.Database;
  open.push({ close: () => void db.destroy() });
  return { file, handle };
}

it("leaves out only the row the database refuses, and keeps its neighbours and their turns", async () => {
  const { handle } = await store();
  const write = sqliteLogWriter(handle);
  write({ rows: [row("r1")], turns: [turn("r1")], exposures: [], shadows: [] });
  const result = write({
    rows: [row("r2"), row("r1"), row("r3")],
    turns: [turn("r2"), null, turn("r3")],
    exposures: [],
    shadows: [],
  });
  expect(result).toMatchObject({ rejected: 1, turnsRejected: 0 });
  expect(handle.prepare("SELECT id FROM request_log ORDER BY id").pluck().all()).toEqual(["r1", "r2", "r3"]);
  expect(handle.prepare("SELECT id FROM conversations ORDER BY id").pluck().all()).toEqual([
    "ses-r1",
    "ses-r2",
    "ses-r3",
  ]);
  // Each stored message is searchable once, whichever path wrote it.
  expect(found(handle, "answer")).toEqual(["r1", "r2", "r3"]);
  expect(matches(handle, "answer OR question")).toBe(6);
});

it("throws on a busy database without dropping anything, so the whole batch is retried", async () => {
  const { file, handle } = await store();
  const writer = new BetterSqlite3(file);
  writer.pragma("busy_timeout = 0");
  open.push(writer);
  const write = sqliteLogWriter(writer);
  handle.exec("BEGIN IMMEDIATE"); // another process holds the write lock
  expect(() =>
    write({ rows: [row("a"), row("b")], turns: [turn("a"), turn("b")], exposures: [], shadows: [] }),
  ).toThrow(/locked|busy/i);
  handle.exec("ROLLBACK");
  expect(write({ rows: [row("a"), row("b")], turns: [turn("a"), turn("b")], exposures: [], shadows: [] })).toEqual({
    rejected: 0,
    turnsRejected: 0,
  });
  expect(handle.prepare("SELECT count(*) FROM conversation_messages").pluck().get()).toBe(4);
  // The refused attempt indexed nothing; the retried one indexed each message once.
  expect(found(handle, "question")).toEqual(["a", "b"]);
  expect(matches(handle, "answer OR question")).toBe(4);
});

it("a read-then-write transaction beside the writer thread holds the write lock from its start", async () => {
  const file = tempSqlitePath();
  const db = openDatabase(file);
  await migrateToLatest(db);
  open.push({ close: () => void db.destroy() });
  // Another connection, as the log writer thread is.
  const writer = new BetterSqlite3(file);
  writer.pragma("busy_timeout = 0");
  open.push(writer);
  const write = sqliteLogWriter(writer);
  await writeTransaction(db, async (trx) => {
    await trx.selectFrom("experiments").selectAll().execute();
    // Had the writer committed here, a deferred transaction's next write would fail with
    // SQLITE_BUSY_SNAPSHOT; the writer must wait instead (its batch goes back to the queue).
    expect(() => write({ rows: [row("w")], turns: [null], exposures: [], shadows: [] })).toThrow(/locked|busy/i);
    await trx
      .insertInto("experiment_events")
      .values({ id: "e1", experiment: "x", at: 1, kind: "create", actor: "t", detail: "{}" })
      .execute();
  });
  expect(write({ rows: [row("w")], turns: [null], exposures: [], shadows: [] })).toEqual({
    rejected: 0,
    turnsRejected: 0,
  });
});

it("waits for a write by another connection, and stores its batch with turns after it", async () => {
  const { file, handle } = await store();
  const writer = new BetterSqlite3(file);
  writer.pragma("busy_timeout = 5000"); // as the writer thread sets it
  open.push(writer);
  const write = sqliteLogWriter(writer);
  write({ rows: [row("before")], turns: [turn("before")], exposures: [], shadows: [] });
  // Another process takes the write lock, commits a change a little later, then lets go. Started
  // as a process: this thread blocks inside the writer while it waits for the lock.
  const holder = spawn(
    process.execPath,
    [
      "-e",
      `const db = new (require("better-sqlite3"))(process.argv[1]);
       db.pragma("busy_timeout = 5000");
       db.exec("BEGIN IMMEDIATE");
       process.stdout.write("locked\\n");
       const until = Date.now() + 300;
       while (Date.now() < until);
       db.exec("UPDATE conversations SET title = 'changed' WHERE id = 'ses-before'");
       db.exec("COMMIT");`,
      file,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
  expect(write({ rows: [row("after")], turns: [turn("after")], exposures: [], shadows: [] })).toEqual({
    rejected: 0,
    turnsRejected: 0,
  });
  await new Promise((resolve) => holder.once("exit", resolve));
  expect(found(handle, "answer")).toEqual(["after", "before"]);
  expect(handle.prepare("SELECT title FROM conversations WHERE id = 'ses-before'").pluck().get()).toBe("changed");
});

it("stores an experiment exposure once per unit, keeping the first", async () => {
  const { handle } = await store();
  const write = sqliteLogWriter(handle);
  const exposure = (request: string, variant: string) => ["exp", "t", "user", "u1", variant, request, 1];
  write({ rows: [row("x1")], turns: [null], exposures: [exposure("x1", "a")], shadows: [] });
  write({ rows: [row("x2")], turns: [null], exposures: [exposure("x2", "b")], shadows: [] });
  expect(handle.prepare("SELECT variant, request_id FROM experiment_exposures").all()).toEqual([
    { variant: "a", request_id: "x1" },
  ]);
});

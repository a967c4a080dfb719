/** The batch writer: a refused value costs only its row; a busy database costs nothing (the batch is retried). */
import BetterSqlite3 from "better-sqlite3";
import { afterEach, expect, it } from "vitest";
import { migrateToLatest, openDatabase, sqliteHandle } from "../src/store/db.js";
import { toColumnValues } from "../src/store/request-log-columns.js";
import { sqliteLogWriter } from "../src/store/sqlite-log-writer.js";
import { tempDbPath } from "./helpers.js";

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

async function store() {
  const file = tempDbPath();
  const db = openDatabase(file);
  await migrateToLatest(db);
  const handle = sqliteHandle(db) as BetterSqlite3.Database;
  open.push({ close: () => void db.destroy() });
  return { file, handle };
}

it("leaves out only the row the database refuses, and keeps its neighbours and their turns", async () => {
  const { handle } = await store();
  const write = sqliteLogWriter(handle);
  write({ rows: [row("r1")], turns: [turn("r1")] });
  const result = write({ rows: [row("r2"), row("r1"), row("r3")], turns: [turn("r2"), null, turn("r3")] });
  expect(result).toMatchObject({ rejected: 1, turnsRejected: 0 });
  expect(handle.prepare("SELECT id FROM request_log ORDER BY id").pluck().all()).toEqual(["r1", "r2", "r3"]);
  expect(handle.prepare("SELECT id FROM conversations ORDER BY id").pluck().all()).toEqual([
    "ses-r1",
    "ses-r2",
    "ses-r3",
  ]);
});

it("throws on a busy database without dropping anything, so the whole batch is retried", async () => {
  const { file, handle } = await store();
  const writer = new BetterSqlite3(file);
  writer.pragma("busy_timeout = 0");
  open.push(writer);
  const write = sqliteLogWriter(writer);
  handle.exec("BEGIN IMMEDIATE"); // another process holds the write lock
  expect(() => write({ rows: [row("a"), row("b")], turns: [turn("a"), turn("b")] })).toThrow(/locked|busy/i);
  handle.exec("ROLLBACK");
  expect(write({ rows: [row("a"), row("b")], turns: [turn("a"), turn("b")] })).toEqual({
    rejected: 0,
    turnsRejected: 0,
  });
  expect(handle.prepare("SELECT count(*) FROM conversation_messages").pluck().get()).toBe(4);
});

/**
 * The PostgreSQL batch writer, with several writers (replicas) on one
 * database: a refused value costs only its row, the first exposure of a unit
 * wins whichever replica wrote it, and concurrent batches of the same hour add
 * up in the rollups. Runs in the suite's PostgreSQL pass (SWITCHYARD_TEST_STORE=postgres).
 */
import { afterEach, describe, expect, it } from "vitest";
import { type Db, migrateToLatest, openDatabase } from "../src/store/db.js";
import type { LogBatch } from "../src/store/log-batch.js";
import { postgresLogWriter } from "../src/store/pg-log-writer.js";
import { toColumnValues } from "../src/store/request-log-columns.js";
import { createTestDatabase, testStore } from "./postgres.js";

const opened: Db[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.destroy()));
});

async function store(): Promise<{ url: string; db: Db }> {
  const url = createTestDatabase();
  const db = openDatabase(url);
  opened.push(db);
  await migrateToLatest(db);
  return { url, db };
}

/** Another replica's connection pool on the same database. */
function replica(url: string): Db {
  const db = openDatabase(url);
  opened.push(db);
  return db;
}

const HOUR = 3_600_000;
const row = (id: string, extra: Record<string, unknown> = {}) =>
  toColumnValues({
    id,
    created_at: 5 * HOUR + 1,
    tenant: "t",
    route: "chat",
    stream: 0,
    status: 200,
    latency_ms: 10,
    ...extra,
  });
const turn = (id: string, session = `ses-${id}`, history: string[] = []) => ({
  tenant: "t",
  session,
  user: null,
  route: "chat",
  requestId: id,
  createdAt: 1,
  messages: [
    ...history.flatMap((h) => [
      { role: "user" as const, content: `question ${h}` },
      { role: "assistant" as const, content: `answer ${h}` },
    ]),
    { role: "user" as const, content: `question ${id}` },
  ],
  answer: { role: "assistant" as const, content: `answer ${id}` },
});
const batch = (b: Partial<LogBatch>): LogBatch => ({ rows: [], turns: [], exposures: [], shadows: [], ...b });

describe.runIf(testStore() === "postgres")("PostgreSQL log writer", () => {
  it("leaves out only the row the database refuses, and keeps its neighbours and their turns", async () => {
    const { db } = await store();
    const write = postgresLogWriter(db);
    await write(batch({ rows: [row("r1")], turns: [turn("r1")] }));
    const result = await write(
      batch({ rows: [row("r2"), row("r1"), row("r3")], turns: [turn("r2"), null, turn("r3")] }),
    );
    expect(result).toMatchObject({ rejected: 1, turnsRejected: 0 });
    const ids = await db.selectFrom("request_log").select("id").orderBy("id").execute();
    expect(ids.map((r) => r.id)).toEqual(["r1", "r2", "r3"]);
    const sessions = await db.selectFrom("conversations").select("id").orderBy("id").execute();
    expect(sessions.map((r) => r.id)).toEqual(["ses-r1", "ses-r2", "ses-r3"]);
    // The refused row is not counted twice in the hour's usage.
    const usage = await db.selectFrom("route_rollups").select("requests").execute();
    expect(usage).toEqual([{ requests: 3 }]);
  });

  it("throws when the database is unreachable, so the batch goes back to the queue whole", async () => {
    const write = postgresLogWriter(replica("postgres://postgres@127.0.0.1:1/none"));
    await expect(write(batch({ rows: [row("lost")] }))).rejects.toThrow();
  });

  it("stores a unit's exposure once when replicas write it at once", async () => {
    const { url, db } = await store();
    const writers = [db, replica(url), replica(url)].map(postgresLogWriter);
    const exposure = (request: string, variant: string) => ["exp", "t", "user", "u1", variant, request, 1];
    // Each writer also exposes a unit of its own and one shared by all, listed in a different order.
    const results = await Promise.all(
      writers.map((write, i) =>
        write(
          batch({
            rows: [row(`x${i}`)],
            exposures:
              i % 2
                ? [exposure(`x${i}`, `v${i}`), ["exp", "t", "user", `own${i}`, "a", `x${i}`, 1]]
                : [["exp", "t", "user", `own${i}`, "a", `x${i}`, 1], exposure(`x${i}`, `v${i}`)],
          }),
        ),
      ),
    );
    // Nothing refused: a unit already stored is no error.
    for (const r of results) expect(r).toEqual({ rejected: 0, turnsRejected: 0 });
    const stored = await db
      .selectFrom("experiment_exposures")
      .select(["unit_id", "variant", "request_id"])
      .orderBy("unit_id")
      .execute();
    expect(stored.map((e) => e.unit_id)).toEqual(["own0", "own1", "own2", "u1"]);
    const shared = stored.find((e) => e.unit_id === "u1");
    expect(["v0", "v1", "v2"]).toContain(shared?.variant);
    expect(shared?.request_id).toBe(`x${shared?.variant.slice(1)}`);
  });

  it("adds up concurrent batches of the same hour from several replicas in the rollups", async () => {
    const { url, db } = await store();
    const writers = [db, replica(url), replica(url)].map(postgresLogWriter);
    const experimentRow = (id: string, variant: string) =>
      row(id, { experiment: "exp", variant, assigned_by: "hash", output_tokens: 5, cost_usd: 0.5 });
    // 3 replicas x 10 batches x 20 rows, half to each variant, all in one hour.
    await Promise.all(
      writers.map(async (write, w) => {
        for (let b = 0; b < 10; b++) {
          const rows = Array.from({ length: 20 }, (_, i) => experimentRow(`w${w}b${b}r${i}`, i % 2 ? "a" : "b"));
          await write(batch({ rows, turns: rows.map(() => null) }));
        }
      }),
    );
    const routes = await db.selectFrom("route_rollups").selectAll().execute();
    expect(routes).toHaveLength(1);
    expect(routes[0]).toMatchObject({ requests: 600, output_tokens: 3000, cost_sum: 300 });
    const sketch = JSON.parse(routes[0]?.latency_sketch ?? "{}") as Record<string, number>;
    expect(Object.values(sketch).reduce((a, b) => a + b, 0)).toBe(600);
    const variants = await db
      .selectFrom("experiment_rollups")
      .select(["variant", "requests", "successes", "output_tokens"])
      .orderBy("variant")
      .execute();
    expect(variants).toEqual([
      { variant: "a", requests: 300, successes: 300, output_tokens: 1500 },
      { variant: "b", requests: 300, successes: 300, output_tokens: 1500 },
    ]);
  });

  it("joins a follow-up turn to the stored conversation, also within one batch", async () => {
    const { db } = await store();
    const write = postgresLogWriter(db);
    await write(batch({ rows: [row("c1")], turns: [turn("c1", "s")] }));
    await write(
      batch({
        rows: [row("c2"), row("c3")],
        turns: [turn("c2", "s", ["c1"]), turn("c3", "s", ["c1", "c2"])],
      }),
    );
    const conversation = await db.selectFrom("conversations").selectAll().executeTakeFirstOrThrow();
    // question c1, answer c1, then one new question and answer per follow-up: a single branch.
    expect(conversation).toMatchObject({ id: "s", message_count: 6, leaf_id: "c3.answer" });
    const messages = await db
      .selectFrom("conversation_messages")
      .select(["id", "parent_id", "depth"])
      .orderBy("depth")
      .execute();
    expect(messages.map((m) => [m.id, m.parent_id])).toEqual([
      ["c1.0", null],
      ["c1.answer", "c1.0"],
      ["c2.2", "c1.answer"],
      ["c2.answer", "c2.2"],
      ["c3.4", "c2.answer"],
      ["c3.answer", "c3.4"],
    ]);
  });
});

/** The log queue's memory bound on conversation turns: past the budget the oldest turns go, never their rows. */
import { pino } from "pino";
import { expect, it } from "vitest";
import type { ConversationTurn } from "../src/core/conversation.js";
import type { LogSink } from "../src/store/log-sinks.js";
import { type LogEntry, RequestLogWriter, turnSize } from "../src/store/request-log.js";

const turn = (id: string, chars: number): ConversationTurn => ({
  tenant: "t",
  session: "s",
  user: null,
  route: "chat",
  requestId: id,
  createdAt: 1,
  messages: [{ role: "user", content: "x".repeat(chars) }],
  answer: { role: "assistant", content: "ok" },
});
const row = (id: string) => ({
  id,
  created_at: 1,
  tenant: "t",
  route: "chat",
  stream: 0,
  status: 200,
  latency_ms: 1,
  attempts: 1,
  fallback_used: 0,
  tokens_estimated: 0,
});

it("drops the oldest turns, keeps every row, and writes the rest once the store is back", async () => {
  let down = true;
  const written: LogEntry[] = [];
  const sink: LogSink = {
    async write(entries) {
      if (down) throw new Error("store down");
      written.push(...entries);
      return { rejected: 0, turnsRejected: 0 };
    },
    async close() {},
  };
  const one = turnSize(turn("x", 10_000));
  const log = new RequestLogWriter(
    sink,
    { flushIntervalMs: 60_000, batchSize: 500, maxQueue: 1000, maxTurnBytes: one * 10 },
    pino({ level: "silent" }),
  );
  for (let i = 0; i < 30; i++) {
    log.push(row(`r${i}`), turn(`r${i}`, 10_000));
    await log.flush(); // fails: the entries stay queued, and so count against the budget
  }
  expect(log.depth).toBe(30);
  expect(log.turnsDropped).toBeGreaterThanOrEqual(20);
  down = false;
  await log.close();
  expect(written.map((e) => e.row.id)).toEqual(Array.from({ length: 30 }, (_, i) => `r${i}`));
  const kept = written.filter((e) => e.turn !== null).map((e) => e.row.id);
  // The newest turns are the ones kept, and no more than the budget holds.
  expect(kept.length).toBe(30 - log.turnsDropped);
  expect(kept.length).toBeLessThanOrEqual(10);
  expect(kept).toEqual(written.slice(30 - kept.length).map((e) => e.row.id));
});

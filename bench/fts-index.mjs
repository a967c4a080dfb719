#!/usr/bin/env node
// What keeping the conversation search index costs per stored message on SQLite: messages inserted
// in 1 000-row transactions, with no full-text index, with FTS5 kept by a per-row AFTER INSERT
// trigger (how migration 0003 kept it), and with one INSERT … SELECT per transaction (how the log
// writer keeps it since migration 0012). Plain better-sqlite3 in this process, a temp file, WAL and
// synchronous=NORMAL as the gateway opens its store.
//
// Usage: node bench/fts-index.mjs [--rows 200000] [--rounds 3]
// Prints µs per message for each way, per round, then the medians.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";

const { values } = parseArgs({
  options: { rows: { type: "string", default: "200000" }, rounds: { type: "string", default: "3" } },
});
const ROWS = Number(values.rows);
const ROUNDS = Number(values.rounds);
const BATCH = 1000;
const WAYS = ["none", "trigger", "per-batch"];

function run(way) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sy-fts-"));
  const db = new Database(path.join(dir, "fts.db"));
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.exec("CREATE TABLE m (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, text TEXT NOT NULL)");
    if (way !== "none") db.exec("CREATE VIRTUAL TABLE f USING fts5(text, content='m', content_rowid='seq')");
    if (way === "trigger")
      db.exec("CREATE TRIGGER t AFTER INSERT ON m BEGIN INSERT INTO f(rowid, text) VALUES (new.seq, new.text); END");
    const insert = db.prepare("INSERT INTO m (id, text) VALUES (?, ?)");
    const newest = db.prepare("SELECT coalesce(max(seq), 0) FROM m").pluck();
    const index =
      way === "per-batch" ? db.prepare("INSERT INTO f(rowid, text) SELECT seq, text FROM m WHERE seq > ?") : null;
    let n = 0;
    const batch = db.transaction(() => {
      const since = index ? newest.get() : 0;
      for (let i = 0; i < BATCH; i++, n++) {
        // A user line and an answer, as one chat turn stores them.
        insert.run(
          `req_${String(n).padStart(12, "0")}`,
          n % 2 ? "hi there" : "Hello! How can I help you with your order today?",
        );
      }
      index?.run(since);
    });
    const t0 = performance.now();
    while (n < ROWS) batch.immediate();
    const us = ((performance.now() - t0) * 1000) / n;
    if (way !== "none") {
      const found = db.prepare("SELECT count(*) FROM f WHERE f MATCH 'order'").pluck().get();
      if (found !== ROWS / 2) throw new Error(`${way}: the index finds ${found} messages, expected ${ROWS / 2}`);
    }
    return us;
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const results = Object.fromEntries(WAYS.map((w) => [w, []]));
for (let r = 1; r <= ROUNDS; r++) {
  for (const way of WAYS) {
    const us = run(way);
    results[way].push(us);
    console.error(`round ${r} ${way}: ${us.toFixed(2)} µs per message`);
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`\n${ROWS} messages in ${BATCH}-row transactions, medians of ${ROUNDS} rounds (µs per message):`);
for (const way of WAYS) console.log(`  ${way.padEnd(10)} ${median(results[way]).toFixed(2)}`);

/**
 * Identifiers that sort by creation time: 12 hex digits of milliseconds since
 * the epoch, then 20 random hex digits (the layout of a UUIDv7 without its
 * version bits). Time order keeps inserts into the request log's primary key at
 * the end of the B-tree: a random key cost 34 µs a row against 20 µs in a
 * SQLite measurement of 100 000 inserts (see the commit that introduced this).
 */
import { randomFillSync } from "node:crypto";

const RANDOM_BYTES = 10;
// One fill serves 409 ids (every request takes at least one): a hex slice of a buffer costs
// less than formatting and trimming a UUID per id.
const pool = Buffer.alloc(RANDOM_BYTES * 409);
let offset = pool.length;

export function timeOrderedId(prefix: string, now = Date.now()): string {
  if (offset + RANDOM_BYTES > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const random = pool.toString("hex", offset, offset + RANDOM_BYTES);
  offset += RANDOM_BYTES;
  return `${prefix}${now.toString(16).padStart(12, "0")}${random}`;
}

/** Time-ordered ids: unique, sorted by creation time, the documented layout. */
import { expect, it } from "vitest";
import { timeOrderedId } from "../src/core/ids.js";

it("are unique across many refills of the random pool, and sort by time", () => {
  const ids = Array.from({ length: 5000 }, (_, i) => timeOrderedId("req_", 1_700_000_000_000 + i));
  expect(new Set(ids).size).toBe(ids.length);
  expect([...ids].sort()).toEqual(ids);
  for (const id of ids) expect(id).toMatch(/^req_[0-9a-f]{32}$/);
  expect(ids[0]?.slice(4, 16)).toBe((1_700_000_000_000).toString(16).padStart(12, "0"));
});

it("differ within one millisecond", () => {
  const a = timeOrderedId("ses_", 1);
  const b = timeOrderedId("ses_", 1);
  expect(a).not.toBe(b);
  expect(a.slice(0, 16)).toBe(b.slice(0, 16));
});

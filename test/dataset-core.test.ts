/** The pure dataset rules: deterministic splits, ratios, redaction, filters. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  NO_FEEDBACK,
  parseSplitRatios,
  passesFilter,
  type RatedTurn,
  redactMessage,
  redactText,
  SPLITS,
  splitOf,
  thumbsOf,
} from "../src/core/dataset.js";

describe("splitOf", () => {
  it("is pinned: the same ids land in the same splits on every machine", () => {
    // Computed once from SHA-256("switchyard:<id>"); a change here re-deals every user's dataset.
    const ids = ["ses-1", "ses-2", "ses-3", "ses-4", "ses-5", "ses-6", "ses-7", "ses-8"];
    expect(ids.map((id) => splitOf(id, [0.8, 0.1, 0.1], "switchyard"))).toMatchInlineSnapshot(`
      [
        "train",
        "train",
        "train",
        "train",
        "train",
        "validation",
        "train",
        "train",
      ]
    `);
  });

  it("holds the ratios within 1 point on 100 000 conversations", () => {
    for (const ratios of [
      [0.8, 0.1, 0.1],
      [0.5, 0.25, 0.25],
      [0.9, 0.05, 0.05],
    ] as Array<[number, number, number]>) {
      const counts = { train: 0, validation: 0, test: 0 };
      for (let i = 0; i < 100_000; i++) counts[splitOf(`conversation-${i}`, ratios, "switchyard")]++;
      SPLITS.forEach((s, k) => {
        expect(Math.abs(counts[s] / 100_000 - (ratios[k] as number)), `${s} of ${ratios}`).toBeLessThan(0.01);
      });
    }
  });

  it("gives a zero-share split nothing", () => {
    fc.assert(
      fc.property(
        fc.string(),
        (id) => splitOf(id, [1, 0, 0], "s") === "train" && splitOf(id, [0, 0, 1], "s") === "test",
      ),
    );
  });
});

describe("parseSplitRatios", () => {
  it("accepts percentages or fractions and normalises them", () => {
    expect(parseSplitRatios("80/10/10")).toEqual([0.8, 0.1, 0.1]);
    expect(parseSplitRatios("0.9,0.05,0.05")).toEqual([0.9, 0.05, 0.05]);
    expect(parseSplitRatios("1:1:2")).toEqual([0.25, 0.25, 0.5]);
  });
  it("refuses anything else", () => {
    for (const bad of ["80/20", "a/b/c", "-1/1/1", "0/0/0", "80//10", ""]) {
      expect(() => parseSplitRatios(bad), bad).toThrow();
    }
  });
});

describe("redactText", () => {
  it("replaces e-mail addresses and phone numbers, and leaves other numbers alone", () => {
    expect(redactText("write to jane.doe+work@mail.example.co.uk today")).toBe("write to [EMAIL] today");
    expect(redactText("call +44 20 7946 0958 or (415) 555-0100.")).toBe("call [PHONE] or [PHONE].");
    expect(redactText("ring 415.555.0100 or +14155550100")).toBe("ring [PHONE] or [PHONE]");
    for (const kept of [
      "order 12345, in 2026, costs 1,299.00",
      "on 2026-11-23 or 23.11.2026",
      "host 192.168.10.200",
      "at 1732550400000 ms",
      "invoice 4155550100",
    ]) {
      expect(redactText(kept)).toBe(kept);
    }
  });

  it("redacts tool-call arguments too", () => {
    const m = redactMessage({
      role: "assistant",
      content: null,
      tool_calls: [{ id: "c", type: "function", function: { name: "email", arguments: '{"to":"a@b.io"}' } }],
    });
    expect(m.tool_calls).toEqual([
      { id: "c", type: "function", function: { name: "email", arguments: '{"to":"[EMAIL]"}' } },
    ]);
  });
});

describe("feedback filters", () => {
  const turn = (feedback: Partial<typeof NO_FEEDBACK>): RatedTurn => ({
    conversationId: "c",
    requestId: "r",
    createdAt: 1000,
    route: "chat",
    variant: "a",
    model: "m",
    prompt: [],
    answer: { role: "assistant", content: "x" },
    feedback: { ...NO_FEEDBACK, ...feedback },
  });

  it("counts a split vote as neither up nor down", () => {
    expect(thumbsOf({ ...NO_FEEDBACK, ups: 2, downs: 1 })).toBeNull();
    expect(passesFilter(turn({ ups: 1, downs: 1 }), { feedback: ["thumbs:up"] })).toBe(false);
    expect(passesFilter(turn({ ups: 1, downs: 1 }), { feedback: ["thumbs"] })).toBe(true);
  });

  it("applies every part: time range end-exclusive, route, stars, tags", () => {
    expect(passesFilter(turn({}), { from: 1000, to: 1001 })).toBe(true);
    expect(passesFilter(turn({}), { to: 1000 })).toBe(false);
    expect(passesFilter(turn({}), { routes: ["other"] })).toBe(false);
    expect(passesFilter(turn({ stars: 3.5 }), { minStars: 4 })).toBe(false);
    expect(passesFilter(turn({ stars: 4 }), { minStars: 4 })).toBe(true);
    expect(passesFilter(turn({ tags: ["a", "b"] }), { tags: ["b", "z"] })).toBe(true);
    expect(passesFilter(turn({}), { tags: ["b"] })).toBe(false);
  });
});

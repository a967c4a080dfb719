/**
 * The similarity scores a shadow test stores, pinned against published values
 * (the ROUGE-L paper's own example, sacreBLEU's test vectors and documentation)
 * and hand arithmetic, plus the properties every comparison relies on.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chrF, lcsWindow, ROUGE_L_MAX_CELLS, rougeL, tokenize } from "../src/core/similarity.js";

describe("tokenize", () => {
  it("lowercases and keeps words of letters and digits, dropping punctuation", () => {
    expect(tokenize("Hello, World! It's 2024 — v2.0?")).toEqual(["hello", "world", "it", "s", "2024", "v2", "0"]);
  });

  it("lowercases without the machine's locale (no Turkish dotless i)", () => {
    expect(tokenize("TITLE İstanbul")).toEqual(["title", "i\u0307stanbul"]);
  });

  it("splits Chinese and Japanese into single characters, keeps Korean words whole", () => {
    expect(tokenize("我爱北京。")).toEqual(["我", "爱", "北", "京"]);
    expect(tokenize("コーヒーが好き")).toEqual(["コ", "ー", "ヒ", "ー", "が", "好", "き"]);
    expect(tokenize("GPT模型v4")).toEqual(["gpt", "模", "型", "v4"]);
    expect(tokenize("안녕하세요 세계")).toEqual(["안녕하세요", "세계"]);
  });

  it("keeps combining marks inside their word, and composed and decomposed forms alike", () => {
    expect(tokenize("हिन्दी भाषा")).toEqual(["हिन्दी", "भाषा"]);
    expect(tokenize("cafe\u0301")).toEqual(tokenize("café"));
  });

  it("gives nothing for text without letters or digits", () => {
    expect(tokenize("")).toEqual([]);
    expect(tokenize(" ...!? — ")).toEqual([]);
  });
});

describe("rougeL", () => {
  it("matches the worked example in Lin (2004), section 3.1", () => {
    // Lin 2004: with S1 = "police killed the gunman" as reference and β = 1,
    // S2 = "police kill the gunman" has LCS "police the gunman" (3 of 4 words each side):
    // ROUGE-L = 3/4 = 0.75; S3 = "the gunman kill police" has LCS "the gunman": 2/4 = 0.5.
    // The paper uses the example to show that ROUGE-L, unlike ROUGE-2, ranks S2 above S3.
    const s1 = "police killed the gunman";
    expect(rougeL(s1, "police kill the gunman")).toEqual({ precision: 0.75, recall: 0.75, f: 0.75, truncated: false });
    expect(rougeL(s1, "the gunman kill police")).toEqual({ precision: 0.5, recall: 0.5, f: 0.5, truncated: false });
  });

  it("matches Google's rouge-score tests for a non-consecutive match", () => {
    // google-research/google-research rouge/rouge_scorer_test.py, testRougeLNonConsecutive:
    // target "testing one two", prediction "testing two" → P = 1, R = 2/3, F = 4/5.
    const r = rougeL("testing one two", "testing two");
    expect(r.precision).toBeCloseTo(1, 12);
    expect(r.recall).toBeCloseTo(2 / 3, 12);
    expect(r.f).toBeCloseTo(4 / 5, 12);
  });

  it("ignores case and punctuation, and compares CJK text character by character", () => {
    expect(rougeL("Police killed the gunman.", "POLICE, killed the gunman!").f).toBe(1);
    // LCS of 我/爱/北/京 and 我/爱/上/海 is 我爱: P = R = 2/4.
    expect(rougeL("我爱北京", "我爱上海").f).toBe(0.5);
  });

  it("scores two empty answers 1 and one empty answer 0", () => {
    expect(rougeL("", "").f).toBe(1);
    expect(rougeL("...", "  ").f).toBe(1);
    expect(rougeL("", "something").f).toBe(0);
    expect(rougeL("something", "").f).toBe(0);
  });

  it("is symmetric in F, bounded to [0, 1], and 1 for identical texts", () => {
    // Random strings rarely share a word, so most cases are drawn from a small mixed vocabulary.
    const vocabulary = ["the", "The", "cat", "sat", "猫", "が", "Über", "über", "2024", "!", "—"];
    const text = fc.oneof(
      fc.array(fc.constantFrom(...vocabulary), { maxLength: 30 }).map((w) => w.join(" ")),
      fc.string({ unit: "grapheme" }),
    );
    fc.assert(
      fc.property(text, text, (a, b) => {
        const ab = rougeL(a, b);
        const ba = rougeL(b, a);
        expect(ab.f).toBeCloseTo(ba.f, 12);
        expect(ab.precision).toBeCloseTo(ba.recall, 12);
        for (const v of [ab.precision, ab.recall, ab.f]) {
          expect(v).toBeGreaterThanOrEqual(0);
          expect(v).toBeLessThanOrEqual(1);
        }
        expect(rougeL(a, a).f).toBe(1);
      }),
    );
  });

  it("scores 0 for texts with no word in common", () => {
    const words = (letters: string) =>
      fc.array(fc.string({ unit: fc.constantFrom(...letters), minLength: 1, maxLength: 6 }), {
        minLength: 1,
        maxLength: 20,
      });
    fc.assert(
      fc.property(words("abc"), words("xyz"), (a, b) => {
        expect(rougeL(a.join(" "), b.join(" ")).f).toBe(0);
      }),
    );
  });

  it("truncates long pairs to stay within the cell cap and says so", () => {
    const long = Array.from({ length: 20_000 }, (_, i) => `w${i % 97}`).join(" ");
    const r = rougeL(long, long);
    expect(r.truncated).toBe(true);
    // Both sides are cut to the same ⌊√cap⌋ = 5 000 tokens, and the identical prefixes still match fully.
    expect(r.f).toBe(1);
    expect(rougeL("a b c", "a b c").truncated).toBe(false);
  });

  it("scores a truncated pair as the leading tokens that fit", () => {
    // Cap 6: reference of 2 tokens is kept whole, candidate cut to ⌊6/2⌋ = 3 tokens "a x y".
    const r = rougeL("a b", "a x y b", { maxCells: 6 });
    expect(r).toEqual({ precision: 1 / 3, recall: 1 / 2, f: 0.4, truncated: true });
    expect(rougeL("a b", "a x y", { maxCells: 6 })).toEqual({ ...r, truncated: false });
  });

  it("never lets the LCS table exceed the cap, and uses the whole text when it fits", () => {
    fc.assert(
      fc.property(fc.nat(100_000), fc.nat(100_000), fc.integer({ min: 1, max: ROUGE_L_MAX_CELLS }), (n, m, cap) => {
        const [a, b] = lcsWindow(n, m, cap);
        expect(a * b).toBeLessThanOrEqual(cap);
        expect(a).toBeLessThanOrEqual(n);
        expect(b).toBeLessThanOrEqual(m);
        if (n * m <= cap) expect([a, b]).toEqual([n, m]);
        else expect(a >= 1 && b >= 1).toBe(true);
        expect(lcsWindow(m, n, cap)).toEqual([b, a]);
      }),
    );
  });

  it("rejects a cap below one cell", () => {
    expect(() => rougeL("a b", "c d", { maxCells: 0 })).toThrow(/maxCells/);
  });
});

describe("chrF", () => {
  it("matches sacreBLEU's own test vectors (effective-order mode, β = 3)", () => {
    // sacrebleu test/test_chrf.py, test_cases_effective_order (scores there are 0–100):
    // ("a", "a") → 100, ("a b c", "a b c") → 100, ("a b c", "abc") → 100, ("aa", "ab") → 25.
    expect(chrF("a", "a", { beta: 3 })).toBe(1);
    expect(chrF("a b c", "a b c", { beta: 3 })).toBe(1);
    expect(chrF("abc", "a b c", { beta: 3 })).toBe(1);
    // By hand, reference "ab", candidate "aa": order 1: 1 match of 2 → P = R = 1/2; order 2:
    // "aa" vs "ab", P = R = 0; orders 3–6 have no n-grams and do not count. Averages
    // P = R = 1/4, so F = (1+9)·(1/16) / (9/4 + 1/4) = 0.25.
    expect(chrF("ab", "aa", { beta: 3 })).toBeCloseTo(0.25, 12);
  });

  it("matches the score documented for sacreBLEU's defaults (n = 6, β = 2)", () => {
    // Hugging Face metric card for chrF (a wrapper of sacreBLEU's CHRF with its defaults):
    // prediction "The relationship between Obama and Netanyahu is not exactly friendly.",
    // reference "The ties between Obama and Netanyahu are not particularly friendly." → 61.576379378113785.
    const score = chrF(
      "The ties between Obama and Netanyahu are not particularly friendly.",
      "The relationship between Obama and Netanyahu is not exactly friendly.",
    );
    expect(score).toBeCloseTo(0.6157637937811379, 12);
  });

  it("matches hand-computed short pairs, in both directions (β = 2 weighs recall)", () => {
    // Reference "abc", candidate "ab": order 1: 2 matches, P = 2/2, R = 2/3; order 2: "ab"
    // matches once, P = 1/1, R = 1/2; order 3 does not fit the candidate. P = 1, R = 7/12,
    // F = 5·(7/12) / (4 + 7/12) = 35/55 = 7/11.
    expect(chrF("abc", "ab")).toBeCloseTo(7 / 11, 12);
    // Swapped: P = (2/3 + 1/2)/2 = 7/12, R = 1, F = 5·(7/12) / (4·7/12 + 1) = 35/40 = 0.875.
    expect(chrF("ab", "abc")).toBeCloseTo(0.875, 12);
  });

  it("agrees with sacreBLEU on CJK text, whitespace and characters outside the BMP", () => {
    // Computed with sacreBLEU's CHRF() (the mjpost/sacrebleu source at commit f615c72, run locally).
    expect(chrF("猫が好きです。", "猫は好きではない。")).toBeCloseTo(0.1955951881172284, 12);
    expect(chrF("Paris is the capital of France.", "The capital of France is Paris.")).toBeCloseTo(
      0.7424971405406189,
      12,
    );
    expect(chrF("Paris is the capital of France.", "The capital of France is Paris.", { n: 3, beta: 1 })).toBeCloseTo(
      0.8505128205128204,
      12,
    );
    // The cat emoji is one code point (two UTF-16 units) and counts as one character, as in Python.
    expect(chrF("I like 🐈 cats", "I like 🐈🐈 cats")).toBeCloseTo(0.6972200442083637, 12);
    // Python's whitespace, not JavaScript's: U+001C and U+0085 are removed too.
    expect(chrF("x\x1cy\x85z", "xyz")).toBe(1);
  });

  it("is case-sensitive, as sacreBLEU is by default", () => {
    expect(chrF("Hello", "hello")).toBeLessThan(1);
  });

  it("scores two empty answers 1 and one empty answer 0", () => {
    expect(chrF("", "")).toBe(1);
    expect(chrF(" \n\t", "")).toBe(1);
    expect(chrF("", "reference")).toBe(0);
    expect(chrF("reference", "")).toBe(0);
  });

  it("is bounded to [0, 1], and 1 for identical texts", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
        const s = chrF(a, b);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1 + 1e-12);
        expect(chrF(a, a)).toBeCloseTo(1, 12);
      }),
    );
  });

  it("scores 0 for texts with no character in common", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom("a", "b", "c", " "), minLength: 1 }),
        fc.string({ unit: fc.constantFrom("x", "y", "z", " "), minLength: 1 }),
        (a, b) => {
          const s = chrF(a, b);
          // All-whitespace texts are empty: 1 when both are, 0 when one is.
          const emptyA = a.trim() === "";
          const emptyB = b.trim() === "";
          expect(s).toBe(emptyA && emptyB ? 1 : 0);
        },
      ),
    );
  });

  it("rejects nonsensical options with a message naming them", () => {
    expect(() => chrF("a", "a", { n: 0 })).toThrow(/n must be/);
    expect(() => chrF("a", "a", { beta: -1 })).toThrow(/beta must be/);
  });
});

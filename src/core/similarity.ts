/**
 * Surface similarity between two answers to the same request, for shadow tests:
 * the primary model's answer is the reference, the candidate model's answer is
 * scored against it. Two classic reference-based metrics, both on a 0–1 scale:
 *
 * - ROUGE-L (Lin 2004, "ROUGE: A Package for Automatic Evaluation of
 *   Summaries"): longest common subsequence of word tokens, so it rewards the
 *   same words in the same order without requiring them to be adjacent.
 * - chrF (Popović 2015, "chrF: character n-gram F-score for automatic MT
 *   evaluation"), computed as sacreBLEU's default does: robust to inflection
 *   and to languages written without spaces.
 *
 * Neither says which answer is better, only how far the candidate strays from
 * the primary; the judge model (judge.ts) is for "better".
 */

/**
 * Han, Hiragana and Katakana by Script_Extensions (so that marks shared by both
 * kana, such as the prolonged sound mark ー, count too). Chinese and Japanese
 * put no spaces between words, so each such character is its own token; a run
 * of them as one "word" would make a whole sentence one token. Hangul is not
 * here: Korean separates its words with spaces.
 */
const CJK = String.raw`[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}]`;
const WORD_CHAR = String.raw`[\p{L}\p{N}]`;
/**
 * A CJK letter alone, or a run of other letters and digits. Combining marks
 * (\p{M}) continue a token: without them Devanagari, Thai or decomposed Latin
 * ("e" + U+0301) would be cut apart at every vowel sign or accent.
 */
const TOKEN = new RegExp(`(?=${WORD_CHAR})${CJK}\\p{M}*|(?:(?!${CJK})${WORD_CHAR}\\p{M}*)+`, "gu");

/**
 * Word tokens for ROUGE-L: NFC-normalised and lowercased (toLowerCase uses
 * Unicode's default case mapping, not the machine's locale, so every server
 * agrees), split into runs of letters and digits; punctuation and symbols are
 * dropped; each Chinese or Japanese character is a token of its own.
 *
 * Known limit: Thai, Lao, Khmer and Burmese also write without spaces but are
 * not split by character (their vowel signs are combining marks); a phrase in
 * them is one token, which makes ROUGE-L coarse there — chrF is the better
 * signal for those languages.
 *
 * @example tokenize("Hello, World! 你好") // ["hello", "world", "你", "好"]
 */
export function tokenize(text: string): string[] {
  return text.normalize("NFC").toLowerCase().match(TOKEN) ?? [];
}

/**
 * The most LCS table cells ROUGE-L will fill for one pair (25 million: two
 * answers of 5 000 tokens each, a few tens of milliseconds). Longer pairs are
 * truncated to fit; see {@link lcsWindow}.
 */
export const ROUGE_L_MAX_CELLS = 25_000_000;

export interface RougeL {
  /** LCS length over the candidate's token count. */
  precision: number;
  /** LCS length over the reference's token count. */
  recall: number;
  /** F with β = 1, the harmonic mean of precision and recall. */
  f: number;
  /**
   * True when the token lists were cut to stay within the cell cap: the scores
   * then describe the leading parts of the two texts only.
   */
  truncated: boolean;
}

/**
 * How many leading tokens of each side the LCS may use so that the table stays
 * within `maxCells` cells. Pairs within the cap are untouched. Otherwise a side
 * no longer than ⌊√maxCells⌋ is kept whole and the other side gets the rest of the
 * budget; when both are longer, each keeps ⌊√maxCells⌋. The rule treats both
 * sides alike, so swapping reference and candidate swaps the lengths and ROUGE-L
 * F stays symmetric even when truncated.
 */
export function lcsWindow(n: number, m: number, maxCells: number = ROUGE_L_MAX_CELLS): [number, number] {
  if (!Number.isFinite(maxCells) || maxCells < 1)
    throw new RangeError(`ROUGE-L: maxCells must be at least 1, got ${maxCells}`);
  if (n * m <= maxCells) return [n, m];
  const side = Math.max(1, Math.floor(Math.sqrt(maxCells)));
  if (n <= side) return [n, Math.min(m, Math.floor(maxCells / n))];
  if (m <= side) return [Math.min(n, Math.floor(maxCells / m)), m];
  return [side, side];
}

/**
 * ROUGE-L (Lin 2004, section 3.1) over {@link tokenize}d words: with LCS the
 * longest common subsequence, recall = LCS/|reference|, precision =
 * LCS/|candidate| and F = (1+β²)·P·R / (R + β²·P) with β = 1 — the harmonic
 * mean, which is symmetric in the two texts. (Lin's DUC runs used a very large
 * β, i.e. recall alone; β = 1 is what most current tooling reports.)
 *
 * Two empty texts are the same answer (F = 1); an empty text against a
 * non-empty one shares nothing (F = 0). "Empty" means no word tokens, so an
 * answer of only punctuation counts as empty.
 *
 * Work is O(n·m) time and O(min(n, m)) memory, and n·m is capped at
 * `maxCells` (default {@link ROUGE_L_MAX_CELLS}) by truncating per
 * {@link lcsWindow}; `truncated` says when that happened.
 */
export function rougeL(reference: string, candidate: string, opts: { maxCells?: number } = {}): RougeL {
  const ref = tokenize(reference);
  const cand = tokenize(candidate);
  if (ref.length === 0 && cand.length === 0) return { precision: 1, recall: 1, f: 1, truncated: false };
  if (ref.length === 0 || cand.length === 0) return { precision: 0, recall: 0, f: 0, truncated: false };

  const [n, m] = lcsWindow(ref.length, cand.length, opts.maxCells ?? ROUGE_L_MAX_CELLS);
  const truncated = n < ref.length || m < cand.length;
  const lcs = lcsLength(ref.slice(0, n), cand.slice(0, m));
  const precision = lcs / m;
  const recall = lcs / n;
  const f = lcs === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f, truncated };
}

/** Length of the longest common subsequence, keeping only two rows of the table. */
function lcsLength(a: string[], b: string[]): number {
  // Rows run along the shorter list, which is what bounds memory by min(n, m).
  const [outer, inner] = a.length >= b.length ? [a, b] : [b, a];
  // Comparing small integers in the inner loop is much cheaper than comparing strings.
  const ids = new Map<string, number>();
  const idOf = (t: string): number => {
    let id = ids.get(t);
    if (id === undefined) {
      id = ids.size;
      ids.set(t, id);
    }
    return id;
  };
  const innerIds = Int32Array.from(inner, idOf);
  let prev = new Uint32Array(inner.length + 1);
  let curr = new Uint32Array(inner.length + 1);
  for (const token of outer) {
    const x = idOf(token);
    for (let j = 1; j <= innerIds.length; j++) {
      if (innerIds[j - 1] === x) curr[j] = (prev[j - 1] as number) + 1;
      else curr[j] = Math.max(prev[j] as number, curr[j - 1] as number);
    }
    [prev, curr] = [curr, prev];
  }
  return prev[inner.length] as number;
}

/**
 * What sacreBLEU strips before extracting character n-grams: Python's
 * `"".join(line.split())`, i.e. every character for which Python's
 * str.isspace() holds. Spelled out because JavaScript's \s is a different set
 * (it has U+FEFF, lacks U+001C–U+001F and U+0085).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+001C–U+001F are whitespace to Python, so sacreBLEU strips them.
const PY_WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/gu;

/**
 * chrF (Popović 2015) exactly as sacreBLEU 2.x computes a sentence score with
 * its defaults (CHRF(char_order=6, word_order=0, beta=2, lowercase=False,
 * whitespace=False, eps_smoothing=False)), divided by 100:
 *
 * 1. remove all whitespace from both texts; case is kept;
 * 2. for each order k = 1..n, count the character k-grams of each text (by
 *    Unicode code point, as Python indexes strings) and the matches, a k-gram
 *    matching min(count in candidate, count in reference) times;
 * 3. average precision (matches / candidate k-grams) and recall (matches /
 *    reference k-grams) over the "effective" orders only — those where both
 *    texts have at least one k-gram, so short texts are not punished for
 *    orders they cannot have;
 * 4. chrF = (1+β²)·P·R / (β²·P + R); 0 when P + R = 0.
 *
 * β = 2 weighs recall twice as much as precision, so the score is not
 * symmetric: swapping the texts changes it. Two empty texts (after removing
 * whitespace) score 1, where sacreBLEU says 0, because two empty answers are
 * the same answer; one empty text scores 0.
 */
export function chrF(reference: string, candidate: string, opts: { n?: number; beta?: number } = {}): number {
  const order = opts.n ?? 6;
  const beta = opts.beta ?? 2;
  if (!Number.isInteger(order) || order < 1) throw new RangeError(`chrF: n must be a positive integer, got ${order}`);
  if (!Number.isFinite(beta) || beta <= 0) throw new RangeError(`chrF: beta must be a positive number, got ${beta}`);

  const ref = Array.from(reference.replace(PY_WHITESPACE, ""));
  const hyp = Array.from(candidate.replace(PY_WHITESPACE, ""));
  if (ref.length === 0 && hyp.length === 0) return 1;
  if (ref.length === 0 || hyp.length === 0) return 0;

  let precisionSum = 0;
  let recallSum = 0;
  let effectiveOrders = 0;
  for (let k = 1; k <= order; k++) {
    const refTotal = ref.length - k + 1;
    const hypTotal = hyp.length - k + 1;
    if (refTotal <= 0 || hypTotal <= 0) break; // longer orders cannot fit either
    const refCounts = charNgrams(ref, k);
    let matches = 0;
    for (const [gram, count] of charNgrams(hyp, k)) {
      const inRef = refCounts.get(gram);
      if (inRef !== undefined) matches += Math.min(count, inRef);
    }
    precisionSum += matches / hypTotal;
    recallSum += matches / refTotal;
    effectiveOrders++;
  }
  const precision = precisionSum / effectiveOrders;
  const recall = recallSum / effectiveOrders;
  if (precision + recall === 0) return 0;
  const b2 = beta * beta;
  return ((1 + b2) * precision * recall) / (b2 * precision + recall);
}

function charNgrams(chars: string[], k: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + k <= chars.length; i++) {
    const gram = k === 1 ? (chars[i] as string) : chars.slice(i, i + k).join("");
    counts.set(gram, (counts.get(gram) ?? 0) + 1);
  }
  return counts;
}

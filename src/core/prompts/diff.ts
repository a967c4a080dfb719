/**
 * A line diff of two texts (the longest common subsequence of lines), as
 * unified-diff hunks with `context` lines around each change. Prompts are
 * small, so the O(n·m) table is cheap; past MAX_CELLS it falls back to
 * "everything removed, everything added" rather than use unbounded memory.
 */
export interface DiffLine {
  op: " " | "-" | "+";
  text: string;
}

const MAX_CELLS = 4_000_000;

export function diffLines(a: string, b: string): DiffLine[] {
  const x = a.split("\n");
  const y = b.split("\n");
  if (x.length * y.length > MAX_CELLS) {
    return [...x.map((text) => ({ op: "-" as const, text })), ...y.map((text) => ({ op: "+" as const, text }))];
  }
  const n = x.length;
  const m = y.length;
  // lcs[i][j]: the LCS length of x[i..] and y[j..].
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    const row = lcs[i] as Uint32Array;
    const next = lcs[i + 1] as Uint32Array;
    for (let j = m - 1; j >= 0; j--) {
      row[j] = x[i] === y[j] ? (next[j + 1] as number) + 1 : Math.max(next[j] as number, row[j + 1] as number);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push({ op: " ", text: x[i] as string });
      i++;
      j++;
    } else if ((lcs[i + 1]?.[j] as number) >= (lcs[i]?.[j + 1] as number)) {
      out.push({ op: "-", text: x[i++] as string });
    } else {
      out.push({ op: "+", text: y[j++] as string });
    }
  }
  while (i < n) out.push({ op: "-", text: x[i++] as string });
  while (j < m) out.push({ op: "+", text: y[j++] as string });
  return out;
}

/** The diff as unified-diff text (`--- a`, `+++ b`, `@@` hunks); empty when the texts are equal. */
export function unifiedDiff(a: string, b: string, labels: { from: string; to: string }, context = 3): string {
  const lines = diffLines(a, b);
  if (lines.every((l) => l.op === " ")) return "";
  const out = [`--- ${labels.from}`, `+++ ${labels.to}`];
  // Old and new line numbers (1-based) at each diff line.
  const pos: { a: number; b: number }[] = [];
  let na = 1;
  let nb = 1;
  for (const l of lines) {
    pos.push({ a: na, b: nb });
    if (l.op !== "+") na++;
    if (l.op !== "-") nb++;
  }
  let k = 0;
  while (k < lines.length) {
    if (lines[k]?.op === " ") {
      k++;
      continue;
    }
    const start = Math.max(0, k - context);
    let end = k;
    // Extend the hunk while the next change is within 2 × context lines.
    for (;;) {
      while (end < lines.length && lines[end]?.op !== " ") end++;
      let gap = end;
      while (gap < lines.length && lines[gap]?.op === " ") gap++;
      if (gap < lines.length && gap - end <= 2 * context) end = gap;
      else break;
    }
    const stop = Math.min(lines.length, end + context);
    const hunk = lines.slice(start, stop);
    const first = pos[start] as { a: number; b: number };
    const aLen = hunk.filter((l) => l.op !== "+").length;
    const bLen = hunk.filter((l) => l.op !== "-").length;
    out.push(`@@ -${first.a},${aLen} +${first.b},${bLen} @@`);
    for (const l of hunk) out.push(`${l.op}${l.text}`);
    k = stop;
  }
  return `${out.join("\n")}\n`;
}

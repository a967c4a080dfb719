/**
 * Turns config text into a validated `Config`, or a `ConfigError` whose lines
 * each name the key path, the line in the file, what was expected and what was
 * found. Pure: the caller reads the file and passes the environment.
 */
import { type Document, isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { z } from "zod";
import { type Config, configSchema } from "./schema.js";

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source} is not a valid Switchyard config:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Replaces `${NAME}` and `${NAME:-default}` in string values. An unset variable
 * without a default is a problem to report, not an empty string to run with.
 * `$${...}` escapes a literal `${...}`.
 */
export function interpolateEnv(
  value: unknown,
  env: Record<string, string | undefined>,
  path: string[],
  problems: string[],
): unknown {
  if (typeof value === "string") {
    return value.replace(/(\$?)\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (whole, escaped, name, def) => {
      if (escaped) return whole.slice(1);
      const v = env[name];
      if (v !== undefined && v !== "") return v;
      if (def !== undefined) return def;
      problems.push(
        `${path.join(".") || "(root)"}: environment variable ${name} is not set (write \${${name}:-default} to give a default)`,
      );
      return "";
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...path, String(i)], problems));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolateEnv(v, env, [...path, k], problems)]),
    );
  }
  return value;
}

export function parseConfig(text: string, source: string, env: Record<string, string | undefined>): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) {
    // The first YAML error is the real one; the rest are usually its echoes.
    const first = doc.errors[0] as (typeof doc.errors)[number];
    const lineNo = first.linePos?.[0].line;
    const line = lineNo ? (text.split("\n")[lineNo - 1] ?? "") : "";
    const hint = line.includes("${") ? ' (inside { } or [ ], quote a value that uses ${VAR}: "${VAR}")' : "";
    throw new ConfigError(source, [`${first.message.split("\n")[0]}${hint}`]);
  }
  const raw = doc.toJS() ?? {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(source, ["the file must be a YAML mapping (key: value pairs) at the top level"]);
  }
  const problems: string[] = [];
  const interpolated = interpolateEnv(raw, env, [], problems);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return validateConfig(interpolated, source, doc, lines);
}

/** Validates an already-parsed object (also used for the generated zero-config). */
export function validateConfig(value: unknown, source: string, doc?: Document, lines?: LineCounter): Config {
  const result = configSchema.safeParse(value);
  if (result.success) return result.data;
  throw new ConfigError(
    source,
    result.error.issues.map((issue) => describeIssue(issue, value, doc, lines)),
  );
}

function describeIssue(issue: z.core.$ZodIssue, value: unknown, doc?: Document, lines?: LineCounter): string {
  const path = issue.path.map(String);
  const where = path.length > 0 ? path.join(".") : "(root)";
  const line = doc && lines ? lineOf(doc, lines, issue.path as (string | number)[]) : undefined;
  const at = line ? ` (line ${line})` : "";
  const found = describeFound(valueAt(value, issue.path as (string | number)[]));
  switch (issue.code) {
    case "invalid_type":
      return `${where}${at}: expected ${issue.expected}, found ${found}`;
    case "unrecognized_keys":
      return `${where}${at}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `'${k}'`).join(", ")} (check the spelling; see the README for the keys this section takes)`;
    case "invalid_value":
      return `${where}${at}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, found ${found}`;
    case "invalid_union":
      return `${where}${at}: ${issue.message}, found ${found}`;
    default:
      return `${where}${at}: ${issue.message}${found === "nothing" ? "" : `, found ${found}`}`;
  }
}

function valueAt(value: unknown, path: (string | number)[]): unknown {
  let cur: unknown = value;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return cur;
}

function describeFound(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v)}`;
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${String(v)}`;
}

/** The 1-based line of the deepest node on `path` that exists in the document. */
function lineOf(doc: Document, lines: LineCounter, path: (string | number)[]): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) break;
      offset = (pair.key as { range?: [number, number, number] }).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof key === "number") {
      node = node.items[key];
      offset = (node as { range?: [number, number, number] } | undefined)?.range?.[0] ?? offset;
    } else break;
  }
  if (offset === undefined) {
    offset = (doc.contents as { range?: [number, number, number] } | null)?.range?.[0];
  }
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

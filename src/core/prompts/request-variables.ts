/**
 * Where a request's prompt variables come from: the chat body's
 * `switchyard_variables` object (taken out before the body goes upstream), or
 * the `x-switchyard-variables` header holding a JSON object (for every API,
 * and for clients that cannot add a body field). When both are given, the
 * body's values win key by key. Values are strings; numbers and booleans are
 * written as text; anything else is a 400 naming the variable.
 */
export const VARIABLES_FIELD = "switchyard_variables";
export const VARIABLES_HEADER = "x-switchyard-variables";
export const VARIABLES_WHERE = `the body's '${VARIABLES_FIELD}' object or the '${VARIABLES_HEADER}' header (a JSON object)`;

export type VariablesOrProblem =
  | { ok: true; values: Record<string, string> }
  | { ok: false; where: string; problem: string };

const NONE: Record<string, string> = Object.freeze({}) as Record<string, string>;

function fromObject(v: unknown, where: string): VariablesOrProblem {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    return {
      ok: false,
      where,
      problem: `expected a JSON object of variable names to strings, got ${Array.isArray(v) ? "an array" : v === null ? "null" : typeof v}`,
    };
  }
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === "string") out[k] = x;
    else if (typeof x === "number" || typeof x === "boolean") out[k] = String(x);
    else
      return {
        ok: false,
        where: `${where}.${k}`,
        problem: `variable '${k}' must be a string, got ${x === null ? "null" : Array.isArray(x) ? "an array" : typeof x}`,
      };
  }
  return { ok: true, values: out };
}

/** The variables of one request, from its raw body and its header value. */
export function requestVariables(body: unknown, header: string | undefined): VariablesOrProblem {
  let fromHeader: Record<string, string> = NONE;
  if (header !== undefined && header !== "") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(header);
    } catch (e) {
      return { ok: false, where: VARIABLES_HEADER, problem: `not JSON: ${(e as Error).message}` };
    }
    const r = fromObject(parsed, VARIABLES_HEADER);
    if (!r.ok) return r;
    fromHeader = r.values;
  }
  const raw =
    body !== null && typeof body === "object" ? (body as Record<string, unknown>)[VARIABLES_FIELD] : undefined;
  if (raw === undefined) return { ok: true, values: fromHeader };
  const r = fromObject(raw, VARIABLES_FIELD);
  if (!r.ok) return r;
  return { ok: true, values: fromHeader === NONE ? r.values : { ...fromHeader, ...r.values } };
}

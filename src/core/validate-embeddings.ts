/**
 * Checks a `POST /v1/embeddings` body enough to route it and to fail early with
 * a message that names the field; fields it does not know pass through to the
 * backend untouched, as for chat.
 */
import { type BodyProblem, checkModel, typeName } from "./validate-chat.js";

/** OpenAI's limit on inputs per call; a larger batch would fail upstream after routing. */
export const MAX_EMBEDDING_INPUTS = 2048;

const isTokenId = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;

/** Returns the first problem found, or undefined when the body is a usable embeddings request. */
export function checkEmbeddingsRequest(body: unknown): BodyProblem | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { path: "(body)", problem: `expected a JSON object, got ${typeName(body)}` };
  }
  const b = body as Record<string, unknown>;
  const modelProblem = checkModel(b.model);
  if (modelProblem) return modelProblem;
  const inputProblem = checkInput(b.input);
  if (inputProblem) return inputProblem;
  if (b.encoding_format !== undefined && b.encoding_format !== "float" && b.encoding_format !== "base64") {
    return {
      path: "encoding_format",
      problem: `expected "float" or "base64", got ${JSON.stringify(b.encoding_format)}`,
    };
  }
  if (b.dimensions !== undefined && !(Number.isInteger(b.dimensions) && (b.dimensions as number) > 0)) {
    return { path: "dimensions", problem: `expected a positive integer, got ${JSON.stringify(b.dimensions)}` };
  }
  if (b.user !== undefined && typeof b.user !== "string") {
    return { path: "user", problem: `expected a string, got ${typeName(b.user)}` };
  }
  return undefined;
}

function checkInput(input: unknown): BodyProblem | undefined {
  const expected = "a string, an array of strings, an array of token ids or an array of such arrays";
  if (input === undefined) return { path: "input", problem: "is required" };
  if (typeof input === "string") return input === "" ? { path: "input", problem: "must not be empty" } : undefined;
  if (!Array.isArray(input)) return { path: "input", problem: `expected ${expected}, got ${typeName(input)}` };
  if (input.length === 0) return { path: "input", problem: "must contain at least one input" };
  if (input.length > MAX_EMBEDDING_INPUTS) {
    return { path: "input", problem: `at most ${MAX_EMBEDDING_INPUTS} inputs per call, got ${input.length}` };
  }
  const first = input[0];
  for (const [i, item] of input.entries()) {
    const at = `input[${i}]`;
    // One kind per batch, as OpenAI requires: strings, token ids, or arrays of token ids.
    if (typeof first === "string") {
      if (typeof item !== "string")
        return { path: at, problem: `expected a string like input[0], got ${typeName(item)}` };
      if (item === "") return { path: at, problem: "must not be empty" };
    } else if (typeof first === "number") {
      if (!isTokenId(item))
        return { path: at, problem: `expected a token id (an integer ≥ 0), got ${JSON.stringify(item)}` };
    } else if (Array.isArray(first)) {
      if (!Array.isArray(item) || item.length === 0)
        return { path: at, problem: "expected a non-empty array of token ids" };
      const bad = item.findIndex((t) => !isTokenId(t));
      if (bad >= 0)
        return {
          path: `${at}[${bad}]`,
          problem: `expected a token id (an integer ≥ 0), got ${JSON.stringify(item[bad])}`,
        };
    } else {
      return { path: at, problem: `expected ${expected}, got ${typeName(item)}` };
    }
  }
  return undefined;
}

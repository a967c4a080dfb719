/**
 * Checks a chat.completions body enough to route it and to fail early with a
 * message that names the field, while letting every field we do not know pass
 * through to the backend untouched. Hand-written rather than a zod schema: it
 * runs on every request and must not copy the body.
 */
export interface BodyProblem {
  path: string;
  problem: string;
}

const ROLES = new Set(["system", "developer", "user", "assistant", "tool", "function"]);

export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** `model` names the route: a non-empty string. */
export function checkModel(model: unknown): BodyProblem | undefined {
  if (typeof model === "string" && model !== "") return undefined;
  return {
    path: "model",
    problem: model === undefined ? "is required" : `expected a non-empty string, got ${typeName(model)}`,
  };
}

/** Returns the first problem found, or undefined when the body is a usable chat request. */
export function checkChatRequest(body: unknown): BodyProblem | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { path: "(body)", problem: `expected a JSON object, got ${typeName(body)}` };
  }
  const b = body as Record<string, unknown>;
  const modelProblem = checkModel(b.model);
  if (modelProblem) return modelProblem;
  if (!Array.isArray(b.messages)) {
    return {
      path: "messages",
      problem: b.messages === undefined ? "is required" : `expected an array, got ${typeName(b.messages)}`,
    };
  }
  if (b.messages.length === 0) return { path: "messages", problem: "must contain at least one message" };
  for (const [i, m] of b.messages.entries()) {
    const p = `messages[${i}]`;
    if (typeof m !== "object" || m === null || Array.isArray(m))
      return { path: p, problem: `expected an object, got ${typeName(m)}` };
    const msg = m as Record<string, unknown>;
    if (typeof msg.role !== "string" || !ROLES.has(msg.role)) {
      return {
        path: `${p}.role`,
        problem: `expected one of ${[...ROLES].join(", ")}, got ${JSON.stringify(msg.role) ?? "nothing"}`,
      };
    }
    const c = msg.content;
    const mayBeEmpty = msg.role === "assistant" && (msg.tool_calls !== undefined || msg.function_call !== undefined);
    if (c === undefined || c === null) {
      if (!mayBeEmpty) return { path: `${p}.content`, problem: "is required" };
    } else if (Array.isArray(c)) {
      for (const [j, part] of c.entries()) {
        if (typeof part !== "object" || part === null || typeof (part as { type?: unknown }).type !== "string") {
          return { path: `${p}.content[${j}]`, problem: "expected an object with a string 'type'" };
        }
      }
    } else if (typeof c !== "string") {
      return { path: `${p}.content`, problem: `expected a string or an array of content parts, got ${typeName(c)}` };
    }
  }
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== "boolean") {
    return { path: "stream", problem: `expected a boolean, got ${typeName(b.stream)}` };
  }
  if (b.user !== undefined && typeof b.user !== "string") {
    return { path: "user", problem: `expected a string, got ${typeName(b.user)}` };
  }
  for (const key of [
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "presence_penalty",
    "frequency_penalty",
  ]) {
    const v = b[key];
    if (v !== undefined && v !== null && (typeof v !== "number" || !Number.isFinite(v))) {
      return { path: key, problem: `expected a number, got ${typeName(v)}` };
    }
  }
  return undefined;
}

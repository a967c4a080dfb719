/**
 * Puts a variant's prompt into a chat request: the prompt version its
 * reference names now (from memory), rendered with the request's variables,
 * before the client's messages. A missing or undeclared variable is a 400
 * naming it and the prompt version; a reference the registry cannot serve is
 * a 503 naming the route, variant and reference.
 */
import type { VariantConfig } from "../core/config/schema.js";
import type { ChatRequest } from "../core/openai-types.js";
import { promptVersionKey } from "../core/prompts/ref.js";
import { VARIABLES_FIELD, VARIABLES_WHERE, type VariablesOrProblem } from "../core/prompts/request-variables.js";
import { errors } from "../errors.js";
import type { PromptRegistry } from "./prompt-registry.js";

export interface Prompted {
  body: ChatRequest;
  /** `NAME@VERSION` that served, for the log; null when the variant has no prompt. */
  promptVersion: string | null;
}

/** The client's body without Switchyard's own variables field (which never goes upstream). */
export function withoutVariablesField(body: ChatRequest): ChatRequest {
  if (!Object.hasOwn(body, VARIABLES_FIELD)) return body;
  const { [VARIABLES_FIELD]: _vars, ...rest } = body as ChatRequest & Record<string, unknown>;
  return rest as ChatRequest;
}

/**
 * The request `variant` sends. `body` has no variables field left (see
 * withoutVariablesField); `variables` were read from the request once.
 */
export function applyPrompt(
  prompts: PromptRegistry,
  route: string,
  variant: VariantConfig,
  body: ChatRequest,
  variables: VariablesOrProblem,
): Prompted {
  if (!variant.prompt) return { body, promptVersion: null };
  const resolved = prompts.resolve(variant.prompt);
  if (typeof resolved === "string") throw errors.promptUnresolved(route, variant.name, variant.prompt, resolved);
  const label = promptVersionKey(resolved.name, resolved.version);
  if (!variables.ok) throw errors.promptVariablesInvalid(variables.where, variables.problem);
  const problem = resolved.prompt.problemWith(variables.values);
  if (problem?.kind === "missing") throw errors.promptVariableMissing(label, problem.variable, VARIABLES_WHERE);
  if (problem?.kind === "unknown") throw errors.promptVariableUnknown(label, problem.variable, problem.declared);
  const messages = resolved.prompt.render(variables.values);
  return { body: { ...body, messages: [...messages, ...body.messages] }, promptVersion: label };
}

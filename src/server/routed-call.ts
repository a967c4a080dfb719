/**
 * The first steps every routed call shares (chat completions, embeddings): its
 * ids, the key, the body check, access to the route, who the user and session
 * are, the serving variant, and the response headers that say so.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { type Unit, unitOf } from "../core/experiment.js";
import { timeOrderedId } from "../core/ids.js";
import { requestVariables, VARIABLES_HEADER, type VariablesOrProblem } from "../core/prompts/request-variables.js";
import type { BodyProblem } from "../core/validate-chat.js";
import { errors, isSwitchyardError } from "../errors.js";
import type { Principal } from "./auth.js";
import type { Gateway } from "./gateway.js";
import { type ResolvedRoute, resolveRoute } from "./resolve-route.js";

export interface RoutedCall<B> {
  /** performance.now() when the request arrived. */
  t0: number;
  createdAt: number;
  requestId: string;
  principal: Principal;
  /** The checked body. */
  body: B;
  /** The client's session, or one made for it when the endpoint keeps conversations. */
  session: string | null;
  sessionFromClient: boolean;
  user: string | null;
  unit: Unit;
  resolved: ResolvedRoute;
  /** Prompt variables the request gave (checked only when its variant has a prompt). */
  variables: VariablesOrProblem;
  /** `NAME@VERSION` of the prompt put into the body; set once the prompt is applied. */
  promptVersion?: string | null;
}

export function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Authenticates, reads the body with `parse` (which throws a 400 naming the
 * field, or translates another API's body, reading the caller's tenant's store
 * if it must), and resolves its route; throws the SwitchyardError to answer
 * (401, 400, 404...) otherwise.
 * `makeSession`: a call without `x-switchyard-session` gets a new one (chat,
 * whose answers are kept as conversations); otherwise it has none.
 */
export async function beginRoutedCall<B extends { model: string; user?: string | undefined }>(
  gw: Gateway,
  req: FastifyRequest,
  reply: FastifyReply,
  parse: (body: unknown, principal: Principal) => B | Promise<B>,
  opts: { makeSession: boolean },
): Promise<RoutedCall<B>> {
  const t0 = performance.now();
  const createdAt = Date.now();
  const requestId = timeOrderedId("req_", createdAt);
  reply.header("x-switchyard-request-id", requestId);

  const principal = await gw.auth.authenticate(req);
  const body = await parse(req.body, principal);
  if (!gw.auth.mayUseRoute(principal, body.model)) throw errors.unknownRoute(body.model);
  // Nothing to count or check for most callers: no await on their path.
  if (gw.budgets.applies(principal) || gw.limits.applies(principal)) await admit(gw, reply, principal);
  const clientSession = header(req, "x-switchyard-session");
  const session = clientSession ?? (opts.makeSession ? timeOrderedId("ses_", createdAt) : null);
  const user = body.user ?? header(req, "x-switchyard-user") ?? null;
  // Without a user or a session of its own, a call is its own unit of assignment.
  const unit = unitOf(user, session ?? requestId, clientSession !== undefined);
  const resolved = resolveRoute(gw, gw.config, body.model, header(req, "x-switchyard-variant"), principal, unit);
  const headers: Record<string, string> = {
    "x-switchyard-request-id": requestId,
    "x-switchyard-route": resolved.name,
    "x-switchyard-variant": resolved.variant.name,
  };
  if (session) headers["x-switchyard-session"] = session;
  if (resolved.experiment) headers["x-switchyard-experiment"] = resolved.experiment.name;
  reply.headers(headers);
  return {
    t0,
    createdAt,
    requestId,
    principal,
    body,
    session,
    sessionFromClient: clientSession !== undefined,
    user,
    unit,
    resolved,
    variables: requestVariables(req.body, header(req, VARIABLES_HEADER)),
  };
}

/**
 * Refuses the call when its key's or tenant's budget is spent, then counts it
 * against its key's rate limits and says where it stands in x-ratelimit-*
 * headers, on a 429 too.
 */
async function admit(gw: Gateway, reply: FastifyReply, principal: Principal): Promise<void> {
  try {
    if (gw.budgets.applies(principal)) await gw.budgets.check(principal);
    if (gw.limits.applies(principal)) reply.headers(await gw.limits.admit(principal));
  } catch (e) {
    const headers = (e as { headers?: Record<string, string> }).headers;
    if (headers) reply.headers(headers);
    if (isSwitchyardError(e)) gw.metrics.rateLimited.inc({ tenant: principal.tenant, code: e.code });
    throw e;
  }
}

/** A `parse` for `beginRoutedCall` from a check that reports the first problem. */
export function checkedBy<B>(check: (body: unknown) => BodyProblem | undefined): (body: unknown) => B {
  return (body) => {
    const problem = check(body);
    if (problem) throw errors.invalidBody(problem.path, problem.problem);
    return body as B;
  };
}

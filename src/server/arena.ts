/**
 * POST /v1/arena: one chat request answered by two variants of a route at
 * once, returned blind (labelled A and B in random order, no variant named).
 * Each answer is logged as its own request (assigned_by "arena", outside any
 * experiment's analysis), so the user's pick is an ordinary preference between
 * the two request ids: POST /v1/feedback with kind "preference" on A's request
 * id, `other_request_id` B's, and pick this / other / tie / both_bad. The
 * response carries that body ready to fill in.
 *
 * Which two variants: `arena.variants` in the body when given (on a route in an
 * experiment, admin keys only, as for x-switchyard-variant); else the
 * experiment's control and its largest other variant; else the route's first
 * two. Answers are not streamed.
 */
import type { FastifyInstance } from "fastify";
import { ChainError, type ChainResult, runChain } from "../backends/chain.js";
import type { RouteConfig, VariantConfig } from "../core/config/schema.js";
import { unitOf } from "../core/experiment.js";
import { timeOrderedId } from "../core/ids.js";
import type { ChatCompletion, ChatRequest } from "../core/openai-types.js";
import { requestVariables, VARIABLES_HEADER } from "../core/prompts/request-variables.js";
import { checkChatRequest } from "../core/validate-chat.js";
import { errors, isSwitchyardError, type SwitchyardError } from "../errors.js";
import { applyPrompt, type Prompted, withoutVariablesField } from "./apply-prompt.js";
import type { Principal } from "./auth.js";
import type { Gateway } from "./gateway.js";
import { type CallOutcome, recordCall } from "./record-call.js";
import { type ResolvedRoute, targetsFor } from "./resolve-route.js";

interface ArenaAnswer {
  label: "A" | "B";
  request_id: string;
  status: number;
  message?: ChatCompletion["choices"][number]["message"];
  finish_reason?: string | null;
  error?: ReturnType<SwitchyardError["toJSON"]>["error"];
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function registerArena(app: FastifyInstance, gw: Gateway): void {
  app.post("/v1/arena", async (req, reply) => {
    const createdAt = Date.now();
    const principal = await gw.auth.authenticate(req);
    const raw = req.body as Record<string, unknown> | undefined;
    const { arena, ...chatBody } = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    const problem = checkChatRequest(chatBody);
    if (problem) throw errors.invalidBody(problem.path, problem.problem);
    const body = chatBody as unknown as ChatRequest;
    if (body.stream === true) throw errors.invalidBody("stream", "arena answers are not streamed; leave stream out");
    if (!gw.auth.mayUseRoute(principal, body.model)) throw errors.unknownRoute(body.model);
    const route = Object.hasOwn(gw.config.routes, body.model) ? gw.config.routes[body.model] : undefined;
    if (!route) throw errors.unknownRoute(body.model);
    const pair = pickPair(gw, principal, body.model, route, arena);
    // Blind: which variant is A is a coin toss.
    if (Math.random() < 0.5) pair.reverse();
    // Each side sends its own variant's prompt; a bad variable fails the arena before either is called.
    const variables = requestVariables(raw, header(req.headers, VARIABLES_HEADER));
    const clientBody = withoutVariablesField(body);
    const prompted = pair.map((v) => applyPrompt(gw.prompts, body.model, v, clientBody, variables));

    const clientSession = header(req.headers, "x-switchyard-session");
    const session = clientSession ?? timeOrderedId("ses_", createdAt);
    const user = body.user ?? header(req.headers, "x-switchyard-user") ?? null;
    const flight = gw.track();
    // A client that leaves cancels both upstream calls (each is still logged, as 499 or as answered).
    const onClientGone = () => {
      if (!reply.raw.writableFinished) flight.cancel.cancel(errors.clientClosed("before the answer"));
    };
    reply.raw.once("close", onClientGone);
    try {
      const answers = await Promise.all(
        pair.map((variant, i) =>
          answerWith(gw, {
            label: i === 0 ? "A" : "B",
            variant,
            route,
            routeName: body.model,
            body: (prompted[i] as Prompted).body,
            promptVersion: (prompted[i] as Prompted).promptVersion,
            principal,
            user,
            session,
            sessionFromClient: clientSession !== undefined,
            cancel: flight.cancel,
          }),
        ),
      );
      const [a, b] = answers as [ArenaAnswer, ArenaAnswer];
      if (a.status !== 200 && b.status !== 200) {
        const first = (a.error ?? b.error) as ArenaAnswer["error"];
        reply.code(a.status);
        return { error: first, answers };
      }
      reply.header("x-switchyard-session", session);
      return {
        object: "arena.comparison",
        route: body.model,
        answers,
        vote: {
          method: "POST",
          path: "/v1/feedback",
          body: {
            request_id: a.request_id,
            kind: "preference",
            value: { other_request_id: b.request_id, pick: "this | other | tie | both_bad" },
          },
        },
      };
    } finally {
      reply.raw.off("close", onClientGone);
      flight.done();
    }
  });
}

function pickPair(
  gw: Gateway,
  principal: Principal,
  routeName: string,
  route: RouteConfig,
  arena: unknown,
): VariantConfig[] {
  const names = route.variants.map((v) => v.name);
  const experiment = gw.experiments.forRoute(routeName);
  const requested = (arena as { variants?: unknown } | undefined)?.variants;
  if (requested !== undefined) {
    if (
      !Array.isArray(requested) ||
      requested.length !== 2 ||
      requested.some((v) => typeof v !== "string") ||
      requested[0] === requested[1]
    ) {
      throw errors.invalidBody("arena.variants", "expected two different variant names");
    }
    if (experiment && experiment.status !== "stopped" && principal.role !== "admin") {
      throw errors.variantOverrideForbidden(routeName, experiment.name);
    }
    return (requested as string[]).map((n) => {
      const v = route.variants.find((x) => x.name === n);
      if (!v) throw errors.unknownVariant(routeName, n, names);
      return v;
    });
  }
  if (experiment && experiment.status !== "stopped") {
    const others = experiment.weights
      .filter((w) => w.variant !== experiment.control)
      .sort((x, y) => y.weight - x.weight)
      .map((w) => w.variant);
    const pair = [experiment.control, others[0]].map((n) => route.variants.find((v) => v.name === n));
    if (pair.every((v) => v !== undefined)) return pair as VariantConfig[];
  }
  if (route.variants.length < 2) {
    throw errors.invalidBody("model", `route '${routeName}' has one variant; an arena needs two to compare`);
  }
  return route.variants.slice(0, 2);
}

async function answerWith(
  gw: Gateway,
  o: {
    label: "A" | "B";
    variant: VariantConfig;
    route: RouteConfig;
    routeName: string;
    body: ChatRequest;
    promptVersion: string | null;
    principal: Principal;
    user: string | null;
    session: string;
    sessionFromClient: boolean;
    cancel: ReturnType<Gateway["track"]>["cancel"];
  },
): Promise<ArenaAnswer> {
  const t0 = performance.now();
  const createdAt = Date.now();
  const requestId = timeOrderedId("req_", createdAt);
  const resolved: ResolvedRoute = {
    name: o.routeName,
    route: o.route,
    variant: o.variant,
    targets: targetsFor(gw, gw.config, [o.variant, ...o.route.fallbacks], o.principal.tenant),
    experiment: null,
    assignedBy: "arena",
  };
  const outcome: CallOutcome = {
    requestId,
    createdAt,
    t0,
    principal: o.principal,
    user: o.user,
    session: o.session,
    unit: unitOf(o.user, o.session, o.sessionFromClient),
    resolved,
    stream: false,
    request: o.body,
    promptVersion: o.promptVersion,
  };
  let chain: ChainResult;
  try {
    chain = await runChain(resolved.targets, o.body, requestId, o.cancel);
  } catch (e) {
    const cause = e instanceof ChainError ? e.last : e;
    const err = isSwitchyardError(cause) ? cause : errors.internal(requestId);
    recordCall(gw, outcome, {
      status: err.status,
      errorCode: err.code,
      errorMessage: err.message,
      failures: e instanceof ChainError ? e.failures : [],
      attempts: e instanceof ChainError ? e.attempts : 0,
    });
    return { label: o.label, request_id: requestId, status: err.status, error: blindError(err, o.principal) };
  }
  if (chain.started.kind !== "json") {
    // A non-streaming request answered by a stream: end it, and say so rather than guess.
    chain.started.finish();
    const err = errors.upstreamProtocol(
      {},
      chain.target.backend.name,
      "answered a non-streaming request with a stream",
    );
    recordCall(gw, outcome, { status: err.status, chain, errorCode: err.code, errorMessage: err.message });
    return { label: o.label, request_id: requestId, status: err.status, error: blindError(err, o.principal) };
  }
  const completion = chain.started.body;
  chain.started.finish();
  const choice = completion.choices[0];
  recordCall(gw, outcome, {
    status: 200,
    chain,
    usage: completion.usage ?? undefined,
    finishReason: choice?.finish_reason ?? null,
    outputText: completion.usage ? undefined : (choice?.message.content ?? ""),
    answer: choice?.message,
  });
  return {
    label: o.label,
    request_id: requestId,
    status: 200,
    ...(choice ? { message: choice.message, finish_reason: choice.finish_reason } : {}),
  };
}

/** Upstream messages name the backend; for anyone but an admin the answer's error stays blind. */
function blindError(err: SwitchyardError, viewer: Principal): ArenaAnswer["error"] {
  const body = err.toJSON().error;
  if (viewer.role === "admin") return body;
  return { ...body, message: `This answer failed (${err.code}); the other one may still be picked` };
}

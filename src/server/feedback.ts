/**
 * POST /v1/feedback and GET /v1/feedback?request_id=…: feedback tied to a
 * logged request (so to its route, variant, backend and model), one per
 * (request, user, kind), answered only once it is committed to the store.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { isBodyProblem, parseFeedback } from "../core/feedback.js";
import { timeOrderedId } from "../core/ids.js";
import { errors } from "../errors.js";
import {
  type FeedbackRow,
  feedbackForRequest,
  findLoggedRequest,
  type LoggedRequest,
  upsertFeedback,
} from "../store/feedback.js";
import type { Principal } from "./auth.js";
import type { Gateway } from "./gateway.js";

export function registerFeedback(app: FastifyInstance, gw: Gateway): void {
  app.post("/v1/feedback", async (req, reply) => {
    const principal = await gw.auth.authenticate(req);
    const input = parseFeedback(req.body);
    if (isBodyProblem(input)) throw errors.invalidBody(input.path, input.problem);
    const request = await requestOf(gw, principal, input.requestId, "request_id");
    const other =
      input.kind === "preference"
        ? await requestOf(gw, principal, input.value.other_request_id, "value.other_request_id")
        : undefined;
    const userHeader = req.headers["x-switchyard-user"];
    const user = input.user ?? (typeof userHeader === "string" ? userHeader : undefined) ?? request.user_id ?? "";
    const { created, row } = await upsertFeedback(gw.db, {
      id: timeOrderedId("fb_"),
      request_id: request.id,
      tenant: principal.tenant,
      user_key: user,
      kind: input.kind,
      value: JSON.stringify(input.value),
      other_request_id: other?.id ?? null,
    });
    return reply.code(created ? 201 : 200).send(present(row, request, principal));
  });

  app.get("/v1/feedback", async (req: FastifyRequest<{ Querystring: { request_id?: string } }>) => {
    const principal = await gw.auth.authenticate(req);
    const id = req.query.request_id;
    if (!id) throw errors.invalidBody("request_id", "give the request id as ?request_id=…");
    const request = await requestOf(gw, principal, id, "request_id");
    const rows = await feedbackForRequest(gw.db, principal.tenant, id);
    return { object: "list", data: rows.map((r) => present(r, request, principal)) };
  });
}

/**
 * The logged request, if it exists and belongs to the caller's tenant (another
 * tenant's request answers exactly like a missing one). Feedback may arrive
 * before the request's row left the log queue: then the queue is flushed first.
 */
async function requestOf(gw: Gateway, p: Principal, id: string, field: string): Promise<LoggedRequest> {
  let row = await findLoggedRequest(gw.db, id);
  if (!row) {
    await gw.recorded();
    await gw.log.flush();
    row = await findLoggedRequest(gw.db, id);
  }
  if (!row || row.tenant !== p.tenant) throw errors.feedbackUnknownRequest(id, field);
  return row;
}

/** An arena answer stays blind to everyone but admins: its variant, backend and model are not shown. */
function present(row: FeedbackRow, request: LoggedRequest, viewer: Principal) {
  const blind = request.assigned_by === "arena" && viewer.role !== "admin";
  return {
    object: "feedback",
    id: row.id,
    request_id: row.request_id,
    kind: row.kind,
    value: JSON.parse(row.value) as unknown,
    user: row.user_key === "" ? null : row.user_key,
    created_at: row.created_at,
    updated_at: row.updated_at,
    request: {
      route: request.route,
      variant: blind ? null : request.variant,
      backend: blind ? null : request.backend,
      model: blind ? null : request.upstream_model,
      prompt_version: blind ? null : request.prompt_version,
      latency_ms: request.latency_ms,
      status: request.status,
    },
  };
}

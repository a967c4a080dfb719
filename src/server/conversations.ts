/**
 * GET /v1/conversations (list, full-text search), /v1/conversations/:id (one,
 * as JSON or Markdown) and /v1/conversations/export (many, JSON or Markdown):
 * the sessions the gateway stored from proxied traffic, within the key's tenant.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { conversationMarkdown } from "../core/conversation.js";
import { errors } from "../errors.js";
import { type Branches, conversationJson, getConversation, listConversations } from "../store/conversations.js";
import type { Gateway } from "./gateway.js";

type Query = Record<string, string | string[] | undefined>;

const LIST_MAX = 200;
const EXPORT_MAX = 1000;

export function registerConversations(app: FastifyInstance, gw: Gateway): void {
  app.get("/v1/conversations", async (req: FastifyRequest<{ Querystring: Query }>) => {
    const principal = await gw.auth.authenticate(req);
    const q = req.query;
    const limit = intParam(q, "limit", 50, 1, LIST_MAX);
    const search = textParam(q, "q");
    const after = cursorParam(q);
    if (search && after) throw errors.invalidQuery("cursor", "search results come in one page; raise limit instead");
    await caughtUp(gw);
    const rows = await listConversations(gw.db, {
      tenant: principal.tenant,
      search,
      user: textParam(q, "user"),
      after,
      limit: limit + 1,
    });
    const last = rows[limit - 1];
    return {
      object: "list",
      data: rows.slice(0, limit).map((r) => ({
        object: "conversation",
        id: r.id,
        title: r.title,
        user: r.user_id,
        route: r.route,
        message_count: r.message_count,
        created_at: r.created_at,
        updated_at: r.updated_at,
        ...(r.snippet !== undefined ? { snippet: r.snippet } : {}),
      })),
      has_more: rows.length > limit,
      ...(rows.length > limit && last && !search ? { next_cursor: encodeCursor(last) } : {}),
    };
  });

  app.get("/v1/conversations/export", async (req: FastifyRequest<{ Querystring: Query }>, reply) => {
    const principal = await gw.auth.authenticate(req);
    const q = req.query;
    const format = formatParam(q);
    const branches = branchesParam(q);
    const ids = listParam(q, "id");
    await caughtUp(gw);
    const wanted =
      ids.length > 0
        ? ids
        : (
            await listConversations(gw.db, {
              tenant: principal.tenant,
              search: textParam(q, "q"),
              user: textParam(q, "user"),
              limit: intParam(q, "limit", 100, 1, EXPORT_MAX),
            })
          ).map((r) => r.id);
    if (wanted.length > EXPORT_MAX) throw errors.invalidQuery("id", `at most ${EXPORT_MAX} ids per export`);
    const found = [];
    for (const id of wanted) {
      const c = await getConversation(gw.db, principal.tenant, id, branches);
      if (!c) throw errors.conversationUnknown(id);
      found.push(c);
    }
    const name = `conversations-${new Date().toISOString().slice(0, 10)}`;
    if (format === "markdown") {
      return sendMarkdown(reply, found.map(conversationMarkdown).join("\n---\n\n"), `${name}.md`);
    }
    void reply.header("content-disposition", `attachment; filename="${name}.json"`);
    return { object: "list", data: found.map(conversationJson) };
  });

  app.get(
    "/v1/conversations/:id",
    async (req: FastifyRequest<{ Params: { id: string }; Querystring: Query }>, reply) => {
      const principal = await gw.auth.authenticate(req);
      const format = formatParam(req.query);
      const branches = branchesParam(req.query);
      await caughtUp(gw);
      const c = await getConversation(gw.db, principal.tenant, req.params.id, branches);
      if (!c) throw errors.conversationUnknown(req.params.id);
      if (format === "markdown") return sendMarkdown(reply, conversationMarkdown(c));
      return conversationJson(c);
    },
  );
}

/** Turns answered a moment ago are still in the log queue: write them before reading. */
async function caughtUp(gw: Gateway): Promise<void> {
  await gw.recorded();
  await gw.log.flush();
}

function sendMarkdown(reply: FastifyReply, text: string, filename?: string): FastifyReply {
  if (filename) void reply.header("content-disposition", `attachment; filename="${filename}"`);
  return reply.type("text/markdown; charset=utf-8").send(text);
}

function single(q: Query, name: string): string | undefined {
  const v = q[name];
  if (Array.isArray(v)) throw errors.invalidQuery(name, "give it once");
  return v;
}

function textParam(q: Query, name: string): string | undefined {
  const v = single(q, name);
  return v === undefined || v.trim() === "" ? undefined : v;
}

function listParam(q: Query, name: string): string[] {
  const v = q[name];
  const all = v === undefined ? [] : Array.isArray(v) ? v : [v];
  return all.flatMap((s) => s.split(",")).filter((s) => s !== "");
}

function optionalInt(q: Query, name: string): number | undefined {
  const v = single(q, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw errors.invalidQuery(name, `expected a whole number, got '${v}'`);
  return Number(v);
}

function intParam(q: Query, name: string, dflt: number, min: number, max: number): number {
  const n = optionalInt(q, name) ?? dflt;
  if (n < min || n > max) throw errors.invalidQuery(name, `expected ${min} to ${max}, got ${n}`);
  return n;
}

/** Opaque to clients: where the previous page ended, in newest-first order. */
function encodeCursor(c: { updated_at: number; id: string }): string {
  return Buffer.from(JSON.stringify([c.updated_at, c.id])).toString("base64url");
}

function cursorParam(q: Query): { updated_at: number; id: string } | undefined {
  const v = single(q, "cursor");
  if (v === undefined) return undefined;
  try {
    const [updatedAt, id] = JSON.parse(Buffer.from(v, "base64url").toString()) as unknown[];
    if (typeof updatedAt === "number" && typeof id === "string") return { updated_at: updatedAt, id };
  } catch {}
  throw errors.invalidQuery("cursor", "not a cursor this server gave (use next_cursor from the previous page)");
}

function formatParam(q: Query): "json" | "markdown" {
  const v = single(q, "format") ?? "json";
  if (v === "json") return "json";
  if (v === "markdown" || v === "md") return "markdown";
  throw errors.invalidQuery("format", `expected json or markdown, got '${v}'`);
}

function branchesParam(q: Query): Branches {
  const v = single(q, "branches") ?? "active";
  if (v === "active" || v === "all") return v;
  throw errors.invalidQuery("branches", `expected active or all, got '${v}'`);
}

/**
 * The API keys admin API (admin keys only), for the caller's own tenant:
 *   GET  /v1/admin/keys              the tenant's keys: id, name, role, prefix, created, revoked
 *   POST /v1/admin/keys              create {role: "app" | "admin", name?}: answers the key itself, once
 *   POST /v1/admin/keys/:id/revoke   revoke (a key already revoked answers as it is)
 * Keys are stored as a hash (store/keys.ts); no answer but the creation's carries
 * the key, and none carries the hash. Another tenant's key id answers 404, like
 * an unknown one. This replica's key cache is refreshed at once; other replicas
 * take a new key within a second and drop a revoked one within their refresh
 * interval (server/auth.ts).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { errors } from "../errors.js";
import { createKey, type KeyRecord, listKeys, revokeKey } from "../store/keys.js";
import type { Principal } from "./auth.js";
import type { Gateway } from "./gateway.js";

const BASE = "/v1/admin/keys";

const createBody = z.strictObject({
  role: z.enum(["app", "admin"], { message: "'app' (chat and feedback) or 'admin' (everything)" }),
  name: z.string().trim().min(1, "a label of 1 to 100 characters").max(100, "at most 100 characters").optional(),
});

function view(k: KeyRecord) {
  return {
    object: "api_key",
    id: k.id,
    name: k.name,
    role: k.role,
    prefix: k.key_prefix,
    created_at: k.created_at,
    revoked_at: k.revoked_at,
  };
}

export function registerKeysAdmin(app: FastifyInstance, gw: Gateway): void {
  const admin = async (req: FastifyRequest): Promise<Principal> => {
    const p = await gw.auth.authenticate(req);
    if (p.role !== "admin") throw errors.forbidden("manage API keys (admin keys only)");
    return p;
  };

  app.get(BASE, async (req) => {
    const p = await admin(req);
    return { object: "list", data: (await listKeys(gw.db, p.tenant)).map(view) };
  });

  app.post(BASE, async (req, reply) => {
    const p = await admin(req);
    const r = createBody.safeParse(req.body ?? undefined);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw errors.invalidBody(issue?.path.join(".") || "(body)", issue?.message ?? "invalid");
    }
    const { key, record } = await createKey(gw.db, { tenant: p.tenant, role: r.data.role, name: r.data.name });
    await gw.keys.refresh();
    return reply.code(201).send({ ...view(record), key });
  });

  app.post(`${BASE}/:id/revoke`, async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const p = await admin(req);
    const { id } = req.params;
    const mine = (await listKeys(gw.db, p.tenant)).find((k) => k.id === id);
    if (!mine) throw errors.keyUnknown(id);
    if (p.keyId === id) throw errors.keyRevokeSelf(id);
    if (mine.revoked_at === null) await revokeKey(gw.db, id);
    await gw.keys.refresh();
    const after = (await listKeys(gw.db, p.tenant)).find((k) => k.id === id) ?? mine;
    return view(after);
  });
}

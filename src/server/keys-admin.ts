/**
 * The API keys admin API (admin keys only), for the caller's own tenant:
 *   GET  /v1/admin/keys              the tenant's keys: id, name, role, prefix, created, revoked
 *   POST /v1/admin/keys              create {role: "app" | "admin", name?, limits?, budget?}: answers the key itself, once
 *   PATCH /v1/admin/keys/:id         set or clear (null) its own {limits: {requests_per_minute, tokens_per_minute}, budget: {usd, period}}
 *   POST /v1/admin/keys/:id/revoke   revoke (a key already revoked answers as it is)
 * A key's own limits and budget replace its tenant's per-key limits and come on
 * top of the tenant's budget; each key in a listing says what it has spent of
 * the budgets that apply to it this period.
 * Keys are stored as a hash (store/keys.ts); no answer but the creation's carries
 * the key, and none carries the hash. Another tenant's key id answers 404, like
 * an unknown one. This replica's key cache is refreshed at once; other replicas
 * take a new key within a second and drop a revoked one within their refresh
 * interval (server/auth.ts).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { errors } from "../errors.js";
import { createKey, type KeyLimits, type KeyRecord, listKeys, revokeKey, setKeyLimits } from "../store/keys.js";
import { parseBody } from "./admin-body.js";
import type { Principal } from "./auth.js";
import type { Gateway } from "./gateway.js";
import { effectiveLimits } from "./rate-limits.js";

const BASE = "/v1/admin/keys";

const perMinute = z.number().int().positive("a whole number above 0").nullable().optional();
const limitsFields = {
  limits: z.strictObject({ requests_per_minute: perMinute, tokens_per_minute: perMinute }).optional(),
  budget: z
    .strictObject({
      usd: z.number().positive("an amount in USD above 0"),
      // Left out: the key's current period when it has a budget, else a month.
      period: z.enum(["day", "week", "month"], { message: "day, week or month (UTC)" }).optional(),
    })
    .nullable()
    .optional(),
};

const createBody = z.strictObject({
  role: z.enum(["app", "admin"], { message: "'app' (chat and feedback) or 'admin' (everything)" }),
  name: z.string().trim().min(1, "a label of 1 to 100 characters").max(100, "at most 100 characters").optional(),
  ...limitsFields,
});
const patchBody = z.strictObject(limitsFields);

function ownLimits(body: z.infer<typeof patchBody>, current?: KeyRecord): KeyLimits {
  const budget =
    body.budget === undefined || body.budget === null
      ? body.budget
      : { usd: body.budget.usd, period: body.budget.period ?? current?.budget_period ?? "month" };
  return {
    ...(body.limits?.requests_per_minute !== undefined ? { requests_per_minute: body.limits.requests_per_minute } : {}),
    ...(body.limits?.tokens_per_minute !== undefined ? { tokens_per_minute: body.limits.tokens_per_minute } : {}),
    ...(budget !== undefined ? { budget } : {}),
  };
}

async function view(gw: Gateway, k: KeyRecord) {
  const standing =
    k.revoked_at === null ? await gw.budgets.standing({ tenant: k.tenant, role: k.role, keyId: k.id, key: k }) : [];
  const limits = effectiveLimits(gw.config, { tenant: k.tenant, role: k.role, keyId: k.id, key: k });
  return {
    object: "api_key",
    id: k.id,
    name: k.name,
    role: k.role,
    prefix: k.key_prefix,
    created_at: k.created_at,
    revoked_at: k.revoked_at,
    // The key's own settings (null: the tenant's apply) and what applies, with this period's spend.
    own: {
      requests_per_minute: k.requests_per_minute,
      tokens_per_minute: k.tokens_per_minute,
      budget: k.budget_usd !== null && k.budget_period ? { usd: k.budget_usd, period: k.budget_period } : null,
    },
    limits: { requests_per_minute: limits.requests ?? null, tokens_per_minute: limits.tokens ?? null },
    budgets: standing.map((b) => ({
      scope: b.scope,
      usd: b.usd,
      period: b.period,
      spent_usd: b.spentUsd,
      resets_at: b.resetsAt,
    })),
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
    const keys = await listKeys(gw.db, p.tenant);
    return { object: "list", data: await Promise.all(keys.map((k) => view(gw, k))) };
  });

  app.post(BASE, async (req, reply) => {
    const p = await admin(req);
    const body = parseBody(createBody, req.body);
    const { key, record } = await createKey(gw.db, {
      tenant: p.tenant,
      role: body.role,
      name: body.name,
      limits: ownLimits(body),
    });
    await gw.keys.refresh();
    return reply.code(201).send({ ...(await view(gw, record)), key });
  });

  app.patch(`${BASE}/:id`, async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const p = await admin(req);
    const { id } = req.params;
    const body = parseBody(patchBody, req.body);
    const mine = (await listKeys(gw.db, p.tenant)).find((k) => k.id === id);
    if (!mine) throw errors.keyUnknown(id);
    await setKeyLimits(gw.db, id, ownLimits(body, mine));
    await gw.keys.refresh();
    const after = (await listKeys(gw.db, p.tenant)).find((k) => k.id === id) ?? mine;
    return view(gw, after);
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
    return view(gw, after);
  });
}

/**
 * API keys: created once and shown once, stored as a sha256 hash. Keys are 32
 * random bytes, so a fast hash is enough (no password stretching needed).
 */
import { createHash, randomBytes } from "node:crypto";
import type { Db } from "./db.js";
import type { ApiKeyTable, BudgetPeriod } from "./schema.js";

export type Role = ApiKeyTable["role"];
export type KeyRecord = Omit<ApiKeyTable, "key_hash">;

/** A key's own limits and budget; null clears one (the tenant's applies again), undefined leaves it. */
export interface KeyLimits {
  requests_per_minute?: number | null;
  tokens_per_minute?: number | null;
  budget?: { usd: number; period: BudgetPeriod } | null;
}

const RECORD_COLUMNS = [
  "id",
  "tenant",
  "role",
  "name",
  "key_prefix",
  "created_at",
  "revoked_at",
  "requests_per_minute",
  "tokens_per_minute",
  "budget_usd",
  "budget_period",
] as const;

function limitColumns(l: KeyLimits): Partial<KeyRecord> {
  const out: Partial<KeyRecord> = {};
  if (l.requests_per_minute !== undefined) out.requests_per_minute = l.requests_per_minute;
  if (l.tokens_per_minute !== undefined) out.tokens_per_minute = l.tokens_per_minute;
  if (l.budget !== undefined) {
    out.budget_usd = l.budget?.usd ?? null;
    out.budget_period = l.budget?.period ?? null;
  }
  return out;
}

const KEY_PREFIX = "sy-";

export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export async function createKey(
  db: Db,
  input: { tenant: string; role: Role; name?: string | undefined; limits?: KeyLimits },
  now = Date.now(),
): Promise<{ key: string; record: KeyRecord }> {
  const key = KEY_PREFIX + randomBytes(32).toString("base64url");
  const record: KeyRecord = {
    id: `key_${randomBytes(6).toString("hex")}`,
    tenant: input.tenant,
    role: input.role,
    name: input.name ?? null,
    key_prefix: key.slice(0, KEY_PREFIX.length + 6),
    created_at: now,
    revoked_at: null,
    requests_per_minute: null,
    tokens_per_minute: null,
    budget_usd: null,
    budget_period: null,
    ...limitColumns(input.limits ?? {}),
  };
  await db
    .insertInto("api_keys")
    .values({ ...record, key_hash: hashKey(key) })
    .execute();
  return { key, record };
}

export async function listKeys(db: Db, tenant?: string): Promise<KeyRecord[]> {
  let q = db.selectFrom("api_keys").select(RECORD_COLUMNS).orderBy("created_at");
  if (tenant) q = q.where("tenant", "=", tenant);
  return q.execute();
}

/** Sets or clears a key's own limits and budget; false when no such key. */
export async function setKeyLimits(db: Db, id: string, limits: KeyLimits): Promise<boolean> {
  const set = limitColumns(limits);
  if (Object.keys(set).length === 0) {
    return (await db.selectFrom("api_keys").select("id").where("id", "=", id).executeTakeFirst()) !== undefined;
  }
  const res = await db.updateTable("api_keys").set(set).where("id", "=", id).executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Marks a key revoked; false when no such key. */
export async function revokeKey(db: Db, id: string, now = Date.now()): Promise<boolean> {
  const res = await db
    .updateTable("api_keys")
    .set({ revoked_at: now })
    .where("id", "=", id)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Every active key by hash, for the in-memory cache the request path reads. */
export async function activeKeysByHash(db: Db): Promise<Map<string, KeyRecord>> {
  const rows = await db.selectFrom("api_keys").selectAll().where("revoked_at", "is", null).execute();
  return new Map(rows.map(({ key_hash, ...rest }) => [key_hash, rest]));
}

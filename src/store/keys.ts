/**
 * API keys: created once and shown once, stored as a sha256 hash. Keys are 32
 * random bytes, so a fast hash is enough (no password stretching needed).
 */
import { createHash, randomBytes } from "node:crypto";
import type { Db } from "./db.js";
import type { ApiKeyTable } from "./schema.js";

export type Role = ApiKeyTable["role"];
export type KeyRecord = Omit<ApiKeyTable, "key_hash">;

const KEY_PREFIX = "sy-";

export function hashKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export async function createKey(
  db: Db,
  input: { tenant: string; role: Role; name?: string | undefined },
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
  };
  await db
    .insertInto("api_keys")
    .values({ ...record, key_hash: hashKey(key) })
    .execute();
  return { key, record };
}

export async function listKeys(db: Db, tenant?: string): Promise<KeyRecord[]> {
  let q = db
    .selectFrom("api_keys")
    .select(["id", "tenant", "role", "name", "key_prefix", "created_at", "revoked_at"])
    .orderBy("created_at");
  if (tenant) q = q.where("tenant", "=", tenant);
  return q.execute();
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

/**
 * Who is calling. Keys are checked against an in-memory copy of the key table
 * (refreshed in the background), so authenticating a request never reads the
 * store; an unknown key triggers at most one refresh a second, so a key created
 * by `switchyard keys create` in another process works within a second.
 */
import type { FastifyRequest } from "fastify";
import type { Logger } from "pino";
import type { Config } from "../core/config/schema.js";
import { errors } from "../errors.js";
import type { Db } from "../store/db.js";
import { activeKeysByHash, hashKey, type KeyRecord, type Role } from "../store/keys.js";

export interface Principal {
  tenant: string;
  role: Role;
  keyId: string | null;
  /** The key's record (its own limits and budget), when a key was used. */
  key?: KeyRecord;
}

const REFRESH_MS = 10_000;
const MISS_REFRESH_MIN_MS = 1_000;

export class KeyCache {
  #byHash = new Map<string, KeyRecord>();
  #loadedAt = 0;
  #loading: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => void this.refresh().catch(() => {}), REFRESH_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  refresh(): Promise<void> {
    this.#loading ??= activeKeysByHash(this.db)
      .then((m) => {
        this.#byHash = m;
        this.#loadedAt = Date.now();
      })
      .catch((e) => {
        this.logger.error({ err: e }, "could not refresh API keys; keeping the previous set");
      })
      .finally(() => {
        this.#loading = undefined;
      });
    return this.#loading;
  }

  /** The key's record; a miss refreshes the cache first unless `refreshOnMiss` is false. */
  async lookup(key: string, refreshOnMiss = true): Promise<KeyRecord | undefined> {
    const hash = hashKey(key);
    const hit = this.#byHash.get(hash);
    if (hit || !refreshOnMiss) return hit;
    if (Date.now() - this.#loadedAt < MISS_REFRESH_MIN_MS) return undefined;
    await this.refresh();
    return this.#byHash.get(hash);
  }
}

export class Authenticator {
  constructor(
    private readonly config: Config,
    private readonly keys: KeyCache,
  ) {}

  /**
   * Throws 401 for a missing or unknown key. With auth off, a known key still
   * names its tenant, and anyone else is the first tenant's admin (SDKs insist
   * on sending some key, so an unknown one is not an error then).
   */
  async authenticate(req: FastifyRequest): Promise<Principal> {
    const header = req.headers.authorization;
    // x-api-key is how the Anthropic SDK and Claude-based tools send theirs.
    const apiKey = req.headers["x-api-key"];
    const token = header?.startsWith("Bearer ")
      ? header.slice(7).trim()
      : typeof apiKey === "string" && apiKey !== ""
        ? apiKey.trim()
        : undefined;
    // With auth off, SDKs send placeholder keys: they must not trigger key-table reads.
    const rec = token ? await this.keys.lookup(token, this.config.auth.required) : undefined;
    if (!rec && !this.config.auth.required) {
      return { tenant: Object.keys(this.config.tenants)[0] ?? "default", role: "admin", keyId: null };
    }
    if (!token) throw errors.missingKey();
    if (!rec) throw errors.invalidKey();
    if (!Object.hasOwn(this.config.tenants, rec.tenant)) {
      throw errors.forbidden(`be used: its tenant '${rec.tenant}' is not declared in the config's tenants`);
    }
    return { tenant: rec.tenant, role: rec.role, keyId: rec.id, key: rec };
  }

  /** Whether the tenant may call the route (unknown and forbidden routes both answer 404). */
  mayUseRoute(p: Principal, route: string): boolean {
    const t = Object.hasOwn(this.config.tenants, p.tenant) ? this.config.tenants[p.tenant] : undefined;
    if (!t) return !this.config.auth.required;
    return t.routes === "*" || t.routes.includes(route);
  }

  routesFor(p: Principal): string[] {
    return Object.keys(this.config.routes).filter((r) => this.mayUseRoute(p, r));
  }
}

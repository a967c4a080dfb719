/**
 * HTTP plumbing shared by the HTTP backends: one undici keep-alive pool per
 * backend, and the mapping from transport failures and upstream statuses to
 * Switchyard errors (which ones a retry or a fallback may fix).
 */
import { type Dispatcher, Pool } from "undici";
import { errors, isSwitchyardError, type SwitchyardError } from "../errors.js";

export interface HttpTarget {
  backend: string;
  baseUrl: string;
  connectTimeoutMs: number;
  maxConnections: number;
  /** Values that must never appear in an error message (API keys). */
  secrets: string[];
}

export class UpstreamHttp {
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #target: HttpTarget;

  constructor(target: HttpTarget) {
    const url = new URL(target.baseUrl);
    this.#target = target;
    this.#basePath = url.pathname.replace(/\/+$/, "");
    this.#pool = new Pool(url.origin, {
      connections: target.maxConnections,
      connect: { timeout: target.connectTimeoutMs },
      keepAliveTimeout: 30_000,
      // Our own first-byte and total timers (resilient.ts) govern; undici's would race them.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }

  /**
   * POSTs JSON and returns the response once its status is known. A non-2xx
   * status becomes a thrown error (its body read for a message); the caller owns
   * the 2xx body and must consume or destroy it.
   */
  async postJson(
    path: string,
    body: string,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    const res = await this.request("POST", path, { "content-type": "application/json", ...headers }, body, signal);
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    throw await this.statusError(res);
  }

  async getJson(path: string, headers: Record<string, string>, signal: AbortSignal): Promise<unknown> {
    const res = await this.request("GET", path, headers, undefined, signal);
    if (res.statusCode < 200 || res.statusCode >= 300) throw await this.statusError(res);
    try {
      return await res.body.json();
    } catch (e) {
      throw this.transportError(e, signal);
    }
  }

  private async request(
    method: "GET" | "POST",
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    try {
      return await this.#pool.request({ method, path: this.#basePath + path, headers, body, signal });
    } catch (e) {
      throw this.transportError(e, signal);
    }
  }

  /**
   * Maps an error thrown while talking to the upstream (connect, reset, bad bytes).
   * An aborted call yields the abort's own reason (a timeout, the client leaving).
   */
  transportError(e: unknown, signal: AbortSignal): unknown {
    if (signal.aborted) return signal.reason;
    if (isSwitchyardError(e)) return e;
    const name = this.#target.backend;
    const code = (e as { code?: string } | null)?.code;
    if (code === "UND_ERR_CONNECT_TIMEOUT") {
      return errors.upstreamTimeout({ cause: e }, name, "connect", this.#target.connectTimeoutMs);
    }
    const why = code ?? (e instanceof Error ? e.message : String(e));
    return errors.upstreamUnreachable({ cause: e }, name, redact(why, this.#target.secrets));
  }

  private async statusError(res: Dispatcher.ResponseData): Promise<SwitchyardError> {
    const status = res.statusCode;
    const detail = redact(await readErrorDetail(res.body), this.#target.secrets);
    const name = this.#target.backend;
    const retryAfterMs = parseRetryAfter(res.headers["retry-after"]);
    if (status === 429) return errors.upstreamRateLimited({ retryAfterMs }, name);
    if (status === 401 || status === 403) return errors.upstreamAuth({}, name, status);
    if (status === 408 || status === 409 || status >= 500) {
      return errors.upstreamStatus({ retryAfterMs }, name, status, detail);
    }
    return errors.upstreamRejected({}, name, status, detail);
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}

const MAX_ERROR_BODY = 4096;

/** Reads at most a few KiB of an error body and pulls out the upstream's message. */
async function readErrorDetail(body: Dispatcher.ResponseData["body"]): Promise<string> {
  let text = "";
  try {
    for await (const part of body) {
      text += part.toString();
      if (text.length >= MAX_ERROR_BODY) break;
    }
  } catch {
    // A broken error body still leaves the status to report.
  } finally {
    body.destroy();
  }
  text = text.slice(0, MAX_ERROR_BODY);
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const err = parsed.error;
    if (typeof err === "string") return err;
    if (err && typeof err.message === "string") return err.message;
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // Not JSON: fall through to the trimmed text.
  }
  return text.trim().slice(0, 300);
}

/** `retry-after` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const KEY_LIKE = /\b(sk|pk|rk|key)[-_][A-Za-z0-9_-]{8,}/g;

/** Removes configured secrets and anything shaped like an API key. */
export function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join("[redacted]");
  return out.replace(KEY_LIKE, "[redacted]");
}

/**
 * The Switchyard API as the UI calls it: same origin, the signed-in key as a
 * bearer token, and OpenAI's error shape turned into an ApiError whose message
 * names what went wrong.
 */

export type Role = "app" | "admin";

export interface Me {
  tenant: string;
  role: Role;
  key_id: string | null;
  auth_required: boolean;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Builds an ApiError from a non-2xx response, whatever its body. */
export async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { error?: { message?: string; code?: string } };
    if (body.error?.message) return new ApiError(res.status, body.error.code ?? "", body.error.message);
  } catch {}
  return new ApiError(res.status, "", `the server answered ${res.status} ${res.statusText}`.trim());
}

/** An empty key sends none: a server with `auth.required: false` takes that as its first tenant's admin. */
export function authHeaders(key: string, extra: Record<string, string> = {}): Record<string, string> {
  return key ? { authorization: `Bearer ${key}`, ...extra } : { ...extra };
}

export async function apiFetch(key: string, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = { ...authHeaders(key), ...(init.body ? { "content-type": "application/json" } : {}) };
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, "network", `could not reach Switchyard (${(e as Error).message})`);
  }
  if (!res.ok) throw await errorOf(res);
  return res;
}

export async function apiJson<T>(key: string, path: string, init: RequestInit = {}): Promise<T> {
  return (await (await apiFetch(key, path, init)).json()) as T;
}

export const postJson = <T>(key: string, path: string, body: unknown): Promise<T> =>
  apiJson<T>(key, path, { method: "POST", body: JSON.stringify(body) });

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ModelList {
  data: { id: string }[];
}

export interface ConversationSummary {
  id: string;
  title: string | null;
  route: string | null;
  message_count: number;
  updated_at: number;
  snippet?: string;
}

export interface Conversation {
  id: string;
  title: string | null;
  route: string | null;
  messages: { id: string; request_id: string | null; message: { role: string; content: unknown } }[];
}

export type FeedbackKind = "thumbs" | "stars" | "comment" | "correction";

export interface ArenaComparison {
  answers: { label: "A" | "B"; request_id: string; message: { content: string | null } }[];
  vote: {
    body: { request_id: string; kind: "preference"; value: { other_request_id: string; pick: string } };
  };
}

/** Text of a stored message's content (a string, or OpenAI's array of parts). */
export function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (p && typeof p === "object" && "text" in p ? String((p as { text: unknown }).text) : ""))
      .join("");
  }
  return "";
}

/** Saves a file the browser got from the API (exports need the key, so no plain link). */
export async function download(key: string, path: string, filename: string): Promise<void> {
  const blob = await (await apiFetch(key, path)).blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export interface Estimate {
  estimate: number;
  lo: number;
  hi: number;
}

export interface ExperimentSummary {
  name: string;
  route: string;
  status: string;
  control: string;
  winner: string | null;
  version: number;
  variants: { variant: string; weight: number; share: number }[];
}

export interface VariantReport {
  variant: string;
  isControl: boolean;
  share: number;
  requests: number;
  successRate: Estimate | null;
  latencyMs: { mean: Estimate | null; p50: number | null; p95: number | null; p99: number | null };
  thumbsUp: { up: number; n: number; rate: Estimate | null };
  stars: { n: number; mean: Estimate | null };
  preference: { wins: number; losses: number; ties: number; winRate: Estimate | null };
  costUsd: { total: number };
}

export interface HistogramBin {
  /** Values ≤ this (ms) and above the previous bin's; null for the last, open bin. */
  upToMs: number | null;
  count: number;
}

export interface ExperimentReport {
  experiment: string;
  route: string;
  status: string;
  control: string;
  variants: VariantReport[];
  /** Per variant: successful answers' latency counted into bins. */
  latencyHistogram: Record<string, HistogramBin[]>;
  verdict: {
    decision: "go" | "no_go" | "pending" | "no_criteria";
    criteria: {
      variant: string;
      metric: string;
      op: string;
      threshold: number;
      status: "pass" | "fail" | "pending";
      observed: number | [number, number] | null;
      n: number;
    }[];
  };
}

export interface UsagePoint {
  t: number;
  requests: number;
  errors: number;
  costUsd: number;
  latencyMs: { p95: number | null };
}

export interface Usage {
  from: number;
  to: number;
  bucket: "hour" | "day";
  routes: { route: string; points: UsagePoint[] }[];
}

export interface ExperimentEvent {
  id: string;
  at: number;
  kind: string;
  actor: string | null;
  detail: Record<string, unknown>;
}

export const patchJson = <T>(key: string, path: string, body: unknown): Promise<T> =>
  apiJson<T>(key, path, { method: "PATCH", body: JSON.stringify(body) });

export interface ExperimentTimeseries {
  experiment: string;
  from: number;
  to: number;
  bucket: "hour" | "day";
  variants: {
    variant: string;
    points: {
      t: number;
      requests: number;
      share: number;
      successes: number;
      failures: number;
      latencyMs: { p50: number | null; p95: number | null };
    }[];
  }[];
}

export interface ApiKey {
  id: string;
  name: string | null;
  role: Role;
  prefix: string;
  created_at: number;
  revoked_at: number | null;
  /** What applies to the key: its own limits, else its tenant's (null: no limit). */
  limits: { requests_per_minute: number | null; tokens_per_minute: number | null };
  /** The key's budget and its tenant's, with what is spent of each this period. */
  budgets: { scope: "key" | "tenant"; usd: number; period: string; spent_usd: number; resets_at: number }[];
}

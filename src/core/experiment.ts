/**
 * An experiment as the request path sees it, and the one decision it makes per
 * request: which variant serves, and why. Pure: the allocation and pins come in
 * with the experiment, the unit with the request.
 */
import { type Allocation, bucketOf, variantAt, type Weight } from "./assignment.js";
import type { BanditConfig, Criterion, ShadowConfig } from "./config/schema.js";
import type { Rollout } from "./rollout.js";

export const EXPERIMENT_STATUSES = ["running", "paused", "stopped"] as const;
/**
 * running: units are split by the allocation. paused: everyone gets control and
 * no exposure is recorded. stopped: final; with a winner named, everyone gets
 * the winner until another experiment takes the route; without one, the route
 * goes back to its first variant.
 */
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];

export interface Experiment {
  name: string;
  route: string;
  /** Salts the assignment hash; changing it reshuffles every unit. */
  key: string;
  status: ExperimentStatus;
  control: string;
  weights: Weight[];
  allocation: Allocation;
  /** Set when stopped: the variant that serves from then on. */
  winner: string | null;
  /** Shadow traffic to other variants, when configured. */
  shadow: ShadowConfig | null;
  /** A staged rollout driving the weights, when configured. */
  rollout: Rollout | null;
  /** A Thompson-sampling bandit driving the weights, when configured. */
  bandit: { config: BanditConfig; state: { lastUpdatedAt: number | null } } | null;
  /** GO / NO-GO criteria for its report, and the requests a variant needs before they are judged. */
  verdict: { criteria: Criterion[]; minRequests: number };
  /** Users pinned to a variant by an admin. */
  pins: ReadonlyMap<string, string>;
  /** Bumped by every change, so replicas can tell when to reload. */
  version: number;
}

/**
 * Who is assigned: the end user when named; else the conversation the client
 * named; else the request itself (whose new session id then carries the
 * assignment forward if the client continues the conversation).
 */
export type UnitKind = "user" | "session" | "request";

export interface Unit {
  kind: UnitKind;
  id: string;
}

export function unitOf(user: string | null, session: string, sessionFromClient: boolean): Unit {
  if (user) return { kind: "user", id: user };
  return { kind: sessionFromClient ? "session" : "request", id: session };
}

/**
 * How the serving variant was chosen. Only `hash` assignments are randomised
 * and belong in an experiment's analysis; the others are recorded so they can
 * be left out of it.
 */
export type AssignedBy = "hash" | "pin" | "override" | "paused" | "stopped" | "breaker" | "arena" | "default";

export interface Assignment {
  variant: string;
  by: AssignedBy;
  /** Set for `hash`: the unit's bucket. */
  bucket?: number;
}

/**
 * The variant for a unit. `override` is a variant an admin named on the
 * request (already checked to exist on the route).
 */
export function assign(exp: Experiment, unit: Unit, override?: string): Assignment {
  if (override) return { variant: override, by: "override" };
  if (exp.status === "stopped") return { variant: exp.winner ?? exp.control, by: "stopped" };
  const pinned = unit.kind === "user" ? exp.pins.get(unit.id) : undefined;
  if (pinned) return { variant: pinned, by: "pin" };
  if (exp.status === "paused") return { variant: exp.control, by: "paused" };
  const bucket = bucketOf(exp.key, unit.id);
  // A valid allocation covers every bucket; control is the safe answer if one did not.
  return { variant: variantAt(exp.allocation, bucket) ?? exp.control, by: "hash", bucket };
}

/**
 * Experiments in the store: their definitions (with the allocation every
 * replica assigns by), pins, the event trail, and exposure counts. Every change
 * runs in one transaction that re-reads the experiment, applies a pure change
 * from core/experiment-changes.ts and bumps its version, so two admins (or two
 * replicas) cannot overwrite each other's change unseen.
 */
import { createHash } from "node:crypto";
import type { Selectable } from "kysely";
import { type Allocation, initialAllocation, isValidAllocation, reallocate, type Weight } from "../core/assignment.js";
import type { ExperimentConfig, ShadowConfig } from "../core/config/schema.js";
import type { Experiment, ExperimentStatus } from "../core/experiment.js";
import type { Change } from "../core/experiment-changes.js";
import { timeOrderedId } from "../core/ids.js";
import { firstRolloutState, type Rollout, stepWeights } from "../core/rollout.js";
import { type Db, writeTransaction } from "./db.js";
import type { ExperimentTable } from "./schema.js";

type Row = Selectable<ExperimentTable>;

const NO_VERDICT: Experiment["verdict"] = { criteria: [], minRequests: 100 };

export interface StoredExperiment extends Experiment {
  source: "config" | "api";
  createdAt: number;
  updatedAt: number;
}

export interface ExperimentEvent {
  id: string;
  at: number;
  kind: string;
  actor: string;
  detail: Record<string, unknown>;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function fromRow(row: Row, pins: Map<string, string>): StoredExperiment {
  const weights = (parseJson(row.weights) ?? []) as Weight[];
  const stored = parseJson(row.allocation);
  return {
    name: row.name,
    route: row.route,
    key: row.hash_key,
    status: row.status as ExperimentStatus,
    control: row.control,
    weights,
    // A damaged allocation would send units nowhere; rebuilding it from the weights keeps serving.
    allocation: isValidAllocation(stored) ? stored : initialAllocation(weights),
    winner: row.winner,
    shadow: (row.shadow ? parseJson(row.shadow) : null) as ShadowConfig | null,
    rollout: (row.rollout ? parseJson(row.rollout) : null) as Rollout | null,
    bandit: (row.bandit ? parseJson(row.bandit) : null) as Experiment["bandit"],
    verdict: ((row.verdict ? parseJson(row.verdict) : null) as Experiment["verdict"] | null) ?? NO_VERDICT,
    pins,
    version: row.version,
    source: row.source,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

async function pinsOf(db: Db, names: string[]): Promise<Map<string, Map<string, string>>> {
  const out = new Map<string, Map<string, string>>();
  if (names.length === 0) return out;
  const rows = await db
    .selectFrom("experiment_pins")
    .select(["experiment", "user_id", "variant"])
    .where("experiment", "in", names)
    .execute();
  for (const r of rows) {
    const m = out.get(r.experiment) ?? new Map<string, string>();
    m.set(r.user_id, r.variant);
    out.set(r.experiment, m);
  }
  return out;
}

export async function loadExperiments(db: Db, names?: string[]): Promise<StoredExperiment[]> {
  let q = db.selectFrom("experiments").selectAll();
  if (names) {
    if (names.length === 0) return [];
    q = q.where("name", "in", names);
  }
  const rows = await q.orderBy("name").execute();
  const pins = await pinsOf(
    db,
    rows.map((r) => r.name),
  );
  return rows.map((r) => fromRow(r, pins.get(r.name) ?? new Map()));
}

export async function loadExperiment(db: Db, name: string): Promise<StoredExperiment | undefined> {
  const row = await db.selectFrom("experiments").selectAll().where("name", "=", name).executeTakeFirst();
  if (!row) return undefined;
  return fromRow(row, (await pinsOf(db, [name])).get(name) ?? new Map());
}

/** Every experiment's version: what a replica polls to know what to reload. */
export async function experimentVersions(db: Db): Promise<Map<string, number>> {
  const rows = await db.selectFrom("experiments").select(["name", "version"]).execute();
  return new Map(rows.map((r) => [r.name, r.version]));
}

async function addEvent(
  trx: Db,
  experiment: string,
  kind: string,
  actor: string,
  detail: Record<string, unknown>,
  at: number,
): Promise<void> {
  await trx
    .insertInto("experiment_events")
    .values({ id: timeOrderedId("evt_", at), experiment, at, kind, actor, detail: JSON.stringify(detail) })
    .execute();
}

/** Another experiment holding the route (running or paused), if any. */
async function routeHolder(trx: Db, route: string, except: string): Promise<string | undefined> {
  const row = await trx
    .selectFrom("experiments")
    .select("name")
    .where("route", "=", route)
    .where("status", "in", ["running", "paused"])
    .where("name", "<>", except)
    .executeTakeFirst();
  return row?.name;
}

export class ExperimentExists extends Error {}
export class RouteTaken extends Error {
  constructor(
    readonly route: string,
    readonly holder: string,
  ) {
    super(`route '${route}' already runs experiment '${holder}' (one experiment per route at a time; stop it first)`);
  }
}
export class VersionConflict extends Error {}

/** The columns that hold an experiment's definition and state (what every change rewrites). */
function definitionColumns(e: Experiment) {
  return {
    route: e.route,
    hash_key: e.key,
    status: e.status,
    control: e.control,
    weights: JSON.stringify(e.weights),
    allocation: JSON.stringify(e.allocation),
    winner: e.winner,
    shadow: e.shadow ? JSON.stringify(e.shadow) : null,
    rollout: e.rollout ? JSON.stringify(e.rollout) : null,
    bandit: e.bandit ? JSON.stringify(e.bandit) : null,
    verdict: JSON.stringify(e.verdict),
  };
}

function rowOf(e: Experiment, source: "config" | "api", configHash: string | null, now: number) {
  return {
    name: e.name,
    ...definitionColumns(e),
    source,
    config_hash: configHash,
    version: e.version,
    created_at: now,
    updated_at: now,
  };
}

/**
 * A new experiment from its declared definition, with a first allocation in the
 * declared order. With a rollout, the weights are its first step's.
 */
export function experimentFromDefinition(name: string, def: ExperimentConfig, now = Date.now()): Experiment {
  const control = def.control ?? (def.variants[0] as Weight).variant;
  const weights = def.rollout ? stepWeights(def.rollout, control, 0) : def.variants;
  return {
    name,
    route: def.route,
    key: def.key ?? name,
    status: def.status,
    control,
    weights,
    allocation: initialAllocation(weights),
    rollout: def.rollout ? { config: def.rollout, state: firstRolloutState(now) } : null,
    bandit: def.bandit ? { config: def.bandit, state: { lastUpdatedAt: null } } : null,
    verdict: { criteria: def.criteria, minRequests: def.verdictMinRequests },
    winner: def.status === "stopped" ? (def.winner ?? null) : null,
    shadow: def.shadow ?? null,
    pins: new Map(),
    version: 1,
  };
}

export async function createExperiment(db: Db, exp: Experiment, actor: string, now = Date.now()): Promise<void> {
  await writeTransaction(db, async (trx) => {
    if (await trx.selectFrom("experiments").select("name").where("name", "=", exp.name).executeTakeFirst()) {
      throw new ExperimentExists(`experiment '${exp.name}' already exists`);
    }
    if (exp.status !== "stopped") {
      const holder = await routeHolder(trx, exp.route, exp.name);
      if (holder) throw new RouteTaken(exp.route, holder);
    }
    await trx
      .insertInto("experiments")
      .values(rowOf(exp, "api", null, now))
      .execute();
    await addEvent(trx, exp.name, "create", actor, { definition: definitionOf(exp) }, now);
  });
}

/**
 * Applies a change to the stored experiment: `change` gets the experiment as
 * stored now and returns the next one (or throws to refuse). Returns the
 * experiment as stored after the change.
 */
export async function changeExperiment(
  db: Db,
  name: string,
  actor: string,
  change: (current: StoredExperiment) => Change,
  now = Date.now(),
): Promise<{ experiment: StoredExperiment; change: Change }> {
  return writeTransaction(db, async (trx) => {
    const current = await loadExperiment(trx, name);
    if (!current) throw new ExperimentNotFound(name);
    // No change restarts a stopped experiment (core/experiment-changes.ts), so the route cannot become taken twice here.
    const c = change(current);
    await writeChange(trx, current, c.next, now);
    await addEvent(trx, name, c.kind, actor, c.detail, now);
    return {
      experiment: {
        ...c.next,
        version: current.version + 1,
        source: current.source,
        createdAt: current.createdAt,
        updatedAt: now,
      },
      change: c,
    };
  });
}

export class ExperimentNotFound extends Error {
  constructor(readonly experiment: string) {
    super(`no experiment '${experiment}'`);
  }
}

async function writeChange(
  trx: Db,
  before: Experiment,
  next: Experiment,
  now: number,
  /** The config declaration now applied; null forgets it (so the next declaration applies again). */
  configHash?: string | null,
): Promise<void> {
  const updated = await trx
    .updateTable("experiments")
    .set({
      ...definitionColumns(next),
      version: before.version + 1,
      updated_at: now,
      ...(configHash !== undefined ? { config_hash: configHash } : {}),
    })
    .where("name", "=", before.name)
    .where("version", "=", before.version)
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) !== 1)
    throw new VersionConflict(`experiment '${before.name}' changed meanwhile; try again`);
  for (const [user, variant] of before.pins) {
    if (next.pins.get(user) !== variant) {
      await trx
        .deleteFrom("experiment_pins")
        .where("experiment", "=", before.name)
        .where("user_id", "=", user)
        .execute();
    }
  }
  for (const [user, variant] of next.pins) {
    if (before.pins.get(user) === variant) continue;
    await trx
      .insertInto("experiment_pins")
      .values({ experiment: next.name, user_id: user, variant, created_at: now })
      .execute();
  }
}

/** What the config file says about an experiment, in a stable form. */
function definitionOf(
  e: Pick<
    Experiment,
    "route" | "key" | "status" | "control" | "weights" | "winner" | "shadow" | "rollout" | "bandit" | "verdict"
  >,
) {
  return {
    route: e.route,
    key: e.key,
    status: e.status,
    control: e.control,
    weights: e.weights,
    winner: e.winner,
    shadow: e.shadow,
    rollout: e.rollout?.config ?? null,
    bandit: e.bandit?.config ?? null,
    verdict: e.verdict,
  };
}

function configHashOf(def: ReturnType<typeof definitionOf>): string {
  return createHash("sha256").update(JSON.stringify(def)).digest("hex");
}

export interface SyncReport {
  created: string[];
  updated: string[];
  /** Declared in the config before, gone from it now: stopped. */
  removed: string[];
  /** Created through the admin API, stopped because the config file gave their route to another experiment. */
  superseded: string[];
}

/**
 * Brings the store in line with the config file's experiments. A declared
 * experiment is applied when it is new or its declaration changed since last
 * applied; an unchanged declaration leaves changes made through the admin API
 * alone. Weight changes reallocate from the stored allocation (few users move).
 */
export async function syncConfigExperiments(
  db: Db,
  declared: Record<string, ExperimentConfig>,
  now = Date.now(),
): Promise<SyncReport> {
  const report: SyncReport = { created: [], updated: [], removed: [], superseded: [] };
  await writeTransaction(db, async (trx) => {
    for (const [name, def] of Object.entries(declared)) {
      const wanted = experimentFromDefinition(name, def);
      const hash = configHashOf(definitionOf(wanted));
      const current = await loadExperiment(trx, name);
      if (current && current.source === "config" && (await storedHash(trx, name)) === hash) continue;
      const finishedRollout = current?.rollout && current.rollout.state.outcome !== "running" && wanted.rollout;
      if (wanted.status !== "stopped" && !finishedRollout) {
        const holder = await routeHolder(trx, wanted.route, name);
        if (holder) {
          const other = await loadExperiment(trx, holder);
          if (other) {
            await writeChange(trx, other, { ...other, status: "stopped", winner: null }, now, null);
            await addEvent(
              trx,
              holder,
              "stop",
              "config",
              { reason: `route '${wanted.route}' taken by config experiment '${name}'` },
              now,
            );
            report.superseded.push(holder);
          }
        }
      }
      if (!current) {
        await trx
          .insertInto("experiments")
          .values(rowOf(wanted, "config", hash, now))
          .execute();
        await addEvent(trx, name, "create", "config", { definition: definitionOf(wanted) }, now);
        report.created.push(name);
        continue;
      }
      const keyChanged = current.key !== wanted.key;
      // An edited rollout keeps its progress: same step (within the new steps), same history.
      let { weights, rollout, bandit } = wanted;
      // A finished rollout stays finished: an edit of its declaration must not set it running
      // again with no rollout to guard it. Retrying is a new experiment.
      if (finishedRollout && current.rollout && wanted.rollout) {
        const kept: Experiment = {
          ...current,
          rollout: { config: wanted.rollout.config, state: current.rollout.state },
          version: current.version,
        };
        await writeChange(trx, current, kept, now, hash);
        await addEvent(
          trx,
          name,
          "config",
          "config",
          {
            note: `the rollout ${current.rollout.state.outcome.replace("_", " ")}; the edit is stored, the experiment stays stopped (start a new experiment to roll out again)`,
          },
          now,
        );
        report.updated.push(name);
        continue;
      }
      // A bandit keeps what it learned: its current weights, if the variants are the same.
      if (wanted.bandit && current.bandit && sameVariants(current.weights, wanted.weights)) {
        bandit = { config: wanted.bandit.config, state: current.bandit.state };
        weights = current.weights;
      }
      if (wanted.rollout && current.rollout) {
        const step = Math.min(current.rollout.state.step, wanted.rollout.config.steps.length - 1);
        rollout = { config: wanted.rollout.config, state: { ...current.rollout.state, step } };
        weights = stepWeights(rollout.config, wanted.control, step);
      }
      // A new key reshuffles every unit anyway: start from a fresh allocation.
      const allocation: Allocation = keyChanged ? initialAllocation(weights) : reallocate(current.allocation, weights);
      const next: Experiment = {
        ...current,
        ...wanted,
        weights,
        rollout,
        bandit,
        allocation,
        pins: current.pins,
        version: current.version,
      };
      await writeChange(trx, current, next, now, hash);
      await trx.updateTable("experiments").set({ source: "config" }).where("name", "=", name).execute();
      await addEvent(trx, name, "config", "config", { before: definitionOf(current), after: definitionOf(next) }, now);
      report.updated.push(name);
    }
    const gone = await trx
      .selectFrom("experiments")
      .selectAll()
      .where("source", "=", "config")
      .where("status", "<>", "stopped")
      .execute();
    for (const row of gone) {
      if (Object.hasOwn(declared, row.name)) continue;
      const current = fromRow(row, new Map());
      await writeChange(
        trx,
        { ...current, pins: new Map() },
        { ...current, pins: new Map(), status: "stopped", winner: null },
        now,
        null,
      );
      await addEvent(trx, row.name, "stop", "config", { reason: "removed from the config file" }, now);
      report.removed.push(row.name);
    }
  });
  return report;
}

function sameVariants(a: Weight[], b: Weight[]): boolean {
  return a.length === b.length && a.every((w, i) => w.variant === b[i]?.variant);
}

async function storedHash(trx: Db, name: string): Promise<string | null> {
  const r = await trx.selectFrom("experiments").select("config_hash").where("name", "=", name).executeTakeFirst();
  return r?.config_hash ?? null;
}

/** The newest events first; `kinds` keeps only those (e.g. promote and rollback without the holds). */
export async function listEvents(db: Db, name: string, limit = 200, kinds?: string[]): Promise<ExperimentEvent[]> {
  let q = db.selectFrom("experiment_events").selectAll().where("experiment", "=", name);
  if (kinds && kinds.length > 0) q = q.where("kind", "in", kinds);
  const rows = await q.orderBy("at", "desc").orderBy("id", "desc").limit(limit).execute();
  return rows.map((r) => ({
    id: r.id,
    at: r.at,
    kind: r.kind,
    actor: r.actor,
    detail: (parseJson(r.detail) ?? {}) as Record<string, unknown>,
  }));
}

/** Units first exposed per variant (hash assignments only). */
export async function exposureCounts(db: Db, name: string, tenant: string): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom("experiment_exposures")
    .select(["variant", (eb) => eb.fn.countAll<number>().as("n")])
    .where("experiment", "=", name)
    .where("tenant", "=", tenant)
    .groupBy("variant")
    .execute();
  return Object.fromEntries(rows.map((r) => [r.variant, Number(r.n)]));
}

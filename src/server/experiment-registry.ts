/**
 * The experiments this replica assigns by, held in memory so a request never
 * reads the store. Changes made here apply at once; changes made by another
 * replica (or the CLI) are picked up by polling the experiments' versions every
 * REFRESH_MS, so every replica agrees within that bound.
 *
 * Which experiment governs a route: the one running or paused on it (at most
 * one, enforced on every change); else the most recently stopped one that named
 * a winner, whose winner then serves everyone; else none, and the route's first
 * variant serves as usual.
 */
import type { Logger } from "pino";
import type { Experiment, Unit } from "../core/experiment.js";
import type { Db } from "../store/db.js";
import { experimentVersions, loadExperiments, type StoredExperiment } from "../store/experiments.js";

export const REFRESH_MS = 2_000;
/** First exposures remembered per replica to skip rewriting them; the store ignores repeats anyway. */
const SEEN_LIMIT = 200_000;

export class ExperimentRegistry {
  #byName = new Map<string, StoredExperiment>();
  #byRoute = new Map<string, Experiment>();
  #seen = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.#replaceAll(await loadExperiments(this.db));
    this.#timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The experiment governing a route, if any. */
  forRoute(route: string): Experiment | undefined {
    return this.#byRoute.get(route);
  }

  get(name: string): StoredExperiment | undefined {
    return this.#byName.get(name);
  }

  all(): StoredExperiment[] {
    return [...this.#byName.values()];
  }

  /** Takes a change this replica just stored (unless a newer version is already held). */
  apply(exp: StoredExperiment): void {
    const held = this.#byName.get(exp.name);
    if (held && held.version > exp.version) return;
    this.#byName.set(exp.name, exp);
    this.#index();
  }

  /** True the first time this replica sees the unit in the experiment. */
  firstSeen(experiment: string, tenant: string, unit: Unit): boolean {
    const k = `${experiment}\u0000${tenant}\u0000${unit.kind}\u0000${unit.id}`;
    if (this.#seen.has(k)) return false;
    if (this.#seen.size >= SEEN_LIMIT) this.#seen.clear();
    this.#seen.add(k);
    return true;
  }

  /** Reloads the experiments whose version changed in the store. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#reloadChanged()
      .catch((e) => this.logger.error({ err: e }, "could not refresh experiments; keeping the ones in memory"))
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  async #reloadChanged(): Promise<void> {
    const versions = await experimentVersions(this.db);
    const changed = [...versions].filter(([name, v]) => this.#byName.get(name)?.version !== v).map(([name]) => name);
    const removed = [...this.#byName.keys()].filter((name) => !versions.has(name));
    if (changed.length === 0 && removed.length === 0) return;
    for (const name of removed) this.#byName.delete(name);
    for (const e of await loadExperiments(this.db, changed)) {
      // A poll that read before a change this replica just applied must not undo it.
      const held = this.#byName.get(e.name);
      if (!held || e.version > held.version) this.#byName.set(e.name, e);
    }
    this.#index();
  }

  #replaceAll(list: StoredExperiment[]): void {
    this.#byName = new Map(list.map((e) => [e.name, e]));
    this.#index();
  }

  #index(): void {
    const byRoute = new Map<string, Experiment>();
    const concluded = new Map<string, StoredExperiment>();
    for (const e of this.#byName.values()) {
      if (e.status !== "stopped") byRoute.set(e.route, e);
      else if (e.winner !== null) {
        const prev = concluded.get(e.route);
        if (!prev || e.updatedAt > prev.updatedAt) concluded.set(e.route, e);
      }
    }
    for (const [route, e] of concluded) if (!byRoute.has(route)) byRoute.set(route, e);
    this.#byRoute = byRoute;
  }
}

/**
 * The decisions experiments take on their own: staged rollouts (promote, hold
 * or roll back) and bandits (new shares from the rewards). Each experiment is
 * evaluated once per its interval, counted from the last decision of any
 * replica (stored with the experiment), and on demand through the admin API.
 * A decision is applied only if the experiment is still at the version it was
 * evaluated at, so two replicas evaluating at once cannot both act: the second
 * finds the version moved and drops its decision.
 */
import type { Logger } from "pino";
import { thompsonShares } from "../core/bandit.js";
import { applyBanditShares, applyRolloutDecision, type Change } from "../core/experiment-changes.js";
import { decide, type RolloutDecision } from "../core/rollout.js";
import { errors } from "../errors.js";
import { banditRewards } from "../store/bandit-rewards.js";
import { changeExperiment, type StoredExperiment, VersionConflict } from "../store/experiments.js";
import { stepStats } from "../store/rollout-stats.js";
import type { Gateway } from "./gateway.js";

const TICK_MS = 1_000;

export interface Evaluation {
  /** The stored event's kind: promote, hold, rollback or bandit. */
  kind: string;
  /** The evidence stored with the event. */
  detail: Record<string, unknown>;
  /** For a rollout: the decision with every guardrail. */
  decision?: RolloutDecision;
  experiment: StoredExperiment;
}

interface Pending {
  apply: (current: StoredExperiment) => Change;
  decision?: RolloutDecision;
}

/** When the experiment's automatic decision is next due, or null when it has none running. */
function dueAt(e: StoredExperiment): number | null {
  if (e.status !== "running") return null;
  const r = e.rollout;
  if (r?.state.outcome === "running")
    return (r.state.lastEvaluatedAt ?? r.state.stepStartedAt) + r.config.evaluateEveryMs;
  if (e.bandit) return (e.bandit.state.lastUpdatedAt ?? e.createdAt) + e.bandit.config.updateEveryMs;
  return null;
}

export class ExperimentScheduler {
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;

  constructor(
    private readonly gw: Gateway,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.#timer = setInterval(() => void this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      for (const e of this.gw.experiments.all()) {
        const due = dueAt(e);
        if (due === null || Date.now() < due) continue;
        try {
          await this.evaluate(e.name, true);
        } catch (err) {
          if (err instanceof VersionConflict) continue; // another replica decided first
          this.logger.error({ err, experiment: e.name }, "experiment evaluation failed; will try again");
        }
      }
    } finally {
      this.#ticking = false;
    }
  }

  /**
   * Evaluates the experiment's rollout or bandit now and applies the decision.
   * `onlyIfDue`: the periodic caller, which skips (returns null) when another
   * replica has decided since this one last looked.
   */
  async evaluate(name: string, onlyIfDue: true): Promise<Evaluation | null>;
  async evaluate(name: string): Promise<Evaluation>;
  async evaluate(name: string, onlyIfDue = false): Promise<Evaluation | null> {
    await this.gw.experiments.refresh();
    const e = this.gw.experiments.get(name);
    if (!e) throw errors.experimentUnknown(name);
    const due = dueAt(e);
    if (due === null) {
      if (onlyIfDue) return null; // stopped or paused meanwhile
      throw errors.experimentConflict(`experiment '${name}' has no running rollout or bandit to evaluate`);
    }
    if (onlyIfDue && Date.now() < due) return null;
    // Rows still queued in memory count too.
    await this.gw.recorded();
    await this.gw.log.flush();
    const now = Date.now();
    const pending = e.rollout?.state.outcome === "running" ? await this.#rollout(e, now) : await this.#bandit(e, now);
    const { experiment, change } = await changeExperiment(
      this.gw.db,
      name,
      e.rollout ? "rollout" : "bandit",
      (current) => {
        if (current.version !== e.version) {
          throw new VersionConflict(`experiment '${name}' changed while it was being evaluated`);
        }
        return pending.apply(current);
      },
    );
    this.gw.experiments.apply(experiment);
    if (change.kind !== "hold")
      this.logger.info({ experiment: name, kind: change.kind }, `experiment ${name}: ${change.kind}`);
    return {
      kind: change.kind,
      detail: change.detail,
      ...(pending.decision ? { decision: pending.decision } : {}),
      experiment,
    };
  }

  async #rollout(e: StoredExperiment, now: number): Promise<Pending> {
    const rollout = e.rollout as NonNullable<StoredExperiment["rollout"]>;
    const stats = await stepStats(this.gw.db, e.name, rollout.state.stepStartedAt, e.control, rollout.config.candidate);
    const decision = decide(rollout.config, rollout.state, stats, now, this.#breakerOpen(e, rollout.config.candidate));
    return { apply: (current) => applyRolloutDecision(current, decision, now), decision };
  }

  async #bandit(e: StoredExperiment, now: number): Promise<Pending> {
    const bandit = e.bandit as NonNullable<StoredExperiment["bandit"]>;
    const variants = e.weights.map((w) => w.variant);
    const rewards = await banditRewards(this.gw.db, e.name, variants, bandit.config.reward);
    const shares = thompsonShares(rewards, bandit.config.minShare);
    return { apply: (current) => applyBanditShares(current, shares, rewards, now) };
  }

  #breakerOpen(e: StoredExperiment, variantName: string): boolean {
    const route = this.gw.config.routes[e.route];
    const variant = route?.variants.find((v) => v.name === variantName);
    return variant ? this.gw.backends.get(variant.backend)?.breakerState === "open" : false;
  }
}

/**
 * Evaluates staged rollouts: every experiment with a running rollout is
 * evaluated once per its evaluateEveryMs (counted from the last decision of
 * any replica, which is stored), and on demand through the admin API. A
 * decision is applied only if the experiment is still at the version it was
 * evaluated at, so two replicas evaluating at once cannot both act: the second
 * finds the version moved and drops its decision.
 */
import type { Logger } from "pino";
import { applyRolloutDecision } from "../core/experiment-changes.js";
import { decide, type RolloutDecision } from "../core/rollout.js";
import { errors } from "../errors.js";
import { changeExperiment, type StoredExperiment, VersionConflict } from "../store/experiments.js";
import { stepStats } from "../store/rollout-stats.js";
import type { Gateway } from "./gateway.js";

const TICK_MS = 1_000;

export interface Evaluation {
  decision: RolloutDecision;
  experiment: StoredExperiment;
}

export class RolloutScheduler {
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
      const now = Date.now();
      for (const e of this.gw.experiments.all()) {
        const r = e.rollout;
        if (e.status !== "running" || r?.state.outcome !== "running") continue;
        if (now - (r.state.lastEvaluatedAt ?? r.state.stepStartedAt) < r.config.evaluateEveryMs) continue;
        try {
          await this.evaluate(e.name);
        } catch (err) {
          if (err instanceof VersionConflict) continue; // another replica decided first
          this.logger.error({ err, experiment: e.name }, "rollout evaluation failed; will try again");
        }
      }
    } finally {
      this.#ticking = false;
    }
  }

  /** Evaluates the rollout now and applies the decision; throws VersionConflict if another change came first. */
  async evaluate(name: string): Promise<Evaluation> {
    await this.gw.experiments.refresh();
    const e = this.gw.experiments.get(name);
    if (!e) throw errors.experimentUnknown(name);
    const rollout = e.rollout;
    if (rollout?.state.outcome !== "running" || e.status !== "running") {
      throw errors.experimentConflict(`experiment '${name}' has no running rollout to evaluate`);
    }
    // Rows still queued in memory belong to the step too.
    await this.gw.recorded();
    await this.gw.log.flush();
    const now = Date.now();
    const stats = await stepStats(this.gw.db, name, rollout.state.stepStartedAt, e.control, rollout.config.candidate);
    const decision = decide(rollout.config, rollout.state, stats, now, this.#breakerOpen(e));
    const { experiment } = await changeExperiment(this.gw.db, name, "rollout", (current) => {
      if (current.version !== e.version) {
        throw new VersionConflict(`experiment '${name}' changed while its rollout was being evaluated`);
      }
      return applyRolloutDecision(current, decision, now);
    });
    this.gw.experiments.apply(experiment);
    if (decision.action !== "hold") {
      this.logger.info(
        { experiment: name, action: decision.action, from_step: decision.fromStep, to_step: decision.toStep },
        `rollout ${name}: ${decision.action}${decision.completes ? " (complete)" : ""}`,
      );
    }
    return { decision, experiment };
  }

  #breakerOpen(e: StoredExperiment): boolean {
    const route = this.gw.config.routes[e.route];
    const variant = route?.variants.find((v) => v.name === e.rollout?.config.candidate);
    return variant ? this.gw.backends.get(variant.backend)?.breakerState === "open" : false;
  }
}

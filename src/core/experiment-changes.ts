/**
 * The changes an admin (or the config file) may make to an experiment, as pure
 * functions from the current experiment to the next. Each returns the detail
 * stored with the change's event, or a refusal saying why it cannot be made.
 */
import { type Allocation, movedShare, reallocate, sharesOf, type Weight } from "./assignment.js";
import type { ArmReward, BanditShare } from "./bandit.js";
import type { ShadowConfig } from "./config/schema.js";
import type { Experiment, ExperimentStatus } from "./experiment.js";
import { type RolloutDecision, stepWeights } from "./rollout.js";

/** The change is not possible in the experiment's current state. */
export class ChangeRefused extends Error {
  override name = "ChangeRefused";
}

/** The change names something that does not exist (a bad input rather than a bad moment). */
export class ChangeInvalid extends ChangeRefused {
  override name = "ChangeInvalid";
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Change {
  next: Experiment;
  kind: string;
  detail: Record<string, unknown>;
}

/** Shares in percent per variant, for events and the admin API. */
export function sharePercents(allocation: Allocation): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [v, n] of sharesOf(allocation)) out[v] = n / 100;
  return out;
}

export function changeWeights(exp: Experiment, weights: Weight[]): Change {
  if (exp.status === "stopped") throw new ChangeRefused(`experiment '${exp.name}' is stopped; its weights are final`);
  if (exp.rollout?.state.outcome === "running") {
    throw new ChangeRefused(`experiment '${exp.name}' is in a staged rollout: its weights follow the rollout's steps`);
  }
  if (exp.bandit) {
    throw new ChangeRefused(`experiment '${exp.name}' is run by a bandit: its weights follow the rewards`);
  }
  const allocation = reallocate(exp.allocation, weights);
  const moved = movedShare(exp.allocation, allocation);
  // A variant no longer listed keeps no pins: its pinned users would be sent to a variant outside the experiment.
  const listed = new Set(weights.map((w) => w.variant));
  const control = listed.has(exp.control) ? exp.control : (weights[0] as Weight).variant;
  return {
    next: { ...exp, weights, allocation, control, pins: new Map([...exp.pins].filter(([, v]) => listed.has(v))) },
    kind: "weights",
    detail: {
      before: sharePercents(exp.allocation),
      after: sharePercents(allocation),
      moved_share: moved,
    },
  };
}

/** New shadow settings (null switches shadowing off). */
export function changeShadow(exp: Experiment, shadow: ShadowConfig | null): Change {
  if (exp.status === "stopped") throw new ChangeRefused(`experiment '${exp.name}' is stopped`);
  return { next: { ...exp, shadow }, kind: "shadow", detail: { before: exp.shadow, after: shadow } };
}

/** Applies a rollout decision: the next step, a hold (only its time is noted), or the end. */
export function applyRolloutDecision(exp: Experiment, d: RolloutDecision, now: number): Change {
  const rollout = exp.rollout;
  if (rollout?.state.outcome !== "running" || exp.status !== "running") {
    throw new ChangeRefused(`experiment '${exp.name}' has no running rollout`);
  }
  const { config } = rollout;
  const detail = {
    from_step: d.fromStep,
    share_before: config.steps[d.fromStep],
    guardrails: d.guardrails,
    stats: d.stats,
  };
  const evaluated = { ...rollout.state, lastEvaluatedAt: now };
  if (d.action === "hold") {
    return { next: { ...exp, rollout: { config, state: evaluated } }, kind: "hold", detail };
  }
  if (d.action === "rollback") {
    const weights = stepWeights(config, exp.control, 0).map((w) => ({
      ...w,
      weight: w.variant === exp.control ? 100 : 0,
    }));
    return {
      next: {
        ...exp,
        status: "stopped",
        winner: exp.control,
        weights,
        allocation: reallocate(exp.allocation, weights),
        rollout: { config, state: { ...evaluated, outcome: "rolled_back" } },
      },
      kind: "rollback",
      detail: { ...detail, share_after: 0 },
    };
  }
  if (d.completes) {
    return {
      next: {
        ...exp,
        status: "stopped",
        winner: config.candidate,
        rollout: { config, state: { ...evaluated, outcome: "completed" } },
      },
      kind: "promote",
      detail: { ...detail, share_after: 100, completed: true },
    };
  }
  const weights = stepWeights(config, exp.control, d.toStep);
  return {
    next: {
      ...exp,
      weights,
      allocation: reallocate(exp.allocation, weights),
      rollout: { config, state: { ...evaluated, step: d.toStep, stepStartedAt: now } },
    },
    kind: "promote",
    detail: { ...detail, to_step: d.toStep, share_after: config.steps[d.toStep] },
  };
}

/** New weights from the bandit (only the users the change requires move). */
export function applyBanditShares(exp: Experiment, shares: BanditShare[], rewards: ArmReward[], now: number): Change {
  if (!exp.bandit || exp.status !== "running")
    throw new ChangeRefused(`experiment '${exp.name}' has no running bandit`);
  const weights = shares.map(({ variant, weight }) => ({ variant, weight }));
  const allocation = reallocate(exp.allocation, weights);
  return {
    next: { ...exp, weights, allocation, bandit: { config: exp.bandit.config, state: { lastUpdatedAt: now } } },
    kind: "bandit",
    detail: {
      reward: exp.bandit.config.reward,
      rewards,
      probability_best: Object.fromEntries(shares.map((s) => [s.variant, s.probabilityBest])),
      before: sharePercents(exp.allocation),
      after: sharePercents(allocation),
      moved_share: movedShare(exp.allocation, allocation),
    },
  };
}

const TRANSITIONS: Record<"pause" | "resume" | "stop", { from: ExperimentStatus[]; to: ExperimentStatus }> = {
  pause: { from: ["running"], to: "paused" },
  resume: { from: ["paused"], to: "running" },
  stop: { from: ["running", "paused"], to: "stopped" },
};

export function changeStatus(exp: Experiment, action: keyof typeof TRANSITIONS, winner?: string): Change {
  const t = TRANSITIONS[action];
  if (!t.from.includes(exp.status)) {
    throw new ChangeRefused(`cannot ${action} experiment '${exp.name}': it is ${exp.status}`);
  }
  if (winner !== undefined && !exp.weights.some((w) => w.variant === winner)) {
    throw new ChangeInvalid(
      "winner",
      `'${winner}' is not one of the experiment's variants (${exp.weights.map((w) => w.variant).join(", ")})`,
    );
  }
  return {
    next: { ...exp, status: t.to, winner: action === "stop" ? (winner ?? null) : exp.winner },
    kind: action,
    detail: { from: exp.status, to: t.to, ...(winner !== undefined ? { winner } : {}) },
  };
}

export function changePin(exp: Experiment, user: string, variant: string | null): Change {
  if (variant !== null && !exp.weights.some((w) => w.variant === variant)) {
    throw new ChangeInvalid(
      "variant",
      `'${variant}' is not one of the experiment's variants (${exp.weights.map((w) => w.variant).join(", ")})`,
    );
  }
  const pins = new Map(exp.pins);
  const before = pins.get(user) ?? null;
  if (variant === null) pins.delete(user);
  else pins.set(user, variant);
  return { next: { ...exp, pins }, kind: variant === null ? "unpin" : "pin", detail: { user, before, after: variant } };
}

/**
 * The options that give a key its own limits and budget, shared by `keys
 * create` and `keys limit`: `--rpm`, `--tpm`, `--budget-usd` and
 * `--budget-period`; `none` clears one (the tenant's applies again).
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import type { BudgetPeriod } from "../core/budget-period.js";
import type { KeyLimits, KeyRecord } from "../store/keys.js";

/** "none" (commander cannot carry a null) clears the setting. */
export interface LimitOptions {
  rpm?: number | "none";
  tpm?: number | "none";
  budgetUsd?: number | "none";
  budgetPeriod?: BudgetPeriod;
}

const count = (flag: string) => (v: string) => {
  if (v === "none") return v;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${flag} takes a whole number above 0, or none`);
  return n;
};

const usd = (v: string) => {
  if (v === "none") return v;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("--budget-usd takes an amount above 0, or none");
  return n;
};

export function addLimitOptions(cmd: Command): Command {
  return cmd
    .option("--rpm <n>", "the key's own requests per minute (none: the tenant's)", count("--rpm"))
    .option("--tpm <n>", "the key's own tokens per minute (none: the tenant's)", count("--tpm"))
    .option("--budget-usd <usd>", "what the key's calls may cost per period (none: no budget of its own)", usd)
    .addOption(
      new Option("--budget-period <period>", "the budget's calendar period, in UTC").choices(["day", "week", "month"]),
    );
}

/** `current`: the key as stored, whose budget period is kept when only the amount changes. */
export function limitsFromOptions(o: LimitOptions, current?: KeyRecord): KeyLimits {
  if (o.budgetPeriod && o.budgetUsd === undefined) {
    throw new Error("--budget-period needs --budget-usd (the budget it is the period of)");
  }
  const orNull = <T>(v: T | "none") => (v === "none" ? null : v);
  return {
    ...(o.rpm !== undefined ? { requests_per_minute: orNull(o.rpm) } : {}),
    ...(o.tpm !== undefined ? { tokens_per_minute: orNull(o.tpm) } : {}),
    ...(o.budgetUsd !== undefined
      ? {
          budget:
            o.budgetUsd === "none"
              ? null
              : { usd: o.budgetUsd, period: o.budgetPeriod ?? current?.budget_period ?? "month" },
        }
      : {}),
  };
}

/** "rpm=60 tpm=tenant budget=$5/month" for listings. */
export function describeLimits(k: KeyRecord): string {
  const budget = k.budget_usd !== null ? `$${k.budget_usd}/${k.budget_period}` : "tenant";
  return `rpm=${k.requests_per_minute ?? "tenant"} tpm=${k.tokens_per_minute ?? "tenant"} budget=${budget}`;
}

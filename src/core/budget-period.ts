/**
 * The calendar periods spend budgets run over, in UTC: a day from midnight, a
 * week from Monday midnight (ISO 8601), a month from the 1st. Every period
 * starts on a whole hour, so hourly rollups sum to exactly the period's spend.
 */
export type BudgetPeriod = "day" | "week" | "month";

const DAY_MS = 86_400_000;

export function periodStart(period: BudgetPeriod, now: number): number {
  const d = new Date(now);
  const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (period === "day") return midnight;
  if (period === "week") return midnight - ((d.getUTCDay() + 6) % 7) * DAY_MS;
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** When the period holding `now` ends (the next one starts). */
export function periodEnd(period: BudgetPeriod, now: number): number {
  const start = periodStart(period, now);
  if (period === "day") return start + DAY_MS;
  if (period === "week") return start + 7 * DAY_MS;
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

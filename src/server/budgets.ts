/**
 * Spend budgets: what a key's calls (its own `budget_usd`) and a tenant's
 * calls together (`tenants.<name>.budget`) may cost per calendar period. A
 * call is refused with a 429 once the spend reaches the budget.
 *
 * The spend is the store's (hourly rollups: every replica's logged calls) plus
 * what this process has spent since it last read the store. The store is read
 * when a budget is first checked in a period (the only time a call waits for
 * it), then again in the background every REFRESH_MS. So a budget holds across
 * replicas up to what the other replicas spent in the last REFRESH_MS plus
 * one log flush, and calls already in flight when it is reached still finish:
 * a budget can be overshot by that much, never lifted.
 */
import type { Logger } from "pino";
import { type BudgetPeriod, periodEnd, periodStart } from "../core/budget-period.js";
import type { Config } from "../core/config/schema.js";
import { errors } from "../errors.js";
import type { Db } from "../store/db.js";
import { keySpend, tenantSpend } from "../store/spend.js";
import type { Principal } from "./auth.js";

export const REFRESH_MS = 5_000;

interface Budget {
  usd: number;
  period: BudgetPeriod;
}

interface Ledger {
  scope: "key" | "tenant";
  id: string;
  start: number;
  /** Spent in the period as the store last said. */
  stored: number;
  /** Spent by this process since that read began. */
  local: number;
  /** The first read of the period, which a check waits for; later reads never hold a call up. */
  firstRead: Promise<void>;
}

export interface BudgetStanding {
  scope: "key" | "tenant";
  usd: number;
  period: BudgetPeriod;
  spentUsd: number;
  resetsAt: number;
}

export class SpendBudgets {
  readonly #ledgers = new Map<string, Ledger>();
  /** Whether any tenant has a budget: without one, only a key's own can apply. */
  readonly #tenantBudgets: boolean;
  #timer: NodeJS.Timeout | undefined;
  #refreshing = false;

  constructor(
    private readonly db: Db,
    private readonly config: Config,
    private readonly logger: Logger,
  ) {
    this.#tenantBudgets = Object.values(config.tenants).some((t) => t.budget);
  }

  start(): void {
    this.#timer = setInterval(() => {
      if (this.#refreshing) return;
      this.#refreshing = true;
      void this.#refreshAll().finally(() => {
        this.#refreshing = false;
      });
    }, REFRESH_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The budgets that apply to this caller: its key's, then its tenant's. */
  budgetsOf(p: Principal): { scope: "key" | "tenant"; id: string; budget: Budget }[] {
    const out: { scope: "key" | "tenant"; id: string; budget: Budget }[] = [];
    if (p.keyId && p.key?.budget_usd != null && p.key.budget_period) {
      out.push({ scope: "key", id: p.keyId, budget: { usd: p.key.budget_usd, period: p.key.budget_period } });
    }
    const t = Object.hasOwn(this.config.tenants, p.tenant) ? this.config.tenants[p.tenant]?.budget : undefined;
    if (t) out.push({ scope: "tenant", id: p.tenant, budget: t });
    return out;
  }

  /** Whether any budget can apply to this caller (false is the request path's usual case). */
  applies(p: Principal): boolean {
    return this.#tenantBudgets || p.key?.budget_usd != null;
  }

  /** Throws a 429 when the key's or the tenant's budget for this period is spent. */
  async check(p: Principal, now = Date.now()): Promise<void> {
    for (const b of this.budgetsOf(p)) {
      const spent = await this.#spent(b.scope, b.id, b.budget.period, now);
      if (spent < b.budget.usd) continue;
      const resetsAt = periodEnd(b.budget.period, now);
      const whose = b.scope === "key" ? "this key" : `tenant '${p.tenant}'`;
      const err = errors.budgetSpent(
        { retryAfterMs: resetsAt - now },
        whose,
        spent,
        b.budget.usd,
        b.budget.period,
        new Date(resetsAt).toISOString(),
      );
      // Retrying cannot help before the period ends; the OpenAI SDKs honour this header.
      throw Object.assign(err, { headers: { "x-should-retry": "false" } });
    }
  }

  /** Where the caller stands against each of its budgets (for the keys admin API). */
  async standing(p: Principal, now = Date.now()): Promise<BudgetStanding[]> {
    const out: BudgetStanding[] = [];
    for (const b of this.budgetsOf(p)) {
      out.push({
        scope: b.scope,
        usd: b.budget.usd,
        period: b.budget.period,
        spentUsd: await this.#spent(b.scope, b.id, b.budget.period, now),
        resetsAt: periodEnd(b.budget.period, now),
      });
    }
    return out;
  }

  /** Adds an answered call's cost to its key's and tenant's spend. */
  spend(p: Principal, usd: number): void {
    if (!(usd > 0) || !this.applies(p)) return;
    const now = Date.now();
    for (const b of this.budgetsOf(p)) {
      const ledger = this.#ledgers.get(ledgerKey(b.scope, b.id, b.budget.period));
      if (ledger && ledger.start === periodStart(b.budget.period, now)) ledger.local += usd;
    }
  }

  async #spent(scope: "key" | "tenant", id: string, period: BudgetPeriod, now: number): Promise<number> {
    const key = ledgerKey(scope, id, period);
    const start = periodStart(period, now);
    let ledger = this.#ledgers.get(key);
    if (!ledger || ledger.start !== start) {
      const fresh: Ledger = { scope, id, start, stored: 0, local: 0, firstRead: Promise.resolve() };
      fresh.firstRead = this.#read(fresh.scope, fresh.start, [fresh]);
      this.#ledgers.set(key, fresh);
      ledger = fresh;
    }
    await ledger.firstRead;
    return ledger.stored + ledger.local;
  }

  /** Reads the stored spend of ledgers of one scope and period start, in one query. */
  async #read(scope: "key" | "tenant", start: number, ledgers: Ledger[]): Promise<void> {
    const localBefore = ledgers.map((l) => l.local);
    const ids = ledgers.map((l) => l.id);
    try {
      const spent = scope === "key" ? await keySpend(this.db, ids, start) : await tenantSpend(this.db, ids, start);
      ledgers.forEach((l, i) => {
        l.stored = spent.get(l.id) ?? 0;
        // What this process spent while the store was read may not be in it yet: keep it.
        l.local -= localBefore[i] as number;
      });
    } catch (err) {
      this.logger.error({ err, scope }, "could not read spend from the store; counting this replica's own meanwhile");
    }
  }

  async #refreshAll(): Promise<void> {
    const now = Date.now();
    const groups = new Map<string, Ledger[]>();
    for (const [key, ledger] of this.#ledgers) {
      const period = key.split("\u0000")[1] as BudgetPeriod;
      if (ledger.start !== periodStart(period, now)) {
        this.#ledgers.delete(key); // a new period: read afresh when next checked
        continue;
      }
      const group = `${ledger.scope}\u0000${ledger.start}`;
      groups.set(group, [...(groups.get(group) ?? []), ledger]);
    }
    for (const ledgers of groups.values()) {
      const first = ledgers[0] as Ledger;
      await this.#read(first.scope, first.start, ledgers);
    }
  }
}

const ledgerKey = (scope: "key" | "tenant", id: string, period: BudgetPeriod) => `${scope}\u0000${period}\u0000${id}`;

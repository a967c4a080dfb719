/** Workbench runs: one input answered by several variants, saved whole so a run can be reopened. */
import type { Db } from "./db.js";
import type { WorkbenchRunTable } from "./schema.js";

export interface WorkbenchInput {
  messages: { role: string; content: unknown }[];
  variables: Record<string, string>;
}

export interface WorkbenchResult {
  target: string;
  prompt: string | null;
  prompt_version: string | null;
  backend: string;
  model: string;
  status: number;
  output: string | null;
  error: string | null;
  latency_ms: number;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
}

export type WorkbenchRun = Omit<WorkbenchRunTable, "input" | "results"> & {
  input: WorkbenchInput;
  results: WorkbenchResult[];
};

export async function saveWorkbenchRun(db: Db, run: WorkbenchRun): Promise<void> {
  await db
    .insertInto("workbench_runs")
    .values({ ...run, input: JSON.stringify(run.input), results: JSON.stringify(run.results) })
    .execute();
}

function parsed(r: WorkbenchRunTable): WorkbenchRun {
  return { ...r, created_at: Number(r.created_at), input: JSON.parse(r.input), results: JSON.parse(r.results) };
}

export async function loadWorkbenchRun(db: Db, tenant: string, id: string): Promise<WorkbenchRun | undefined> {
  const r = await db
    .selectFrom("workbench_runs")
    .selectAll()
    .where("tenant", "=", tenant)
    .where("id", "=", id)
    .executeTakeFirst();
  return r ? parsed(r) : undefined;
}

export async function listWorkbenchRuns(db: Db, tenant: string, limit = 50): Promise<WorkbenchRun[]> {
  const rows = await db
    .selectFrom("workbench_runs")
    .selectAll()
    .where("tenant", "=", tenant)
    .orderBy("created_at", "desc")
    .limit(limit)
    .execute();
  return rows.map(parsed);
}

// Frozen in time: never import application code here, never edit after release.
import type { Kysely } from "kysely";

/** A shadow comparison of tool-calling answers: how many calls each made, and whether they agree. */
export async function up(db: Kysely<any>): Promise<void> {
  for (const column of ["primary_tool_calls", "candidate_tool_calls", "tool_names_match", "tool_args_match"]) {
    await db.schema.alterTable("shadow_results").addColumn(column, "integer").execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const column of ["primary_tool_calls", "candidate_tool_calls", "tool_names_match", "tool_args_match"]) {
    await db.schema.alterTable("shadow_results").dropColumn(column).execute();
  }
}

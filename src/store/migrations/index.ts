/**
 * Every migration, in order. Listed here rather than read from the directory so
 * the migrator works the same from src/ under tests and from dist/.
 */
import type { Migration } from "kysely";
import * as m0001 from "./20261123_0001_initial.js";
import * as m0002 from "./20261123_0002_feedback.js";
import * as m0003 from "./20261123_0003_conversations.js";
import * as m0004 from "./20261123_0004_experiments.js";
import * as m0005 from "./20261201_0005_endpoint.js";
import * as m0006 from "./20261201_0006_responses.js";
import * as m0007 from "./20261201_0007_shadow_tool_calls.js";
import * as m0008 from "./20261201_0008_prompts.js";
import * as m0010 from "./20261201_0010_key_limits.js";
import * as m0011 from "./20261201_0011_adapter.js";
import * as m0012 from "./20261201_0012_fts_per_batch.js";

export const migrations: Record<string, Migration> = {
  "20261123_0001_initial": m0001,
  "20261123_0002_feedback": m0002,
  "20261123_0003_conversations": m0003,
  "20261123_0004_experiments": m0004,
  "20261201_0005_endpoint": m0005,
  "20261201_0006_responses": m0006,
  "20261201_0007_shadow_tool_calls": m0007,
  "20261201_0008_prompts": m0008,
  "20261201_0010_key_limits": m0010,
  "20261201_0011_adapter": m0011,
  "20261201_0012_fts_per_batch": m0012,
};

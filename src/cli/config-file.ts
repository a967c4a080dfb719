/** Finds and reads the config file: --config, else $SWITCHYARD_CONFIG, else ./switchyard.yaml. */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseConfig } from "../core/config/parse.js";
import type { Config } from "../core/config/schema.js";

export function configPath(flag: string | undefined): string {
  return resolve(flag ?? process.env.SWITCHYARD_CONFIG ?? "switchyard.yaml");
}

/** The parsed config, or undefined when the file does not exist (and was not named explicitly). */
export function loadConfigFile(flag: string | undefined): Config | undefined {
  const path = configPath(flag);
  const named = flag !== undefined || process.env.SWITCHYARD_CONFIG !== undefined;
  if (!existsSync(path)) {
    if (named) throw new Error(`config file ${path} does not exist`);
    return undefined;
  }
  return parseConfig(readFileSync(path, "utf8"), path, process.env);
}

/** The tenant a store command reads: the one given, else the only one declared. */
export function tenantOf(cfg: Config, given: string | undefined): string {
  if (given) return given;
  const declared = Object.keys(cfg.tenants);
  if (declared.length === 1) return declared[0] as string;
  throw new Error(`several tenants are declared (${declared.join(", ")}); choose one with --tenant`);
}

/**
 * The SQLite log writer runs in its own thread, whose isolate holds every module
 * it imports. Kysely there cost ~2 MB of that heap for a list of column names,
 * so this checks what the built worker module actually loads.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "switchyard-worker-imports-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The files that importing `file` loads: every ESM module and the entry of each CommonJS
 * package (a package's own require() calls inside it pass no hook).
 */
function modulesLoadedBy(file: string): string[] {
  const list = join(dir, "loaded.txt");
  writeFileSync(list, "");
  const hooks = join(dir, "hooks.mjs");
  writeFileSync(
    hooks,
    `import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  appendFileSync(${JSON.stringify(list)}, url + "\\n");
  return next(url, context);
}
`,
  );
  const register = join(dir, "register.mjs");
  writeFileSync(
    register,
    `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  // Outside a worker thread the module has no parentPort and only loads its imports.
  // NODE_OPTIONS cleared: a developer's own --import (a debugger, an APM agent) would load more.
  execFileSync(process.execPath, ["--import", pathToFileURL(register).href, file], {
    stdio: "pipe",
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  return readFileSync(list, "utf8").trim().split("\n");
}

describe("the SQLite log writer's thread", () => {
  it("imports its writer and better-sqlite3, and no other package (Kysely included)", () => {
    const loaded = modulesLoadedBy(join(import.meta.dirname, "..", "dist", "store", "sqlite-log-worker.js"));
    expect(loaded.some((u) => u.includes("/dist/store/sqlite-log-writer.js"))).toBe(true);
    const packages = new Set(loaded.flatMap((u) => u.match(/\/node_modules\/((@[^/]+\/)?[^/]+)\//)?.[1] ?? []));
    expect([...packages]).toEqual(["better-sqlite3"]);
  });
});

/**
 * Builds dist/ once before the tests that run the real `switchyard` command,
 * the web UI (web/dist) that the server serves at / and the browser tests use,
 * installs Debian's chromium for those tests when it is missing, starts (or
 * installs) a Redis for the replica tests when none answers on 127.0.0.1:6379,
 * and, with SWITCHYARD_TEST_STORE=postgres, a PostgreSQL (test/postgres.ts).
 */
import { execFileSync } from "node:child_process";
import { ensureChromium } from "./browser.js";
import { dropTestDatabases, ensurePostgres, startTestRun, testStore } from "./postgres.js";
import { ensureRedis } from "./redis.js";

export default async function setup(): Promise<() => void> {
  execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
  execFileSync("npx", ["vite", "build", "web", "--logLevel", "warn"], { stdio: "inherit" });
  ensureChromium();
  await ensureRedis();
  startTestRun();
  await ensurePostgres();
  if (testStore() === "postgres") dropTestDatabases();
  return () => {
    if (testStore() === "postgres") dropTestDatabases();
  };
}

/**
 * Builds dist/ once before the tests that run the real `switchyard` command,
 * and the web UI (web/dist) that the server serves at / and the browser tests use.
 */
import { execFileSync } from "node:child_process";

export default function setup(): void {
  execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
  execFileSync("npx", ["vite", "build", "web", "--logLevel", "warn"], { stdio: "inherit" });
}

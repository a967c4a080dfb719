/**
 * Builds dist/ once before the tests that run the real `switchyard` command,
 * the web UI (web/dist) that the server serves at / and the browser tests use,
 * and installs Debian's chromium for those tests when it is missing.
 */
import { execFileSync } from "node:child_process";
import { ensureChromium } from "./browser.js";

export default function setup(): void {
  execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
  execFileSync("npx", ["vite", "build", "web", "--logLevel", "warn"], { stdio: "inherit" });
  ensureChromium();
}

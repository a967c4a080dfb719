/**
 * Debian's chromium for the browser tests, driven by playwright-core (never a
 * downloaded browser). The test setup installs the package when it is missing.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

/** Installs Debian's chromium with apt when it is not there (the machines run as root). */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0) {
    console.warn(
      `${CHROMIUM} is missing and this is not root: the browser tests will fail; apt-get install -y chromium`,
    );
    return;
  }
  console.log(`${CHROMIUM} is missing: installing Debian's chromium for the browser tests (apt-get, once)`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-qq", "chromium"], { stdio: "inherit", env });
}

/** A headless chromium with a fresh profile; close() removes nothing the test needs. */
export async function launchBrowser(viewport = { width: 1280, height: 860 }): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`the browser tests need Debian's chromium at ${CHROMIUM}`);
  const profile = mkdtempSync(join(tmpdir(), "switchyard-chromium-"));
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    acceptDownloads: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

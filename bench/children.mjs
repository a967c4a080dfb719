// Shared by the smaller benchmarks: the build, child processes logged to files, Switchyard started on a
// config, readiness polling, medians, results files.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * The node flags `npm start` and the `switchyard` command's shebang run `serve` with: a 4 MB young
 * generation, and V8's helper threads sized to the machine (cores - 1) rather than Node's fixed 4.
 */
export const SERVE_NODE_FLAGS = ["--max-semi-space-size=4", "--v8-pool-size=0"];

/** Starts `node argv...` in `cwd` with its output in `dir/name.log`; `children` collects it for stopping. */
export function startChild(children, dir, cwd, name, argv) {
  const fd = fs.openSync(path.join(dir, `${name}.log`), "a");
  const proc = spawn(process.execPath, argv, { cwd, stdio: ["ignore", fd, fd] });
  fs.closeSync(fd);
  children.add(proc);
  proc.on("exit", () => children.delete(proc));
  return proc;
}

/** Polls `url` until it answers 2xx (up to a minute). */
export async function waitReady(url, name, logDir) {
  for (let i = 0; i < 600; i++) {
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} not ready at ${url}; see ${logDir}/${name}.log`);
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Builds dist/ and the web UI (npm run build), or throws. */
export function build(root) {
  if (spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" }).status !== 0) throw new Error("build failed");
}

/**
 * Writes `yaml` as the config in `dir` and starts `switchyard serve` on it with the flags `npm start`
 * uses; resolves with the process once `http://127.0.0.1:port/readyz` answers.
 */
export async function startSwitchyard(children, dir, root, yaml, port) {
  const config = path.join(dir, "switchyard.yaml");
  fs.writeFileSync(config, yaml);
  const proc = startChild(children, dir, root, "switchyard", [
    ...SERVE_NODE_FLAGS,
    path.join(root, "dist/cli/main.js"),
    "serve",
    "--config",
    config,
  ]);
  await waitReady(`http://127.0.0.1:${port}/readyz`, "switchyard", dir);
  return proc;
}

/** Saves a run's figures as results/<name>-<timestamp>.json with the machine it ran on; returns the path. */
export function writeResults(benchDir, name, payload) {
  const file = path.join(benchDir, "results", `${name}-${new Date().toISOString().replaceAll(":", "-")}.json`);
  const machine = { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, loadavg: os.loadavg() };
  fs.writeFileSync(file, `${JSON.stringify({ ...payload, machine }, null, 1)}\n`);
  return file;
}

/** Stops every child and removes the temp dir (after they had a moment to exit). */
export function stopAll(children, dir) {
  for (const c of children) c.kill("SIGTERM");
  setTimeout(() => fs.rmSync(dir, { recursive: true, force: true }), 500);
}

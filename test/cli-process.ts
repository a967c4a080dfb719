/** Runs the built `switchyard` command as a child process, as a user would. */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { resolve } from "node:path";

export const CLI = resolve(import.meta.dirname, "../dist/cli/main.js");

export function runCli(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...env }, encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `switchyard serve` and resolves once it says where it listens. */
export function serve(args: string[], cwd: string, env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI, "serve", ...args], { cwd, env: { ...process.env, ...env } });
  let out = "";
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  return new Promise((resolveStart, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /switchyard listening on (http:\/\/[^"\s]+)/.exec(out);
      if (m?.[1]) {
        resolveStart({
          child,
          url: m[1],
          output: () => out,
          stop: (signal = "SIGTERM") => {
            child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then((code) => reject(new Error(`serve exited (${code}) before listening:\n${out}`)));
  });
}

// Shared by the smaller benchmarks: child processes logged to files, readiness polling, medians.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

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

/**
 * The Redis the replica tests share: 127.0.0.1:6379 as the machines run it. The
 * test setup starts Debian's redis-server when none answers there, installing
 * it with apt first when it is missing (the machines run as root).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createConnection } from "node:net";

export const REDIS_URL = "redis://127.0.0.1:6379";

function answers(port = 6379): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port }, () => {
      socket.end();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

export async function ensureRedis(): Promise<void> {
  if (await answers()) return;
  if (!existsSync("/usr/bin/redis-server")) {
    if (process.getuid?.() !== 0) {
      console.warn(
        "no Redis on 127.0.0.1:6379 and this is not root: the Redis tests will fail; apt-get install redis-server",
      );
      return;
    }
    console.log("no Redis on 127.0.0.1:6379: installing Debian's redis-server for the tests (apt-get, once)");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    execFileSync("apt-get", ["install", "-y", "-qq", "redis-server"], { stdio: "inherit", env });
  }
  console.log("starting redis-server on 127.0.0.1:6379 for the tests (nothing kept on disk)");
  execFileSync(
    "redis-server",
    ["--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", "", "--appendonly", "no"],
    {
      stdio: "inherit",
    },
  );
  for (let i = 0; i < 50 && !(await answers()); i++) await new Promise((r) => setTimeout(r, 100));
}

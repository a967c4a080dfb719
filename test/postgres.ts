/**
 * The PostgreSQL the tests use when SWITCHYARD_TEST_STORE=postgres (the
 * switch that runs the whole suite on PostgreSQL instead of SQLite files):
 * SWITCHYARD_TEST_PG_URL, by default postgres://postgres@127.0.0.1:5432 with
 * trust auth, as the machines run it. When nothing answers there, the test
 * setup starts a throwaway cluster of Debian's PostgreSQL on that port
 * (installing it with apt first when it is missing; the machines run as root).
 * Every store a test asks for is a fresh database, dropped when the run ends.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createConnection } from "node:net";

export const testStore = (): "sqlite" | "postgres" =>
  process.env.SWITCHYARD_TEST_STORE === "postgres" ? "postgres" : "sqlite";

const serverUrl = () => new URL(process.env.SWITCHYARD_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
const DATABASE_PREFIX = "sy_test_";
// Set by the global setup before the test workers start, so every database of one run shares it;
// its first part is the run's start time, so leftovers of an interrupted run can be told by age.
const RUN_ENV = "SWITCHYARD_TEST_RUN";
const LEFTOVER_MS = 6 * 3_600_000;

export function startTestRun(): void {
  process.env[RUN_ENV] ??= `${Date.now().toString(36)}_${process.pid}`;
}
const runId = () => process.env[RUN_ENV] ?? `${Date.now().toString(36)}_${process.pid}`;

function psql(sql: string): string {
  const u = serverUrl();
  return execFileSync(
    "psql",
    [
      "-X",
      "-q",
      "-t",
      "-A",
      "-h",
      u.hostname,
      "-p",
      u.port || "5432",
      "-U",
      u.username || "postgres",
      "-d",
      "postgres",
      "-c",
      sql,
    ],
    {
      encoding: "utf8",
      env: { ...process.env, ...(u.password ? { PGPASSWORD: decodeURIComponent(u.password) } : {}) },
    },
  );
}

let created = 0;

/** A fresh, empty database's URL (synchronous, like creating a temporary SQLite file). */
export function createTestDatabase(): string {
  const name = `${DATABASE_PREFIX}${runId()}_${process.pid}_${created++}`;
  psql(`CREATE DATABASE ${name}`);
  const u = serverUrl();
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * Drops this run's databases, and those of runs that started more than six
 * hours ago (interrupted ones); another run going on meanwhile keeps its own.
 */
export function dropTestDatabases(): void {
  const names = psql(`SELECT datname FROM pg_database WHERE datname LIKE '${DATABASE_PREFIX}%'`)
    .split("\n")
    .filter((n) => n !== "");
  const mine = `${DATABASE_PREFIX}${runId()}_`;
  for (const n of names) {
    const started = Number.parseInt(n.slice(DATABASE_PREFIX.length).split("_")[0] ?? "", 36);
    const stale = !Number.isFinite(started) || Date.now() - started > LEFTOVER_MS;
    if (n.startsWith(mine) || stale) psql(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`);
  }
}

function answers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port }, () => {
      socket.end();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

function debianBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const version = readdirSync(root).sort().pop();
  return version ? `${root}/${version}/bin` : undefined;
}

export async function ensurePostgres(): Promise<void> {
  if (testStore() !== "postgres") return;
  const u = serverUrl();
  const port = Number(u.port || 5432);
  if (await answers(u.hostname, port)) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `SWITCHYARD_TEST_STORE=postgres but nothing answers on ${u.host}, and only root may install one here`,
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (!debianBin()) {
    console.log(`no PostgreSQL on ${u.host}: installing Debian's postgresql for the tests (apt-get, once)`);
    execFileSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    execFileSync("apt-get", ["install", "-y", "-qq", "postgresql"], { stdio: "inherit", env });
  }
  const bin = debianBin() as string;
  const dir = "/tmp/switchyard-test-pg";
  console.log(`starting a throwaway PostgreSQL cluster in ${dir} on ${u.host} for the tests (trust auth)`);
  // initdb and the server refuse to run as root: they run as Debian's postgres user.
  const asPostgres = (cmd: string, args: string[]) =>
    execFileSync("runuser", ["-u", "postgres", "--", cmd, ...args], { stdio: "inherit", env });
  if (!existsSync(`${dir}/PG_VERSION`)) {
    execFileSync("install", ["-d", "-o", "postgres", dir]);
    asPostgres(`${bin}/initdb`, ["-D", dir, "-A", "trust", "-U", "postgres", "--no-sync"]);
  }
  asPostgres(`${bin}/pg_ctl`, [
    "-D",
    dir,
    "-l",
    `${dir}/server.log`,
    "-o",
    `-h ${u.hostname} -p ${port} -k /tmp -c fsync=off -c max_connections=500`,
    "-w",
    "start",
  ]);
}

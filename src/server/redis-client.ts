/**
 * The one Redis connection a process shares between the response cache and
 * the rate limits. It never holds a request up: commands time out, are not
 * retried per request, and fail at once (rather than queue) while Redis is
 * unreachable; it reconnects in the background. ioredis is loaded only here,
 * so a process without Redis does not carry it.
 */
import type { Redis } from "ioredis";

export interface RedisOptions {
  url: string;
  commandTimeoutMs: number;
}

export async function openRedis(opts: RedisOptions, onError: (e: unknown) => void): Promise<Redis> {
  const { Redis: Client } = await import("ioredis");
  const redis = new Client(opts.url, {
    commandTimeout: opts.commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  redis.on("error", onError);
  // Commands are not queued while connecting: wait for the connection (boundedly) so the first
  // requests are not all misses and per-replica counts; a Redis that is down does not delay the start long.
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off("ready", done);
      resolve();
    };
    const timer = setTimeout(done, READY_WAIT_MS);
    redis.once("ready", done);
  });
  return redis;
}

const READY_WAIT_MS = 2000;

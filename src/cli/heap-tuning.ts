/**
 * How the serving process trades memory against collection work (figures in
 * bench/README.md, "Pretenuring"). V8 reads these flags as it goes, so setting
 * them at run time works; a flag given on the node command line is kept (but
 * for `--max-semi-space-size`, below, which the main thread keeps anyway).
 *
 * - `--no-allocation-site-pretenuring`. V8 moves an allocation site's objects
 *   straight to the old generation once most of them outlive a young-generation
 *   collection. Under load that is true of a request's own objects (its
 *   headers, signal, log row): they are alive at the collection because the
 *   request is in flight, and die a few milliseconds after it. Pretenured, they
 *   die in the old generation instead: at 64 connections 8.6-10 KB promoted per
 *   request instead of about 2.3, three times the major collections, and GC helper
 *   threads using ~35 µs of CPU per request instead of ~14.
 * - `--heap-growing-percent=30`. V8 lets the old generation grow to several
 *   times what survived the last full collection before collecting again;
 *   with little promoted, a factor of 1.3 costs few collections and keeps the
 *   peak RSS low.
 * - `--max-semi-space-size` cleared once this isolate has its young generation
 *   (`npm start` and the shebang give 4 MB): the flag, when set, overrides a
 *   worker's `resourceLimits`, so the log writer's isolate would take the main
 *   thread's young generation instead of its own smaller one.
 *
 * Not here: `--v8-pool-size=0` (V8's helper threads, cores - 1 instead of
 * Node's fixed 4) is a Node option read once at start, so `npm start` and the
 * shebang give it with the semi-space size.
 */
import { setFlagsFromString } from "node:v8";

export const HEAP_GROWING_PERCENT = 30;

/** Whether node was started with `flag` or its `--no-` form (V8 takes `_` for `-` too). */
export function flagGiven(flag: string, execArgv: readonly string[] = process.execArgv): boolean {
  const names = [flag, flag.replace(/^--/, "--no-")];
  return execArgv.some((a) => names.some((n) => a.replaceAll("_", "-").startsWith(n)));
}

export function tuneHeapForServing(): void {
  if (!flagGiven("--allocation-site-pretenuring")) setFlagsFromString("--no-allocation-site-pretenuring");
  if (!flagGiven("--heap-growing-percent")) setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  setFlagsFromString("--max-semi-space-size=0");
}

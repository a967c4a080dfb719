/**
 * How the serving process trades memory against collection work. Under load,
 * objects that outlive a young-generation collection (the state of requests in
 * flight, log rows waiting for their batch) are promoted, and by default V8 lets
 * the old generation grow to about four times what it held after the last full
 * collection before it collects again. Capping that factor at 1.6 took the peak
 * RSS at 64 connections from ~270 to ~190 MiB for about 2 % of throughput
 * (bench/README.md). The flag is read at every full collection, so setting it
 * at run time works; one given on the command line or in NODE_OPTIONS wins.
 */
import { setFlagsFromString } from "node:v8";

const FLAG = "--heap-growing-percent";
export const HEAP_GROWING_PERCENT = 60;

export function tuneHeapForServing(): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)];
  // V8 takes --heap_growing_percent as well.
  if (given.some((a) => a.replaceAll("_", "-").startsWith(FLAG))) return;
  setFlagsFromString(`${FLAG}=${HEAP_GROWING_PERCENT}`);
}

/**
 * How the serving process trades memory against collection work. Under load,
 * objects that outlive a young-generation collection (the state of requests in
 * flight, log rows waiting for their batch) are promoted, and V8 lets the old
 * generation grow up to about four times what survived the last full collection
 * before collecting again. `--heap-growing-percent=60` replaces V8's choice of
 * factor with 1.6: the peak RSS at 64 connections went from ~270 to ~190 MiB
 * for about 2 % of throughput (bench/README.md). V8 reads the flag at every
 * full collection, so setting it at run time works. Node does not accept it in
 * NODE_OPTIONS; given on the node command line, the caller's value is kept.
 */
import { setFlagsFromString } from "node:v8";

const FLAG = "--heap-growing-percent";
export const HEAP_GROWING_PERCENT = 60;

export function tuneHeapForServing(): void {
  // V8 takes --heap_growing_percent as well.
  if (process.execArgv.some((a) => a.replaceAll("_", "-").startsWith(FLAG))) return;
  setFlagsFromString(`${FLAG}=${HEAP_GROWING_PERCENT}`);
}

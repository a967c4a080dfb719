import { describe, expect, it } from "vitest";
import { flagGiven } from "../src/cli/heap-tuning.js";

describe("flagGiven: a heap flag given on the node command line is left to the caller", () => {
  it.each([
    [["--heap-growing-percent=50"], "--heap-growing-percent"],
    [["--heap_growing_percent=50"], "--heap-growing-percent"],
    [["--allocation-site-pretenuring"], "--allocation-site-pretenuring"],
    [["--no-allocation-site-pretenuring"], "--allocation-site-pretenuring"],
    [["--no_allocation_site_pretenuring"], "--allocation-site-pretenuring"],
    [["--max-semi-space-size=4", "--heap-growing-percent=10"], "--heap-growing-percent"],
  ])("finds %j for %s", (argv, flag) => {
    expect(flagGiven(flag, argv)).toBe(true);
  });

  it("finds nothing in other flags", () => {
    expect(flagGiven("--heap-growing-percent", ["--max-semi-space-size=4", "--enable-source-maps"])).toBe(false);
    expect(flagGiven("--allocation-site-pretenuring", [])).toBe(false);
  });
});

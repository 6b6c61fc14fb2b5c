import { describe, expect, it } from "vitest";
import { pairedBootstrap } from "./bootstrap.ts";

describe("pairedBootstrap", () => {
  it("finds no difference between identical scores", () => {
    const a = [0.1, 0.5, 0.9, 0.3];
    expect(pairedBootstrap(a, a)).toEqual({
      difference: 0,
      low: 0,
      high: 0,
      p: 1,
      significant: false,
      queries: 4,
    });
  });

  it("calls a consistent gain over many queries more than noise, and a coin flip's not", () => {
    const base = Array.from({ length: 200 }, (_, i) => (i % 10) / 10);
    const better = base.map((x) => x + 0.05);
    const gain = pairedBootstrap(base, better);
    expect(gain.difference).toBeCloseTo(0.05, 10);
    expect(gain).toMatchObject({ low: expect.closeTo(0.05, 10), significant: true, p: 0 });
    // Half the queries up by 0.5, half down by 0.5 (alternating): a mean of 0 with a wide interval.
    const mixed = base.map((x, i) => x + (i % 2 ? 0.5 : -0.5));
    const noise = pairedBootstrap(base, mixed);
    expect(noise.difference).toBeCloseTo(0, 10);
    expect(noise.significant).toBe(false);
    expect(noise.low).toBeLessThan(-0.03);
    expect(noise.high).toBeGreaterThan(0.03);
  });

  it("is reproducible for a seed, and refuses unpaired scores", () => {
    const a = [0, 1, 0, 1, 1, 0, 1];
    const b = [1, 1, 0, 1, 0, 1, 1];
    expect(pairedBootstrap(a, b, { seed: 7 })).toEqual(pairedBootstrap(a, b, { seed: 7 }));
    expect(() => pairedBootstrap([1], [1, 2])).toThrow(RangeError);
  });
});

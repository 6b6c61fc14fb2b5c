// Which variant the Experiments view marks best on each row (pure logic, no browser): the highest or lowest
// value as shown, ties marked together, and nothing marked where a mark would say nothing.
import { describe, expect, it } from "vitest";
import { best, FIGURES, type VariantStats } from "../../web/src/experiments/stats.ts";

const figure = (id: string) => {
  const found = FIGURES.find((f) => f.id === id);
  if (!found) throw new Error(`no figure ${id}`);
  return found;
};

function variant(name: string, p50: number | null, positiveShare: number | null): VariantStats {
  return {
    variant: name,
    configHash: "cfg",
    requests: 10,
    feedback: { count: 4, mean: 0, up: 2, down: 2, positiveShare },
    latencyMs: { p50, p95: p50 },
    tokens: { input: 100, output: 10 },
    estimatedCostUsd: 0.01,
  };
}

describe("best", () => {
  it.each([
    ["the lowest latency", "p50", [variant("a", 120, null), variant("b", 80, null)], ["b"]],
    ["the highest share", "positiveShare", [variant("a", 1, 0.75), variant("b", 1, 0.5)], ["a"]],
    [
      "both of a tie above a third",
      "positiveShare",
      [variant("a", 1, 0.5), variant("b", 1, 0.5), variant("c", 1, 0.2)],
      ["a", "b"],
    ],
    [
      "none when values differ only past what is shown (1.6 and 2.3 ms both read 2 ms)",
      "p50",
      [variant("a", 1.6, null), variant("b", 2.3, null)],
      [],
    ],
    ["none when all are equal", "p50", [variant("a", 50, null), variant("b", 50, null)], []],
    [
      "none when only one variant has a value",
      "positiveShare",
      [variant("a", 1, 0.9), variant("b", 1, null)],
      [],
    ],
    [
      "none on a total, which grows with traffic",
      "cost",
      [variant("a", 1, null), { ...variant("b", 1, null), estimatedCostUsd: 0.5 }],
      [],
    ],
  ])("marks %s", (_case, id, variants, expected) => {
    expect([...best(figure(id), variants)].sort()).toEqual(expected);
  });

  it("leaves totals unranked and ranks every rate", () => {
    const ranked = FIGURES.filter((f) => f.better).map((f) => f.id);
    expect(ranked).toEqual(["positiveShare", "meanScore", "p50", "p95"]);
  });
});

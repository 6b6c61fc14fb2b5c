import { describe, expect, it } from "vitest";
import { TopK, topK } from "./top-k.ts";

describe("topK", () => {
  it("returns the k highest scores, best first, as a full sort would", () => {
    // A fixed pseudo-random sequence (LCG), so that the test is deterministic but not hand-ordered.
    let x = 42;
    const scores = Array.from({ length: 1000 }, () => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x / 2 ** 31;
    });
    const best = topK(scores.keys(), 10, (i) => scores[i]);
    const expected = [...scores].sort((a, b) => b - a).slice(0, 10);
    expect(best.map((r) => r.score)).toEqual(expected);
    expect(best.map((r) => scores[r.item])).toEqual(expected);
  });

  it("returns everything when there are fewer items than k", () => {
    expect(topK(["a", "b"], 5, (s) => (s === "a" ? 1 : 2))).toEqual([
      { item: "b", score: 2 },
      { item: "a", score: 1 },
    ]);
  });

  it("returns nothing for k = 0 and skips NaN scores", () => {
    expect(topK([1, 2, 3], 0, (n) => n)).toEqual([]);
    expect(topK([1, Number.NaN, 3], 3, (n) => n).map((r) => r.item)).toEqual([3, 1]);
  });

  it("keeps the first of equal scores at the cut-off and reports the entry threshold", () => {
    const heap = new TopK<string>(2);
    expect(heap.threshold).toBe(Number.NEGATIVE_INFINITY);
    heap.push("first", 1);
    heap.push("second", 1);
    heap.push("third", 1);
    expect(heap.threshold).toBe(1);
    expect(
      heap
        .take()
        .map((r) => r.item)
        .sort(),
    ).toEqual(["first", "second"]);
    expect(heap.size).toBe(0);
  });
});

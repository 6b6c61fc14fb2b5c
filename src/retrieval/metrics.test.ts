import { describe, expect, it } from "vitest";
import { mrrAtK, ndcgAtK, recallAtK } from "./metrics.ts";

// Worked by hand. Ranking d3, d1, d7, d2 against relevant {d1, d2, d9} (binary):
//   DCG@3  = 1/log2(3)                          = 0.630930
//   IDCG@3 = 1 + 1/log2(3) + 1/log2(4)          = 2.130930
//   nDCG@3 = 0.630930 / 2.130930                = 0.296085
//   DCG@4  = 1/log2(3) + 1/log2(5)              = 0.630930 + 0.430677 = 1.061606
//   nDCG@4 = 1.061606 / 2.130930                = 0.498189  (IDCG@4 = IDCG@3: only 3 relevant)
const ranked = ["d3", "d1", "d7", "d2"];
const relevant = new Map([
  ["d1", 1],
  ["d2", 1],
  ["d9", 1],
]);

describe("ranking metrics", () => {
  it("computes nDCG@k with log2 discounts against the ideal ranking", () => {
    expect(ndcgAtK(ranked, relevant, 3)).toBeCloseTo(0.296085, 5);
    expect(ndcgAtK(ranked, relevant, 4)).toBeCloseTo(0.498189, 5);
  });

  it("uses graded relevance as gain", () => {
    // Ranking b, a with a = 2, b = 1: DCG = 1 + 2/log2(3) = 2.261860; IDCG = 2 + 1/log2(3) = 2.630930.
    expect(ndcgAtK(["b", "a"], { a: 2, b: 1 }, 2)).toBeCloseTo(0.859719, 5);
    expect(ndcgAtK(["a", "b"], { a: 2, b: 1 }, 2)).toBeCloseTo(1, 10);
  });

  it("computes recall@k as the share of relevant ids retrieved", () => {
    expect(recallAtK(ranked, relevant, 3)).toBeCloseTo(1 / 3, 10);
    expect(recallAtK(ranked, relevant, 4)).toBeCloseTo(2 / 3, 10);
  });

  it("computes MRR@k from the first relevant rank, 0 when none is in the top k", () => {
    expect(mrrAtK(ranked, relevant, 3)).toBe(0.5);
    expect(mrrAtK(ranked, relevant, 1)).toBe(0);
  });

  it("counts an id retrieved twice once, at its best rank", () => {
    expect(recallAtK(["d1", "d1", "d2"], relevant, 2)).toBeCloseTo(2 / 3, 10);
    expect(ndcgAtK(["d1", "d1"], { d1: 1 }, 2)).toBe(1);
  });

  it("scores 0 when nothing is relevant or nothing is retrieved", () => {
    expect(ndcgAtK(ranked, {}, 10)).toBe(0);
    expect(recallAtK(ranked, {}, 10)).toBe(0);
    expect(ndcgAtK([], relevant, 10)).toBe(0);
    expect(mrrAtK([], relevant, 10)).toBe(0);
  });
});

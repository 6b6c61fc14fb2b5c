import { describe, expect, it } from "vitest";
import {
  bestOver,
  citesRelevant,
  containsAnswer,
  exactMatch,
  normalizeAnswer,
  tokenF1,
} from "./answer-metrics.ts";

describe("answer metrics", () => {
  it("normalises as SQuAD does, and drops citation marks", () => {
    expect(normalizeAnswer("The  Denver Broncos! [1]")).toBe("denver broncos");
    expect(normalizeAnswer("A peer-to-peer network [2, 3] and an index [1-2].")).toBe(
      "peertopeer network and index",
    );
    expect(normalizeAnswer("20,000 bottles")).toBe("20000 bottles");
  });

  it("scores token overlap F1", () => {
    // answer: denver broncos won (3 tokens); reference: denver broncos (2): 2 in common, P = 2/3, R = 1,
    // F1 = 2 * (2/3) * 1 / (2/3 + 1) = (4/3) / (5/3) = 0.8.
    expect(tokenF1("The Denver Broncos won", "Denver Broncos")).toBeCloseTo(0.8, 10);
    // A repeated token counts as often as it occurs on both sides: "cat cat dog" vs "cat dog dog" share
    // min(2, 1) cats + min(1, 2) dogs = 2 tokens, P = R = 2/3, F1 = 2/3.
    expect(tokenF1("cat cat dog", "cat dog dog")).toBeCloseTo(2 / 3, 10);
    expect(tokenF1("nothing shared", "else entirely")).toBe(0);
    expect(tokenF1("The", "a")).toBe(1); // both empty once articles go
    expect(tokenF1("The", "cat")).toBe(0);
  });

  it("says whether an answer cites a relevant document", () => {
    const sources = ["d2", "d7", "d1"];
    expect(citesRelevant([3], sources, new Map([["d1", 1]]))).toBe(true);
    expect(citesRelevant([1, 2], sources, { d1: 1 })).toBe(false);
    expect(citesRelevant([], sources, { d1: 1 })).toBe(false);
    // A citation past the sources, or a grade of 0, points at nothing relevant.
    expect(citesRelevant([4], sources, { d1: 1 })).toBe(false);
    expect(citesRelevant([1], sources, { d2: 0 })).toBe(false);
  });

  it("matches exactly after normalising, scores against the closest reference, finds references in retrieved text", () => {
    expect(exactMatch("The Denver Broncos [1].", "Denver Broncos")).toBe(true);
    expect(exactMatch("Broncos", "Denver Broncos")).toBe(false);
    expect(
      bestOver(["10th century", "the first half of the 10th century"], (r) => tokenF1("10th century", r)),
    ).toBe(1);
    expect(bestOver([], () => 1)).toBe(0);
    const texts = ["There were 20,000 bottles of water and 200 laptops.", "Nothing here."];
    expect(containsAnswer(texts, ["200 laptops"])).toBe(true);
    expect(containsAnswer(texts, ["20,000 bottles"])).toBe(true); // "20000 bottles" once normalised
    // On word boundaries: "00 laptops" is not an answer found in "200 laptops".
    expect(containsAnswer(texts, ["00 laptops"])).toBe(false);
    expect(containsAnswer(texts, [])).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { isStopWord, searchTerms, terms, words } from "./analysis.ts";

describe("text analysis", () => {
  it("lower-cases words, drops possessive s, and keeps stop words in words()", () => {
    expect(words("The patient's IL-6 levels")).toEqual(["the", "patient", "il", "6", "levels"]);
    expect(isStopWord("the")).toBe(true);
  });

  it("stems and drops stop words in terms()", () => {
    expect(terms("The running dogs of the IL-6 pathway")).toEqual(["run", "dog", "il", "6", "pathwai"]);
  });

  it("indexes letter-digit words by their parts too, so IL6, IL-6 and IL 6 meet", () => {
    expect(searchTerms("IL6")).toEqual(["il6", "il", "6"]);
    expect(searchTerms("IL-6")).toEqual(["il", "6"]);
    expect(searchTerms("H1N1 strains")).toEqual(["h1n1", "h", "1", "n", "1", "strain"]);
  });

  it("spells out Greek letters, so β-catenin meets beta-catenin", () => {
    expect(searchTerms("β-catenin")).toEqual(searchTerms("beta-catenin"));
    expect(searchTerms("TNF-α")).toEqual(["tnf", "alpha"]);
  });
});

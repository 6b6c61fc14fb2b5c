import { Document } from "@langchain/core/documents";
import { describe, expect, it } from "vitest";
import type { ScoredDocument, SearchOptions } from "../contracts/search.ts";
import { decomposeByRules, parseSubQueries, searchEach } from "./decompose.ts";

describe("decomposeByRules", () => {
  it("splits a question at a conjunction that starts a new question", async () => {
    expect(
      await decomposeByRules(
        "For what railroad did Stephenson build a locomotive and where is Bielany Forest located?",
      ),
    ).toEqual(["For what railroad did Stephenson build a locomotive", "where is Bielany Forest located?"]);
    expect(await decomposeByRules("What is a Merkle tree, and why does Bitcoin use one?")).toEqual([
      "What is a Merkle tree",
      "why does Bitcoin use one?",
    ]);
  });

  it("splits comparisons and separate questions", async () => {
    expect(await decomposeByRules("Compare proof-of-work and proof-of-stake")).toEqual([
      "proof-of-work",
      "proof-of-stake",
    ]);
    expect(await decomposeByRules("What is the difference between TCP and UDP?")).toEqual(["TCP", "UDP"]);
    expect(await decomposeByRules("Who founded Warsaw? When was it rebuilt?")).toEqual([
      "Who founded Warsaw?",
      "When was it rebuilt?",
    ]);
  });

  it("leaves a question that asks one thing whole, even with an 'and' in it", async () => {
    for (const question of [
      "How many bottles and blankets were delivered?",
      "Who wrote Tom and Jerry?",
      "Vitamin D deficiency is linked to fractures and falls.",
    ])
      expect(await decomposeByRules(question)).toEqual([question]);
  });
});

describe("parseSubQueries", () => {
  it("reads one sub-query a line, without list marks, at most four", () => {
    expect(parseSubQueries("1. What is X?\n2) Why Y?\n", "q")).toEqual(["What is X?", "Why Y?"]);
    expect(parseSubQueries("- a one\n- b two\n- c three\n- d four\n- e five", "q")).toHaveLength(4);
  });

  it("gives the question back when the model gives one line or none", () => {
    expect(parseSubQueries("What is X?", "What is X?")).toEqual(["What is X?"]);
    expect(parseSubQueries("", "the question")).toEqual(["the question"]);
  });
});

describe("searchEach", () => {
  const doc = (id: string) => ({ document: new Document({ id, pageContent: id }), score: 1 });
  const lists: Record<string, ScoredDocument[]> = {
    a: [doc("a1"), doc("shared"), doc("a3")],
    b: [doc("shared"), doc("b2")],
  };
  const searcher = {
    calls: [] as [string, SearchOptions][],
    async search(query: string, options: SearchOptions) {
      this.calls.push([query, options]);
      return lists[query].slice(0, options.k);
    },
  };

  it("searches each sub-query and merges their results in turns, a chunk found twice kept once", async () => {
    const merged = await searchEach(searcher, ["a", "b"], { k: 3, filter: { tenant: "x" } });
    expect(merged.map((s) => s.document.id)).toEqual(["a1", "shared", "b2", "a3"]);
    expect(searcher.calls).toEqual([
      ["a", { k: 3, filter: { tenant: "x" } }],
      ["b", { k: 3, filter: { tenant: "x" } }],
    ]);
  });
});

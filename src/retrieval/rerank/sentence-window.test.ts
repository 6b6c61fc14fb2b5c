import { Document } from "@langchain/core/documents";
import { describe, expect, it } from "vitest";
import { SentenceWindowReranker } from "./sentence-window.ts";

const candidate = (id: string, text: string, score: number) => ({
  document: new Document({ id, pageContent: text }),
  score,
});

describe("SentenceWindowReranker", () => {
  // Retrieval put "scattered" first: it holds every query word, but no two adjacent sentences hold them all.
  const candidates = [
    candidate(
      "scattered",
      "The treaty was signed in a hall. The hall burned in a great fire. Years later the duke fell ill.",
      1.0,
    ),
    candidate("answer", "The duke signed the treaty in 911. Nothing else happened that year.", 0.9),
    candidate("other", "Rivers flow to the sea.", 0.5),
  ];
  const query = "When did the duke sign the treaty?";

  it("raises the chunk whose sentence holds the question over one that only shares its words", async () => {
    const ranked = await new SentenceWindowReranker().rerank(query, candidates, 3);
    expect(ranked.map((c) => c.document.id)).toEqual(["answer", "scattered", "other"]);
    // Scores are the fused ones, best first.
    expect(ranked[0].score).toBeGreaterThan(ranked[1].score);
  });

  it("keeps k, and keeps retrieval's order with a window weight of 0", async () => {
    const ranked = await new SentenceWindowReranker(0).rerank(query, candidates, 2);
    expect(ranked.map((c) => c.document.id)).toEqual(["scattered", "answer"]);
  });

  it("keeps retrieval's order for a query without content words", async () => {
    const ranked = await new SentenceWindowReranker().rerank("is it?", candidates, 3);
    expect(ranked.map((c) => c.document.id)).toEqual(["scattered", "answer", "other"]);
  });
});

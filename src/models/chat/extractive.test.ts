// The extractive answerer on real document text (test/fixtures, origins in SOURCES.md).
import { readFileSync } from "node:fs";
import path from "node:path";
import { Document } from "@langchain/core/documents";
import { describe, expect, it } from "vitest";
import type { ScoredDocument } from "../../contracts/search.ts";
import { splitSentences } from "../../text/sentences.ts";
import { ABSTAIN_ANSWER, ExtractiveAnswerer } from "./extractive.ts";

const FIXTURES = path.resolve(import.meta.dirname, "../../../test/fixtures");
const read = (name: string) => readFileSync(path.join(FIXTURES, name), "utf8");
const memo = read("fake-memo.txt");
const handbook = read("handbook-1p.txt");
const bitcoin = read("bitcoin.txt");

function chunk(text: string, source: string, page?: number): ScoredDocument {
  const metadata = page === undefined ? { source } : { source, page };
  return { document: new Document({ pageContent: text, metadata, id: `${source}#${page ?? 0}` }), score: 1 };
}
/** The whitepaper one page per chunk, as a PDF loader splits it (pdf-parse marks pages "-- n of 9 --"). */
const bitcoinPages = bitcoin
  .split(/\n-- \d+ of \d+ --\n/)
  .filter((p) => p.trim())
  .map((p, i) => chunk(p, "bitcoin.pdf", i + 1));
const handbookParagraphs = handbook
  .split(/\n\s*\n/)
  .filter((p) => p.trim().length > 80)
  .map((p, i) => chunk(p, "handbook-1p.docx", i + 1));
const memoChunk = chunk(memo, "fake-memo.pdf", 1);

/** Text compared regardless of line breaks and the reference marks the answerer drops. */
const flat = (text: string) => text.replace(/\[\d+(?:[,–-]\s?\d+)*\]/g, "").replace(/\s+/g, "");

describe("splitSentences", () => {
  it("rejoins the memo's wrapped lines and keeps 20,000 and the date inside one sentence", () => {
    expect(splitSentences(memo)).toEqual([
      "May 5, 2023",
      "To Whom it May Concern:",
      "There were 20,000 bottles of water, 10,000 blankets, and 200 laptops delivered on January 23, 2023.",
      "A total of 3 trucks were used for 15 hours.",
      "Best Regards, Mallori",
    ]);
  });

  it("does not end a sentence at abbreviations such as U.S.C., C.F.R. and et seq.", () => {
    const sentences = splitSentences(handbook);
    expect(sentences).toContain("28 U.S.C. § 586(b).");
    expect(sentences).toContain("11 U.S.C. § 321, 28 U.S.C. § 586, 28 C.F.R. § 58.6(a)(3).");
    expect(sentences).toContain(
      "All statutory references in this Handbook refer to the Bankruptcy Code, 11 U.S.C. § 101 et seq., unless otherwise indicated.",
    );
    expect(sentences).toContain("A. PURPOSE");
    for (const s of sentences) expect(s).not.toMatch(/(?:U\.S|C\.F\.R|seq)\.$/);
  });

  it("keeps decimals, numbered list items and hyphenated line breaks of a PDF whole", () => {
    const sentences = splitSentences(bitcoin);
    expect(sentences).toContain(
      "If we suppose blocks are generated every 10 minutes, 80 bytes * 6 * 24 * 365 = 4.2MB per year.",
    );
    expect(sentences).toContain("1) New transactions are broadcast to all nodes.");
    expect(sentences).toContain("2) Each node collects new transactions into a block.");
    expect(sentences).toContain("1. Introduction");
    expect(
      sentences.find((s) => s.includes("non-reversible payments for non-reversible services")),
    ).toBeDefined();
    // Page numbers and pdf-parse's page markers are not sentences.
    expect(sentences).not.toContain("1");
    expect(sentences.some((s) => s.includes("-- 1 of 9 --"))).toBe(false);
  });
});

describe("ExtractiveAnswerer", () => {
  const answerer = new ExtractiveAnswerer();
  const library = [...bitcoinPages, ...handbookParagraphs, memoChunk];

  it("answers from the memo with the figure and a citation of its chunk", () => {
    const result = answerer.answer({
      question: "How many bottles of water?",
      sources: [memoChunk, ...handbookParagraphs],
    });
    expect(result.abstained).toBe(false);
    expect(result.answer).toContain("20,000");
    expect(result.answer).toMatch(/\[1\]$/);
    expect(result.citations).toEqual([1]);
  });

  it("answers a paraphrased question whose other term is not in the text", () => {
    const result = answerer.answer({ question: "How many laptops were shipped?", sources: [memoChunk] });
    expect(result.answer).toBe(
      "There were 20,000 bottles of water, 10,000 blankets, and 200 laptops delivered on January 23, 2023. [1]",
    );
  });

  it.each([
    "What is the capital of Mongolia?",
    "What is the boiling point of liquid nitrogen on Jupiter's moons?",
    "Who is the CEO of Tesla?",
    "What is the warranty period for laptops?",
  ])("abstains on a question the documents do not answer: %s", (question) => {
    const result = answerer.answer({ question, sources: [memoChunk, ...handbookParagraphs.slice(0, 4)] });
    expect(result).toMatchObject({ answer: ABSTAIN_ANSWER, citations: [], abstained: true, sentences: [] });
  });

  it("abstains with no sources, or a question without content words", () => {
    expect(answerer.answer({ question: "How many bottles of water?", sources: [] }).abstained).toBe(true);
    expect(answerer.answer({ question: "What is it?", sources: [memoChunk] }).abstained).toBe(true);
  });

  it.each([
    "How many trucks were used?",
    "What is a Merkle tree?",
    "Who appoints standing trustees?",
    "What happens if two nodes broadcast different blocks?",
    "How can privacy be maintained?",
  ])("cites, for each quoted sentence, the chunk it comes from: %s", (question) => {
    const result = answerer.answer({ question, sources: library });
    expect(result.abstained).toBe(false);
    expect(result.sentences.length).toBeGreaterThan(0);
    expect(result.sentences.length).toBeLessThanOrEqual(3);
    for (const s of result.sentences) {
      expect(s.citation).toBeGreaterThanOrEqual(1);
      expect(s.citation).toBeLessThanOrEqual(library.length);
      expect(flat(library[s.citation - 1].document.pageContent)).toContain(flat(s.text));
      expect(result.answer).toContain(`${s.text} [${s.citation}]`);
    }
    expect(result.citations).toEqual(
      [...new Set(result.sentences.map((s) => s.citation))].sort((a, b) => a - b),
    );
    // The text's own reference marks are dropped, so every [n] in the answer is one of ours.
    const marks = [...result.answer.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1]));
    for (const n of marks) expect(result.citations).toContain(n);
  });

  it("quotes the sentences in source order", () => {
    const result = answerer.answer({ question: "What is a Merkle tree?", sources: library });
    const order = result.sentences.map((s) => s.citation);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it("quotes a sentence once when overlapping chunks repeat it", () => {
    const result = answerer.answer({
      question: "How many trucks were used?",
      sources: [memoChunk, memoChunk],
    });
    expect(result.answer).toBe("A total of 3 trucks were used for 15 hours. [1]");
  });

  it("gives the same answer every time", () => {
    const question = "How does the network handle double-spending?";
    const first = answerer.answer({ question, sources: library });
    for (let i = 0; i < 3; i++)
      expect(new ExtractiveAnswerer().answer({ question, sources: library })).toEqual(first);
  });

  it("honours maxSentences and a stricter minRelevance", () => {
    const one = new ExtractiveAnswerer({ maxSentences: 1 }).answer({
      question: "What is proof-of-work?",
      sources: library,
    });
    expect(one.sentences).toHaveLength(1);
    const strict = new ExtractiveAnswerer({ minRelevance: 0.9 });
    expect(
      strict.answer({ question: "How many laptops were shipped?", sources: [memoChunk] }).abstained,
    ).toBe(true);
  });

  it("rejects options outside their range", () => {
    expect(() => new ExtractiveAnswerer({ minRelevance: 2 })).toThrow(/minRelevance/);
    expect(() => new ExtractiveAnswerer({ maxSentences: 0 })).toThrow(/maxSentences/);
  });

  it("runs as a LangChain runnable", async () => {
    const runnable = answerer.asRunnable();
    const input = { question: "How many bottles of water?", sources: [memoChunk] };
    expect(await runnable.invoke(input)).toEqual(answerer.answer(input));
    const chunks = [];
    for await (const chunk of await runnable.stream(input)) chunks.push(chunk);
    expect(chunks).toEqual([answerer.answer(input)]);
  });
});

// One contract for every Counsel vector store (local, Redis vector sets, Redis Query Engine), in the manner of
// LangChain's standard integration tests: what the indexing API, hybrid search and the chains rely on.
import { Document } from "@langchain/core/documents";
import type { VectorStore } from "@langchain/core/vectorstores";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LexicalSearch } from "../../src/contracts/search.ts";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";

export type StoreUnderTest = VectorStore &
  LexicalSearch & {
    countChunks(): Promise<number>;
    maxMarginalRelevanceSearch(
      query: string,
      options: { k: number; fetchK?: number; lambda?: number },
    ): Promise<Document[]>;
    getByIds?(ids: string[]): Promise<Document[]>;
  };

export interface StoreFactory {
  create(embeddings: LocalHashEmbeddings): Promise<StoreUnderTest>;
  destroy?(store: StoreUnderTest): Promise<void>;
}

// Real sentences: the memo's facts (test/fixtures/fake-memo.txt) and a few from the Bitcoin whitepaper.
const CHUNKS = [
  {
    id: "memo-1",
    text: "There were 20,000 bottles of water, 10,000 blankets, and 200 laptops delivered on January 23, 2023.",
    source: "memo.pdf",
    page: 1,
    urgent: true,
  },
  {
    id: "memo-2",
    text: "A total of 3 trucks were used for 15 hours.",
    source: "memo.pdf",
    page: 1,
    urgent: true,
  },
  {
    id: "btc-1",
    text: "We propose a solution to the double-spending problem using a peer-to-peer network.",
    source: "bitcoin.pdf",
    page: 1,
    urgent: false,
  },
  {
    id: "btc-2",
    text: "The network timestamps transactions by hashing them into an ongoing chain of hash-based proof-of-work.",
    source: "bitcoin.pdf",
    page: 1,
    urgent: false,
  },
  {
    id: "btc-3",
    text: "To implement a distributed timestamp server on a peer-to-peer basis, we will need to use a proof-of-work system.",
    source: 'the "white" paper',
    page: 3,
    urgent: false,
  },
];

function docs() {
  return CHUNKS.map(
    (c) =>
      new Document({ pageContent: c.text, metadata: { source: c.source, page: c.page, urgent: c.urgent } }),
  );
}

export function describeVectorStoreContract(name: string, factory: StoreFactory) {
  describe(`${name} (vector store contract)`, () => {
    let store: StoreUnderTest;
    beforeEach(async () => {
      store = await factory.create(new LocalHashEmbeddings());
      await store.addDocuments(docs(), { ids: CHUNKS.map((c) => c.id) });
    });
    afterEach(async () => factory.destroy?.(store));

    it("counts what it holds and upserts by id instead of duplicating", async () => {
      expect(await store.countChunks()).toBe(CHUNKS.length);
      await store.addDocuments(
        [new Document({ pageContent: "Four trucks were used.", metadata: { source: "memo.pdf" } })],
        {
          ids: ["memo-2"],
        },
      );
      expect(await store.countChunks()).toBe(CHUNKS.length);
      const [[best]] = await store.similaritySearchWithScore("How many trucks were used?", 1);
      expect(best.id).toBe("memo-2");
      expect(best.pageContent).toBe("Four trucks were used.");
    });

    it("ranks by similarity, best first, with cosine scores, and returns ids and metadata", async () => {
      const hits = await store.similaritySearchWithScore("how many laptops and blankets were delivered", 3);
      expect(hits[0][0].id).toBe("memo-1");
      expect(hits[0][0].metadata).toMatchObject({ source: "memo.pdf", page: 1, urgent: true });
      for (let i = 1; i < hits.length; i++) expect(hits[i][1]).toBeLessThanOrEqual(hits[i - 1][1]);
      expect(hits[0][1]).toBeGreaterThan(0.2);
      expect(hits[0][1]).toBeLessThanOrEqual(1.0001);
    });

    it("filters on metadata equality: strings (with quotes), numbers and booleans", async () => {
      const bySource = await store.similaritySearch("proof-of-work", 5, { source: "bitcoin.pdf" });
      expect(bySource.map((d) => d.id).sort()).toEqual(["btc-1", "btc-2"]);
      const quoted = await store.similaritySearch("proof-of-work", 5, { source: 'the "white" paper' });
      expect(quoted.map((d) => d.id)).toEqual(["btc-3"]);
      const byPage = await store.similaritySearch("proof-of-work", 5, { page: 3 });
      expect(byPage.map((d) => d.id)).toEqual(["btc-3"]);
      const urgent = await store.similaritySearch("water", 5, { urgent: true });
      expect(urgent.map((d) => d.id).sort()).toEqual(["memo-1", "memo-2"]);
      expect(await store.similaritySearch("water", 5, { source: "nowhere.pdf" })).toEqual([]);
    });

    it("deletes by id, from the vectors and from the lexical index", async () => {
      await store.delete({ ids: ["memo-1"] });
      expect(await store.countChunks()).toBe(CHUNKS.length - 1);
      const vector = await store.similaritySearch("laptops blankets bottles of water", 5);
      expect(vector.map((d) => d.id)).not.toContain("memo-1");
      const lexical = await store.lexicalSearch("laptops blankets", { k: 5 });
      expect(lexical.map((h) => h.document.id)).not.toContain("memo-1");
    });

    it("finds the chunk with the exact rare term first in lexical search, and honours filters there", async () => {
      const hits = await store.lexicalSearch("double-spending", { k: 3 });
      expect(hits[0].document.id).toBe("btc-1");
      expect(hits[0].score).toBeGreaterThan(0);
      const filtered = await store.lexicalSearch("peer-to-peer", { k: 3, filter: { page: 3 } });
      expect(filtered.map((h) => h.document.id)).toEqual(["btc-3"]);
    });

    it("finds a selective filter's match in lexical search even when many better chunks fail the filter", async () => {
      const crowd = Array.from(
        { length: 150 },
        (_, i) =>
          new Document({
            pageContent: `Proof-of-work proof-of-work note ${i}: the proof-of-work chain grows.`,
            metadata: { source: "crowd.md" },
          }),
      );
      await store.addDocuments(crowd, { ids: crowd.map((_, i) => `crowd-${i}`) });
      const hits = await store.lexicalSearch("proof-of-work", {
        k: 2,
        filter: { source: 'the "white" paper' },
      });
      expect(hits.map((h) => h.document.id)).toEqual(["btc-3"]);
    });

    it("diversifies with maximal marginal relevance", async () => {
      await store.addDocuments(
        [new Document({ pageContent: CHUNKS[3].text, metadata: { source: "copy.pdf" } })],
        { ids: ["btc-2-copy"] },
      );
      const plain = await store.similaritySearch(CHUNKS[3].text, 2);
      expect(plain.map((d) => d.id).sort()).toEqual(["btc-2", "btc-2-copy"]);
      const diverse = await store.maxMarginalRelevanceSearch(CHUNKS[3].text, {
        k: 2,
        fetchK: 6,
        lambda: 0.3,
      });
      expect(diverse).toHaveLength(2);
      expect(diverse.map((d) => d.id).filter((id) => id?.startsWith("btc-2"))).toHaveLength(1);
    });

    it("round-trips odd Unicode unchanged", async () => {
      const text = "Zürich — naïve café ☕ 数据 \u200d emoji 👩‍💻 and a line\nbreak";
      await store.addDocuments([new Document({ pageContent: text, metadata: { source: "ünï.md" } })], {
        ids: ["uni"],
      });
      const [hit] = await store.similaritySearch(text, 1, { source: "ünï.md" });
      expect(hit.pageContent).toBe(text);
      expect(hit.id).toBe("uni");
    });
  });
}

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Document } from "@langchain/core/documents";
import { FakeEmbeddings, FakeVectorStore } from "@langchain/core/utils/testing";
import { describe, expect, it, vi } from "vitest";
import type { ScoredDocument } from "../../src/contracts/search.ts";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { HybridSearcher } from "../../src/retrieval/hybrid-search.ts";
import { LocalVectorStore } from "../../src/store/local/local-vector-store.ts";
import { sampleChunks } from "./scifact-sample.ts";

async function sampleStore() {
  const store = new LocalVectorStore(new LocalHashEmbeddings());
  const chunks = sampleChunks();
  await store.addDocuments(chunks, { ids: chunks.map((c) => c.id as string) });
  return store;
}

/** 1-based rank of `id` in the results, Infinity when absent. */
function rankOf(hits: ScoredDocument[], id: string): number {
  const i = hits.findIndex((h) => h.document.id === id);
  return i < 0 ? Number.POSITIVE_INFINITY : i + 1;
}

const K = 10;

describe("HybridSearcher", () => {
  it("finds an exact rare-term match that vector search ranks low", async () => {
    // SciFact test claim 1363; its evidence is 8290953, whose rare terms (venules, arterioles) BM25 rewards.
    const store = await sampleStore();
    const query = "Venules have a thinner or absent smooth layer compared to arterioles.";
    const search = (mode: "hybrid" | "vector" | "lexical") =>
      new HybridSearcher({ store, mode }).search(query, { k: K });
    const [hybrid, vector, lexical] = await Promise.all([
      search("hybrid"),
      search("vector"),
      search("lexical"),
    ]);
    expect(rankOf(lexical, "8290953")).toBe(1);
    expect(rankOf(vector, "8290953")).toBeGreaterThan(5);
    expect(rankOf(hybrid, "8290953")).toBe(1);
  });

  it("ranks by ids and reads only the k chunks it keeps, as fusing whole documents would rank them", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "counsel-hybrid-"));
    try {
      const store = new LocalVectorStore(new LocalHashEmbeddings(), { path: path.join(dir, "vectors.bin") });
      const chunks = sampleChunks();
      await store.addDocuments(chunks, { ids: chunks.map((c) => c.id as string) });
      await store.flush(); // a base: the texts are read from the file from now on
      expect(store.textsInMemory()).toBe(0);
      // The same store without its HitSearch methods: every candidate read whole, then fused.
      const whole = Object.create(store, { vectorHits: { value: undefined } }) as LocalVectorStore;
      const reads = vi.spyOn(store, "getByIds");
      for (const fusion of ["rrf", "weighted"] as const) {
        for (const claim of [
          "Venules have a thinner or absent smooth layer compared to arterioles.",
          "1/2000 in UK have abnormal PrP positivity.",
        ]) {
          const byHits = await new HybridSearcher({ store, fusion }).search(claim, { k: 5 });
          const byDocuments = await new HybridSearcher({ store: whole, fusion }).search(claim, { k: 5 });
          expect(byHits).toEqual(byDocuments);
          expect(byHits).toHaveLength(5);
          expect(byHits[0].document.pageContent.length).toBeGreaterThan(0);
        }
      }
      // One read of the five kept per search (the whole path reads through its searches, not getByIds).
      expect(reads.mock.calls.map(([ids]) => ids.length)).toEqual([5, 5, 5, 5]);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("finds a spelling variant that BM25 cannot match at all", async () => {
    // 1904291 is titled "…symptoms of hypoglycaemia…" (British spelling); the query uses the American one,
    // which stems differently, so only the vectors' character n-grams connect them.
    const store = await sampleStore();
    const query = "hypoglycemia";
    const search = (mode: "hybrid" | "vector" | "lexical") =>
      new HybridSearcher({ store, mode }).search(query, { k: K });
    const [hybrid, vector, lexical] = await Promise.all([
      search("hybrid"),
      search("vector"),
      search("lexical"),
    ]);
    expect(rankOf(lexical, "1904291")).toBe(Number.POSITIVE_INFINITY);
    expect(rankOf(vector, "1904291")).toBe(1);
    expect(rankOf(hybrid, "1904291")).toBe(1);
  });

  it("ranks the evidence of real claims at least as well as the weaker side, with either fusion", async () => {
    const store = await sampleStore();
    // SciFact test claims with their evidence abstracts (qrels/test.tsv).
    const claims: [string, string[]][] = [
      ["1/2000 in UK have abnormal PrP positivity.", ["13734012"]],
      ["A deficiency of vitamin B12 increases blood levels of homocysteine.", ["5152028", "11705328"]],
      ["Albendazole is used to treat lymphatic filariasis.", ["1215116"]],
      ["Incidence rates of cervical cancer have decreased.", ["12779444", "36355784", "25742130"]],
    ];
    for (const fusion of ["weighted", "rrf"] as const) {
      for (const [claim, evidence] of claims) {
        const ranks = async (mode: "hybrid" | "vector" | "lexical") => {
          const hits = await new HybridSearcher({ store, mode, fusion }).search(claim, { k: 27 });
          return evidence.map((id) => rankOf(hits, id));
        };
        const [h, v, l] = await Promise.all([ranks("hybrid"), ranks("vector"), ranks("lexical")]);
        for (const [i, rank] of h.entries()) {
          expect(rank, `${fusion}: ${claim}`).toBeLessThanOrEqual(Math.max(v[i], l[i]));
        }
      }
    }
  });

  it("returns k results, best first, honouring the metadata filter", async () => {
    const store = await sampleStore();
    const searcher = new HybridSearcher({ store });
    const hits = await searcher.search("obesity genetics", { k: 3 });
    expect(hits).toHaveLength(3);
    expect(hits[0].score).toBeGreaterThanOrEqual(hits[1].score);
    expect(hits[1].score).toBeGreaterThanOrEqual(hits[2].score);
    expect(new Set(hits.map((h) => h.document.id)).size).toBe(3);

    const filtered = await searcher.search("obesity genetics", { k: 5, filter: { doc_id: "29025270" } });
    expect(filtered.map((h) => h.document.id)).toEqual(["29025270"]);
    expect(await searcher.search("obesity", { k: 0 })).toEqual([]);
  });
});

describe("HybridSearcher in mmr mode", () => {
  // SciFact 1904291 ("…symptoms of hypoglycaemia…") indexed three times, as a paper mirrored by two sources
  // would be: once more whole, once without its title line.
  const EVIDENCE = "1904291";
  const QUERY = "hypoglycemia symptoms";
  async function storeWithNearDuplicates() {
    const store = await sampleStore();
    const [original] = await store.getByIds([EVIDENCE]);
    const [, ...body] = original.pageContent.split("\n");
    const copies = [
      new Document({ pageContent: original.pageContent, metadata: { doc_id: EVIDENCE }, id: "mirror" }),
      new Document({ pageContent: body.join("\n"), metadata: { doc_id: EVIDENCE }, id: "untitled" }),
    ];
    await store.addDocuments(copies, { ids: copies.map((c) => c.id as string) });
    return store;
  }
  const copiesOf = (hits: ScoredDocument[]) =>
    hits.filter((h) => [EVIDENCE, "mirror", "untitled"].includes(h.document.id as string));

  it("keeps one of near-duplicates that fill vector search's top results, and stays relevant", async () => {
    const store = await storeWithNearDuplicates();
    const vector = await new HybridSearcher({ store, mode: "vector" }).search(QUERY, { k: 5 });
    const mmr = await new HybridSearcher({ store, mode: "mmr" }).search(QUERY, { k: 5 });
    expect(copiesOf(vector)).toHaveLength(3);
    expect(copiesOf(mmr)).toHaveLength(1);
    expect(mmr).toHaveLength(5);
    expect(rankOf(mmr, EVIDENCE)).toBe(1);
    // Every pick comes from the vector search's candidates (the default fetchK: 20 for k = 5).
    const candidates = await new HybridSearcher({ store, mode: "vector" }).search(QUERY, { k: 20 });
    for (const hit of mmr) expect(rankOf(candidates, hit.document.id as string)).toBeLessThanOrEqual(20);
  });

  it("scores each result 1 / its rank, since MMR returns no scores", async () => {
    const store = await storeWithNearDuplicates();
    const mmr = await new HybridSearcher({ store, mode: "mmr" }).search(QUERY, { k: 4 });
    expect(mmr.map((h) => h.score)).toEqual([1, 1 / 2, 1 / 3, 1 / 4]);
  });

  it.each([
    ["lambda 1 ranks by relevance alone", { lambda: 1 }],
    ["fetchK = k leaves nothing else to pick from", { fetchK: 5 }],
  ])("picks what vector search picks when %s", async (_, mmr) => {
    const store = await storeWithNearDuplicates();
    const ids = (hits: ScoredDocument[]) => new Set(hits.map((h) => h.document.id));
    const vector = await new HybridSearcher({ store, mode: "vector" }).search(QUERY, { k: 5 });
    const picked = await new HybridSearcher({ store, mode: "mmr", mmr }).search(QUERY, { k: 5 });
    expect(ids(picked)).toEqual(ids(vector));
  });

  it("honours the metadata filter", async () => {
    const store = await storeWithNearDuplicates();
    const hits = await new HybridSearcher({ store, mode: "mmr" }).search(QUERY, {
      k: 5,
      filter: { doc_id: EVIDENCE },
    });
    expect(hits.map((h) => h.document.id).sort()).toEqual([EVIDENCE, "mirror", "untitled"].sort());
  });

  it("names a store that has no maximal marginal relevance search", async () => {
    const store = Object.assign(new FakeVectorStore(new FakeEmbeddings()), {
      lexicalSearch: async () => [],
    });
    await expect(new HybridSearcher({ store, mode: "mmr" }).search(QUERY, { k: 5 })).rejects.toThrow(
      /FakeVectorStore has no maximal marginal relevance search/,
    );
  });
});

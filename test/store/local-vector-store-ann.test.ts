// The local store's approximate index (src/store/local/ann-index.ts): what the store answers through it matches
// an exact scan, through upserts, deletes (which move other chunks between slots), a reload and a full delete.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Document } from "@langchain/core/documents";
import { afterEach, describe, expect, it } from "vitest";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { LocalVectorStore, type LocalVectorStoreOptions } from "../../src/store/local/local-vector-store.ts";
import {
  clusteredChunks,
  random,
  randomChunks,
  randomVector,
  stored,
  storedScore,
  unitQuery,
} from "../helpers/random-vectors.ts";

const DIMS = 64;
const embeddings = new LocalHashEmbeddings({ dimensions: DIMS });

function chunks(from: number, to: number, seed: number) {
  return randomChunks(from, to, seed, DIMS);
}

async function filled(options: LocalVectorStoreOptions, count: number, seed = 1) {
  const store = new LocalVectorStore(embeddings, options);
  const { vectors, docs } = chunks(0, count, seed);
  await store.addVectors(vectors, docs);
  return { store, vectors };
}

/** A search starts the index (it is built for searching, never for a process that only writes). */
async function indexed(store: LocalVectorStore): Promise<void> {
  await store.similaritySearchVectorWithScore(new Array(DIMS).fill(1), 1);
  await store.whenIndexed();
}

async function top(store: LocalVectorStore, query: number[], k = 10): Promise<string[]> {
  const hits = await store.similaritySearchVectorWithScore(query, k);
  return hits.map(([doc]) => doc.id as string);
}

describe("LocalVectorStore with the approximate index", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("finds what an exact scan finds, for nearly every query", async () => {
    const { store } = await filled({ vectorIndex: "hnsw" }, 3000);
    const { store: exact } = await filled({ vectorIndex: "exact" }, 3000);
    await indexed(store);
    expect(store.indexStatus()).toMatchObject({ indexed: 3000, pending: 0 });
    const next = random(99);
    let found = 0;
    for (let q = 0; q < 50; q++) {
      const query = randomVector(next, 1, DIMS);
      const truth = new Set(await top(exact, query));
      found += (await top(store, query)).filter((id) => truth.has(id)).length;
    }
    expect(found / 500).toBeGreaterThanOrEqual(0.95);
    expect(exact.indexStatus()).toMatchObject({ indexed: 0, pending: 0 });
  });

  it("ranks its candidates by their exact score", async () => {
    const { store, vectors } = await filled({ vectorIndex: "hnsw" }, 500);
    await indexed(store);
    const [[doc, score]] = await store.similaritySearchVectorWithScore(vectors[123], 1);
    expect(doc.id).toBe("c123");
    // The score of the exact scan (the int8 vector against the float query), not the index's approximation.
    expect(score).toBe(storedScore(unitQuery(vectors[123]), stored(vectors[123])));
  });

  it("starts at the first search, inserts a step at a time, and finds chunks not inserted yet", async () => {
    const { store, vectors } = await filled({ vectorIndex: "hnsw" }, 2000);
    // Writing alone builds nothing: a process that only ingests never pays for the graph.
    expect(store.indexStatus()).toMatchObject({ indexed: 0, pending: 0 });
    // The first search starts the build and, with most vectors pending, is answered by an exact scan.
    expect(await top(store, vectors[17], 1)).toEqual(["c17"]);
    expect(store.indexStatus().pending).toBe(2000);
    await new Promise((resolve) => setTimeout(resolve, 0));
    const { indexed: inGraph, pending } = store.indexStatus();
    expect(pending).toBeGreaterThan(0);
    expect(inGraph + pending).toBe(2000);
    await store.whenIndexed();
    // A few new chunks: searched from the pending list, beside the graph's candidates.
    const more = chunks(2000, 2005, 7);
    await store.addVectors(more.vectors, more.docs);
    expect(store.indexStatus().pending).toBe(5);
    expect(await top(store, more.vectors[3], 1)).toEqual(["c2003"]);
  });

  it("follows deletes, the moves they cause, and replacements", async () => {
    const { store, vectors } = await filled({ vectorIndex: "hnsw" }, 1000);
    await indexed(store);
    // Deleting c0 moves the last chunk (c999) into its slot: it must still be found by its own vector.
    await store.delete({ ids: ["c0", "c10"] });
    expect(await top(store, vectors[0], 3)).not.toContain("c0");
    expect(await top(store, vectors[999], 1)).toEqual(["c999"]);
    expect(await top(store, vectors[998], 1)).toEqual(["c998"]);
    // Replacing c5's vector with c7's: c5 is no longer near its old vector, and ties with c7 on the new one.
    await store.addVectors([vectors[7]], [new Document({ pageContent: "moved", metadata: {}, id: "c5" })]);
    await store.whenIndexed();
    expect(await top(store, vectors[5], 5)).not.toContain("c5");
    expect(new Set(await top(store, vectors[7], 2))).toEqual(new Set(["c5", "c7"]));
    expect(store.indexStatus()).toMatchObject({ indexed: 998, pending: 0 });
  });

  it("rebuilds the graph once removed vectors outnumber live ones", async () => {
    const { store } = await filled({ vectorIndex: "hnsw" }, 1000);
    await indexed(store);
    // Re-ingesting everything twice: 2,000 vectors removed from a graph of 1,000 live ones.
    for (const seed of [11, 12]) {
      const again = chunks(0, 1000, seed);
      await store.addVectors(again.vectors, again.docs);
      await store.whenIndexed();
    }
    const last = chunks(0, 1000, 12);
    // Without a rebuild the graph would carry 2,000 removed vectors; each round's removals outnumbered it.
    expect(store.indexStatus()).toMatchObject({ indexed: 1000, pending: 0, removed: 0 });
    expect(await top(store, last.vectors[321], 1)).toEqual(["c321"]);
  });

  it("applies filters exactly (the graph cannot)", async () => {
    const { store, vectors } = await filled({ vectorIndex: "hnsw" }, 800);
    await indexed(store);
    const hits = await store.similaritySearchVectorWithScore(vectors[0], 3, { n: 421 });
    expect(hits.map(([doc]) => doc.id)).toEqual(["c421"]);
  });

  it("is built in `auto` mode once the store reaches annMinChunks", async () => {
    const { store } = await filled({ annMinChunks: 300 }, 299);
    await indexed(store);
    expect(store.indexStatus()).toMatchObject({ indexed: 0, pending: 0 });
    const { vectors, docs } = chunks(299, 300, 3);
    await store.addVectors(vectors, docs);
    await indexed(store);
    expect(store.indexStatus()).toMatchObject({ indexed: 300, pending: 0 });
  });

  it("rebuilds after a reload and after deleting everything", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "counsel-ann-"));
    const file = path.join(dir, "vectors.bin");
    const { store, vectors } = await filled({ vectorIndex: "hnsw", path: file }, 600);
    await store.flush();
    const reloaded = await LocalVectorStore.load(embeddings, { vectorIndex: "hnsw", path: file });
    await indexed(reloaded);
    expect(reloaded.indexStatus()).toMatchObject({ indexed: 600, pending: 0 });
    expect(await top(reloaded, vectors[42], 1)).toEqual(["c42"]);
    await reloaded.delete({ deleteAll: true });
    expect(reloaded.indexStatus()).toMatchObject({ indexed: 0, pending: 0 });
    expect(await top(reloaded, vectors[42], 1)).toEqual([]);
    const again = chunks(0, 50, 5);
    await reloaded.addVectors(again.vectors, again.docs);
    await reloaded.whenIndexed();
    expect(await top(reloaded, again.vectors[9], 1)).toEqual(["c9"]);
  });

  describe("with dense vectors of many dimensions (what embedding models give)", () => {
    const WIDE = 1024;
    const wide = new LocalHashEmbeddings({ dimensions: WIDE });
    const corpus = clusteredChunks(3000, 60, 21, WIDE);

    async function wideStore(vectorIndex: "hnsw" | "exact", file?: string) {
      const store = new LocalVectorStore(wide, { vectorIndex, ...(file ? { path: file } : {}) });
      await store.addVectors(corpus.vectors, corpus.docs);
      return store;
    }

    it("keeps their signs (one bit a dimension) and still finds what an exact scan finds", async () => {
      const store = await wideStore("hnsw");
      const exact = await wideStore("exact");
      await store.similaritySearchVectorWithScore(corpus.query(0), 1);
      await store.whenIndexed();
      expect(store.indexStatus()).toMatchObject({ indexed: 3000, pending: 0, quantisation: "b1" });
      let found = 0;
      for (let q = 0; q < 30; q++) {
        const query = corpus.query(q);
        const truth = new Set(await top(exact, query));
        found += (await top(store, query)).filter((id) => truth.has(id)).length;
      }
      expect(found / 300).toBeGreaterThanOrEqual(0.95);
      // Ranked by the store's own vectors: the graph's signs only propose.
      const [[doc, score]] = await store.similaritySearchVectorWithScore(corpus.vectors[77], 1);
      expect(doc.id).toBe("c77");
      expect(score).toBe(storedScore(unitQuery(corpus.vectors[77]), stored(corpus.vectors[77])));
    });

    it("builds the graph as they are written, before any search", async () => {
      const store = await wideStore("hnsw");
      expect(store.indexStatus()).toMatchObject({ quantisation: "b1" });
      await store.whenIndexed();
      expect(store.indexStatus()).toMatchObject({ indexed: 3000, pending: 0 });
    });

    it("saves that graph when the store closes; a restart that writes reads it and inserts only what it wrote", async () => {
      dir = await mkdtemp(path.join(tmpdir(), "counsel-ann-"));
      const file = path.join(dir, "vectors.bin");
      const { vectors, docs } = clusteredChunks(6110, 60, 22, WIDE);
      const store = new LocalVectorStore(wide, { vectorIndex: "hnsw", path: file });
      await store.addVectors(vectors.slice(0, 5000), docs.slice(0, 5000));
      await store.whenIndexed();
      await store.flush(); // built from scratch: saved with a new base
      // Grown by less than a quarter since: not worth a new base while the store is open, but on closing it is.
      await store.addVectors(vectors.slice(5000, 6100), docs.slice(5000, 6100));
      await store.whenIndexed();
      await store.close();

      const reloaded = await LocalVectorStore.load(wide, { vectorIndex: "hnsw", path: file });
      expect(reloaded.indexStatus()).toEqual({ indexed: 0, pending: 0, removed: 0 });
      await reloaded.addVectors(vectors.slice(6100), docs.slice(6100));
      expect(reloaded.indexStatus()).toMatchObject({ indexed: 6100, pending: 10, quantisation: "b1" });
      await reloaded.whenIndexed();
      for (const i of [5, 5500, 6105]) expect(await top(reloaded, vectors[i], 1)).toEqual([`c${i}`]);
      await reloaded.close();
    });

    it("answers a sparse query (hashed text: its zeros have no sign) by a scan, not from the signs", async () => {
      const store = await wideStore("hnsw");
      const exact = await wideStore("exact");
      await store.whenIndexed();
      const next = random(5);
      for (let q = 0; q < 5; q++) {
        const sparse = randomVector(next, 0.1, WIDE);
        expect(await store.similaritySearchVectorWithScore(sparse, 10)).toEqual(
          await exact.similaritySearchVectorWithScore(sparse, 10),
        );
      }
    });

    it("keeps int8 when the stored vectors are sparse", async () => {
      const next = random(8);
      const store = new LocalVectorStore(wide, { vectorIndex: "hnsw" });
      const vectors = Array.from({ length: 300 }, () => randomVector(next, 0.5, WIDE));
      await store.addVectors(vectors, corpus.docs.slice(0, 300));
      await store.similaritySearchVectorWithScore(corpus.query(0), 1);
      await store.whenIndexed();
      expect(store.indexStatus()).toMatchObject({ indexed: 300, quantisation: "i8" });
    });

    it("reads a saved graph of signs back as signs", async () => {
      dir = await mkdtemp(path.join(tmpdir(), "counsel-ann-"));
      const file = path.join(dir, "vectors.bin");
      const store = await wideStore("hnsw", file);
      await store.similaritySearchVectorWithScore(corpus.query(0), 1);
      await store.whenIndexed();
      await store.flush();
      await store.close();
      const reloaded = await LocalVectorStore.load(wide, { vectorIndex: "hnsw", path: file });
      expect(await top(reloaded, corpus.vectors[5], 1)).toEqual(["c5"]);
      expect(reloaded.indexStatus()).toMatchObject({ indexed: 3000, pending: 0, quantisation: "b1" });
      await reloaded.close();
    });
  });
});

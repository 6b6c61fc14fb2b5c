// The local store with pages of a few slots, so that a small store spans many of them: exact search, deletes
// across page boundaries, saves during changes and reloads; and chunk texts that do not pin their documents.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { Document } from "@langchain/core/documents";
import { RecursiveCharacterTextSplitter } from "@langchain/textsplitters";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { LocalVectorStore } from "../../src/store/local/local-vector-store.ts";
import { random, randomVector, stored, storedScore, unitQuery } from "../helpers/random-vectors.ts";
import { sampleDocs } from "../retrieval/scifact-sample.ts";
import { describeVectorStoreContract, type StoreUnderTest } from "./vector-store.contract.ts";

const PAGE_SLOTS = 8;
const DIMS = 64;
const embeddings = new LocalHashEmbeddings({ dimensions: DIMS });

describeVectorStoreContract(`LocalVectorStore in pages of ${PAGE_SLOTS / 2} slots`, {
  create: async (embeddings) =>
    new LocalVectorStore(embeddings, { pageSlots: PAGE_SLOTS / 2 }) as unknown as StoreUnderTest,
});

/** Every chunk's [id, score] against `query` as the store scores a row, best first. */
function reference(entries: Map<string, number[]>, query: number[]): [string, number][] {
  const q = unitQuery(query);
  return [...entries]
    .map(([id, vector]): [string, number] => [id, storedScore(q, stored(vector))])
    .sort((a, b) => b[1] - a[1]);
}

describe("LocalVectorStore over many pages", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "counsel-pages-"));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  const next = random(2026);
  const queries = [
    ...Array.from({ length: 8 }, () => randomVector(next, 0.3, DIMS)),
    ...Array.from({ length: 2 }, () => randomVector(next, 1, DIMS)),
  ];

  /** Every chunk of `store`, scored against each query, equals the reference over `entries`, best first. */
  async function expectHolds(store: LocalVectorStore, entries: Map<string, number[]>) {
    expect(store.count()).toBe(entries.size);
    for (const query of queries) {
      const hits = await store.similaritySearchVectorWithScore(query, entries.size + 1);
      const expected = reference(entries, query);
      // Compared as a map, and as scores in order: sparse vectors tie (at 0), in no defined order.
      expect(new Map(hits.map(([doc, score]) => [doc.id, score]))).toEqual(new Map(expected));
      expect(hits.map(([, score]) => score)).toEqual(expected.map(([, score]) => score));
    }
  }

  function harness(store: LocalVectorStore) {
    const entries = new Map<string, number[]>();
    const put = async (ids: string[]) => {
      const vectors = ids.map(() => randomVector(next, 0.3, DIMS));
      const docs = ids.map((id) => new Document({ pageContent: `text ${id}`, metadata: { id } }));
      await store.addVectors(vectors, docs, { ids });
      ids.forEach((id, i) => {
        entries.set(id, vectors[i]);
      });
    };
    const remove = async (ids: string[]) => {
      await store.delete({ ids });
      for (const id of ids) entries.delete(id);
    };
    return { entries, put, remove };
  }

  const ids = (from: number, to: number, prefix = "a") =>
    Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

  it("scores every chunk as the reference does through upserts, deletes across pages and a reload", async () => {
    const file = path.join(dir, "vectors.bin");
    const store = new LocalVectorStore(embeddings, {
      path: file,
      saveDelayMs: 60_000,
      pageSlots: PAGE_SLOTS,
    });
    const { entries, put, remove } = harness(store);
    for (let batch = 0; batch < 5; batch++) await put(ids(batch * 13, batch * 13 + 13));
    await expectHolds(store, entries);

    // Holes in the first, a middle and the last page, filled from the last page (one of them just moved).
    await remove(["a64", "a0", "a63", "a9", "a30", "a31", "absent"]);
    await put(["a5", "a62", "b0"]);
    await remove(ids(40, 50));
    await expectHolds(store, entries);

    await store.flush();
    const reloaded = await LocalVectorStore.load(embeddings, { path: file, pageSlots: PAGE_SLOTS });
    await expectHolds(reloaded, entries);
    // The reloaded store's last page is short: it grows as chunks come.
    const more = harness(reloaded);
    for (const [id, vector] of entries) more.entries.set(id, vector);
    await more.put(ids(0, 20, "c"));
    await expectHolds(reloaded, more.entries);
  });

  it("saves the store as it was when the save began, while changes cross pages, grow them and clear them", async () => {
    const file = path.join(dir, "vectors.bin");
    // saveStepMs 0: the save yields after every step, so the store changes between any two of them.
    const store = new LocalVectorStore(embeddings, {
      path: file,
      saveDelayMs: 60_000,
      saveStepMs: 0,
      pageSlots: PAGE_SLOTS,
    });
    const { entries, put, remove } = harness(store);
    await put(ids(0, 1000));
    const atStart = new Map(entries);
    let saved = false;
    const saving = store.flush().then(() => {
      saved = true;
    });
    const changes = [
      () => put(["a5", "a10", "a999", "a500"]),
      () => remove(["a0", "a8", "a998", "a16", "a996"]),
      () => put(ids(1000, 1030)),
      () => remove(ids(900, 960)),
      async () => {
        await store.delete({ deleteAll: true });
        entries.clear();
      },
      () => put(ids(0, 40, "b")),
    ];
    for (const change of changes) {
      await nextTurn();
      await change();
      expect(saved, "the save was still under way").toBe(false);
    }
    await saving;
    await expectHolds(await LocalVectorStore.load(embeddings, { path: file }), atStart);
    await store.flush();
    await expectHolds(await LocalVectorStore.load(embeddings, { path: file }), entries);
  });

  it("keeps each chunk's text as a copy of its own, not a slice that holds its whole document in memory", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const store = new LocalVectorStore(new LocalHashEmbeddings());
    const splitter = new RecursiveCharacterTextSplitter({ chunkSize: 300, chunkOverlap: 0 });
    /** Splits 200 documents (each the SciFact sample's abstracts, read afresh: 43 KB) and keeps two chunks of each. */
    const ingest = async () => {
      let characters = 0;
      for (let i = 0; i < 200; i++) {
        const document = sampleDocs()
          .map((d) => `${d.title}\n\n${d.text}`)
          .join("\n\n");
        characters += document.length;
        const chunks = await splitter.splitText(document);
        await store.addDocuments(
          chunks.slice(10 + (i % 5), 12 + (i % 5)).map((text) => new Document({ pageContent: text })),
        );
      }
      return characters;
    };
    gc();
    const before = v8.getHeapStatistics().used_heap_size;
    const characters = await ingest();
    gc();
    const retained = v8.getHeapStatistics().used_heap_size - before;
    expect(store.count()).toBe(400);
    // 8.8 MB of documents: the chunks, their BM25 postings and the store keep about 1.3 MB of heap; chunks left
    // as the splitter's slices kept 8.3 MB (the documents they came from).
    expect(characters).toBeGreaterThan(8_000_000);
    expect(retained).toBeLessThan(characters / 4);
  });
});

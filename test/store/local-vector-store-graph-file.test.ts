// The HNSW graph saved beside the local store's base (src/store/local/graph-file.ts): a restart reads it at its
// first search instead of inserting every vector again, and never trusts an entry whose chunk changed since.
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { Document } from "@langchain/core/documents";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { graphDescriptionFile } from "../../src/store/local/graph-file.ts";
import { LocalVectorStore, type LocalVectorStoreOptions } from "../../src/store/local/local-vector-store.ts";
import { randomChunks } from "../helpers/random-vectors.ts";

const DIMS = 32;
const COUNT = 3000;
const embeddings = new LocalHashEmbeddings({ dimensions: DIMS });

function chunks(from: number, to: number, seed: number) {
  return randomChunks(from, to, seed, DIMS);
}

async function top(store: LocalVectorStore, query: number[], k = 10): Promise<[string, number][]> {
  const hits = await store.similaritySearchVectorWithScore(query, k);
  return hits.map(([doc, score]) => [doc.id as string, score]);
}

/**
 * The index's status as the first search leaves it: the graph read or begun synchronously, before the search
 * awaits its results' texts (meanwhile the graph goes on inserting in the background).
 */
async function statusOnSearch(store: LocalVectorStore, query: number[]) {
  const searched = top(store, query, 1);
  const status = store.indexStatus();
  await searched;
  return status;
}

async function graphFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.includes(".hnsw.")).sort();
}

describe("LocalVectorStore's saved graph", () => {
  let dir: string;
  let file: string;
  const options = (more: LocalVectorStoreOptions = {}): LocalVectorStoreOptions => ({
    path: file,
    vectorIndex: "hnsw",
    saveDelayMs: 60_000,
    ...more,
  });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "counsel-graph-"));
    file = path.join(dir, "vectors.bin");
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  /** A store of COUNT chunks whose graph was built (by a search) and saved with a new base. */
  async function savedStore(more: LocalVectorStoreOptions = {}) {
    const store = new LocalVectorStore(embeddings, options(more));
    const { vectors, docs } = chunks(0, COUNT, 1);
    await store.addVectors(vectors, docs);
    await store.flush(); // the first base, before any graph
    expect(await graphFiles(dir)).toEqual([]);
    await store.similaritySearchVectorWithScore(vectors[0], 1);
    await store.whenIndexed();
    // Built from scratch: a restart would insert all of it again, so a new base is due, with the graph beside it.
    await store.flush();
    expect(await graphFiles(dir)).toHaveLength(1);
    return { store, vectors };
  }

  it("is read at the first search after a restart, with every vector in it, and answers as before", async () => {
    const { store, vectors } = await savedStore();
    const queries = chunks(0, 20, 7).vectors;
    const before = await Promise.all(queries.map((q) => top(store, q)));

    const reloaded = await LocalVectorStore.load(embeddings, options());
    // Not read by opening the store: a process that never searches never loads it.
    expect(reloaded.indexStatus()).toEqual({ indexed: 0, pending: 0, removed: 0 });
    expect(await top(reloaded, vectors[42], 1)).toEqual([["c42", expect.closeTo(1, 2)]]);
    expect(reloaded.indexStatus()).toEqual({ indexed: COUNT, pending: 0, removed: 0, quantisation: "i8" });
    expect(await Promise.all(queries.map((q) => top(reloaded, q)))).toEqual(before);
  });

  it("reads a graph saved before its quantisation was recorded as int8, without building it again", async () => {
    const { vectors } = await savedStore();
    const description = JSON.parse(await readFile(graphDescriptionFile(file), "utf8"));
    expect(description.quantisation).toBe("i8");
    delete description.quantisation;
    await writeFile(graphDescriptionFile(file), JSON.stringify(description));
    const reloaded = await LocalVectorStore.load(embeddings, options());
    expect(await statusOnSearch(reloaded, vectors[3])).toEqual({
      indexed: COUNT,
      pending: 0,
      removed: 0,
      quantisation: "i8",
    });
  });

  it("inserts again only the chunks that changed since it was saved: in the log, or after the restart", async () => {
    const { store, vectors } = await savedStore();
    // Appended to the log after the base and its graph.
    const added = chunks(COUNT, COUNT + 30, 2);
    await store.addVectors(added.vectors, added.docs);
    await store.flush();

    const reloaded = await LocalVectorStore.load(embeddings, options());
    // Before the first search: one chunk replaced, another deleted (which moves the last chunk into its slot).
    const replacement = chunks(0, 1, 3).vectors[0];
    await reloaded.addVectors([replacement], [new Document({ pageContent: "replaced", id: "c5" })]);
    await reloaded.delete({ ids: ["c6"] });
    expect(await statusOnSearch(reloaded, vectors[0])).toMatchObject({ indexed: COUNT - 2, pending: 30 + 1 });

    await reloaded.whenIndexed();
    expect(reloaded.indexStatus()).toMatchObject({ indexed: COUNT + 30 - 1, pending: 0 });
    // Every chunk is found under its own id, wherever deletes moved it.
    for (const i of [0, 7, 1234, COUNT - 1]) expect((await top(reloaded, vectors[i], 1))[0][0]).toBe(`c${i}`);
    expect((await top(reloaded, added.vectors[12], 1))[0][0]).toBe(`c${COUNT + 12}`);
    expect(await top(reloaded, replacement, 1)).toEqual([["c5", expect.closeTo(1, 2)]]);
    expect((await top(reloaded, vectors[6], 50)).map(([id]) => id)).not.toContain("c6");
  });

  it("inserts into a graph read back on more threads than it was built on", async () => {
    await savedStore({ ann: { insertThreads: 1 } });
    const reloaded = await LocalVectorStore.load(embeddings, options({ ann: { insertThreads: 4 } }));
    const added = chunks(COUNT, COUNT + 500, 4);
    await reloaded.addVectors(added.vectors, added.docs);
    expect(await statusOnSearch(reloaded, added.vectors[0])).toMatchObject({ indexed: COUNT, pending: 500 });
    await reloaded.whenIndexed();
    expect(reloaded.indexStatus()).toMatchObject({ indexed: COUNT + 500, pending: 0 });
    for (const i of [0, 250, 499])
      expect((await top(reloaded, added.vectors[i], 1))[0][0]).toBe(`c${COUNT + i}`);
  });

  it("does not keep the entry of a chunk changed while the base was being written", async () => {
    const { store, vectors } = await savedStore({ saveStepMs: 0 });
    await store.delete({ ids: ["c1"] });
    const saving = store.flush();
    await nextTurn();
    const replacement = chunks(0, 1, 4).vectors[0];
    await store.addVectors([replacement], [new Document({ pageContent: "new", id: "c2" })]);
    await saving;
    // The process dies here: c2's replacement never reaches the disk, but the graph saved holds it.

    const reloaded = await LocalVectorStore.load(embeddings, options());
    expect(await statusOnSearch(reloaded, vectors[0])).toMatchObject({ pending: 1 });
    await reloaded.whenIndexed();
    expect(await top(reloaded, vectors[2], 1)).toEqual([["c2", expect.closeTo(1, 2)]]);
  });

  it("is carried over to a new base written by a process that never searched, its changes marked", async () => {
    const { vectors } = await savedStore();
    // An ingestion from the command line: it replaces and deletes chunks, writes a new base, never searches.
    const other = await LocalVectorStore.load(embeddings, options());
    const replacement = chunks(0, 1, 5).vectors[0];
    await other.addVectors([replacement], [new Document({ pageContent: "replaced", id: "c8" })]);
    await other.delete({ ids: ["c9"] });
    await other.flush();
    expect(other.indexStatus()).toEqual({ indexed: 0, pending: 0, removed: 0 });

    const reloaded = await LocalVectorStore.load(embeddings, options());
    expect(await statusOnSearch(reloaded, vectors[0])).toMatchObject({ indexed: COUNT - 2, pending: 1 });
    await reloaded.whenIndexed();
    expect(await top(reloaded, replacement, 1)).toEqual([["c8", expect.closeTo(1, 2)]]);
    expect(await top(reloaded, vectors[77], 1)).toEqual([["c77", expect.closeTo(1, 2)]]);
  });

  it("is not used for another base (a crash between a new base and its graph)", async () => {
    const { vectors } = await savedStore();
    const description = JSON.parse(await readFile(graphDescriptionFile(file), "utf8"));
    await writeFile(
      graphDescriptionFile(file),
      JSON.stringify({ ...description, baseId: "an-earlier-base" }),
    );
    const reloaded = await LocalVectorStore.load(embeddings, options());
    expect((await statusOnSearch(reloaded, vectors[0])).pending).toBe(COUNT);
    await reloaded.whenIndexed();
    expect(await top(reloaded, vectors[77], 1)).toEqual([["c77", expect.closeTo(1, 2)]]);
  });

  it("is built again, with a warning, when its file is damaged", async () => {
    const { vectors } = await savedStore();
    const [graph] = await graphFiles(dir);
    await truncate(path.join(dir, graph), 100);
    const warnings = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const damaged = await LocalVectorStore.load(embeddings, options());
    expect(warnings).toHaveBeenCalledWith(expect.stringContaining("is not the size it was saved at"), {
      code: "COUNSEL_STORE_INDEX_REBUILT",
    });
    expect((await statusOnSearch(damaged, vectors[0])).pending).toBe(COUNT);
    await damaged.whenIndexed();
    expect(await top(damaged, vectors[77], 1)).toEqual([["c77", expect.closeTo(1, 2)]]);

    // A description that is not JSON: the same.
    await writeFile(graphDescriptionFile(file), "{");
    await LocalVectorStore.load(embeddings, options());
    expect(warnings).toHaveBeenCalledWith(expect.stringContaining("its description is not valid JSON"), {
      code: "COUNSEL_STORE_INDEX_REBUILT",
    });
  });

  it("leaves one graph file behind: older ones, and those no description names, are deleted", async () => {
    const { store } = await savedStore();
    await writeFile(path.join(dir, "vectors.bin.hnsw.orphan"), "left by a crash");
    await store.delete({ ids: ["c3"] });
    await store.flush();
    expect(await graphFiles(dir)).toHaveLength(1);
    await writeFile(path.join(dir, "vectors.bin.hnsw.orphan"), "left by a crash");
    await LocalVectorStore.load(embeddings, options());
    expect(await graphFiles(dir)).toHaveLength(1);
    expect(await graphFiles(dir)).not.toContain("vectors.bin.hnsw.orphan");
  });

  it("is neither read nor written by a store that scans", async () => {
    const { vectors } = await savedStore();
    const exact = await LocalVectorStore.load(embeddings, options({ vectorIndex: "exact" }));
    expect(await top(exact, vectors[3], 1)).toEqual([["c3", expect.closeTo(1, 2)]]);
    expect(exact.indexStatus()).toEqual({ indexed: 0, pending: 0, removed: 0 });
    await exact.delete({ ids: ["c4"] });
    await exact.flush();
    expect(await graphFiles(dir)).toHaveLength(1);
  });
});

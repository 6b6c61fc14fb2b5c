// A large local store reads the vectors its base file holds from that file (src/store/local/store-vectors.ts)
// instead of keeping them in memory: it must answer exactly as a store holding them all in memory does, through
// writes, deletes that move chunks between slots, saves made while it is written to, restarts, and the graph;
// and a damaged vector in the file is found, after a start that did not read them, before anything is copied.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Document } from "@langchain/core/documents";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { BaseReader } from "../../src/store/local/base-reader.ts";
import { LocalVectorStore, type LocalVectorStoreOptions } from "../../src/store/local/local-vector-store.ts";
import { random, randomChunks, randomVector } from "../helpers/random-vectors.ts";

const DIMS = 48;
const embeddings = new LocalHashEmbeddings({ dimensions: DIMS });

async function scored(store: LocalVectorStore, query: number[], k = 10, filter?: { group: number }) {
  const hits = await store.similaritySearchVectorWithScore(query, k, filter);
  return hits.map(([doc, score]) => [doc.id, score, doc.pageContent]);
}

describe("LocalVectorStore reading its vectors from its base file", () => {
  let dir: string;
  let file: string;
  const onDisk = (more: LocalVectorStoreOptions = {}): LocalVectorStoreOptions => ({
    path: file,
    vectorsOnDiskFrom: 100,
    pageSlots: 16,
    saveDelayMs: 60_000,
    vectorIndex: "exact",
    ...more,
  });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "counsel-on-disk-"));
    file = path.join(dir, "vectors.bin");
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  /** The same chunks in a store on disk (saved as a base) and in one that holds them in memory. */
  async function twins(count = 300, more: LocalVectorStoreOptions = {}) {
    const { vectors, docs } = randomChunks(0, count, 1, DIMS);
    for (const [i, doc] of docs.entries()) doc.metadata.group = i % 3;
    const store = new LocalVectorStore(embeddings, onDisk(more));
    const memory = new LocalVectorStore(embeddings, { vectorIndex: "exact" });
    await store.addVectors(vectors, docs);
    await memory.addVectors(vectors, docs);
    await store.flush();
    return { store, memory, vectors };
  }

  async function expectSameAnswers(store: LocalVectorStore, memory: LocalVectorStore, seed: number) {
    const next = random(seed);
    for (let q = 0; q < 8; q++) {
      const query = randomVector(next, 1, DIMS);
      expect(await scored(store, query)).toEqual(await scored(memory, query));
      expect(await scored(store, query, 5, { group: 1 })).toEqual(
        await scored(memory, query, 5, { group: 1 }),
      );
    }
    expect(store.count()).toBe(memory.count());
  }

  it("reads them from the base once it is written, and answers to the bit as from memory", async () => {
    const { store, memory, vectors } = await twins();
    expect(store.vectorsOnDisk()).toBe(300);
    await expectSameAnswers(store, memory, 5);
    // MMR reads its candidates' vectors too.
    const mmr = { k: 4, fetchK: 20, lambda: 0.5 };
    const asked = "chunk";
    vi.spyOn(embeddings, "embedQuery").mockResolvedValue(vectors[7]);
    expect((await store.maxMarginalRelevanceSearch(asked, mmr)).map((d) => d.id)).toEqual(
      (await memory.maxMarginalRelevanceSearch(asked, mmr)).map((d) => d.id),
    );
    // Deletes fill their holes with the last chunks, read from the file: only where to read them moves.
    for (const target of [store, memory]) await target.delete({ ids: ["c3", "c40", "c41", "c150"] });
    expect(store.vectorsOnDisk()).toBe(296);
    await expectSameAnswers(store, memory, 6);
  });

  it("keeps below vectorsOnDiskFrom chunks in memory", async () => {
    const { store } = await twins(99);
    expect(store.vectorsOnDisk()).toBe(0);
  });

  it("follows writes and deletes (which move chunks read from the file), through saves and restarts", async () => {
    const { store, memory } = await twins();
    const more = randomChunks(300, 340, 2, DIMS);
    const replaced = randomChunks(10, 30, 3, DIMS);
    for (const target of [store, memory]) {
      await target.addVectors(more.vectors, more.docs);
      await target.addVectors(replaced.vectors, replaced.docs);
      // c0..c9 are read from the file; their holes are filled by the last chunks, some of them in memory.
      await target.delete({
        ids: ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9", "c301", "c299"],
      });
    }
    expect(store.vectorsOnDisk()).toBeGreaterThan(200);
    expect(store.vectorsOnDisk()).toBeLessThan(store.count());
    await expectSameAnswers(store, memory, 6);
    // Saved to the log (not a new base), then read back: the log's chunks in memory, the rest from the file.
    await store.flush();
    const reopened = await LocalVectorStore.load(embeddings, onDisk());
    await expectSameAnswers(reopened, memory, 7);
    // A new base: all of it read from the file again.
    const rebased = await LocalVectorStore.load(embeddings, onDisk({ maxTextInMemory: 0 }));
    for (const target of [rebased, memory]) {
      await target.addVectors(
        [randomVector(random(9), 1, DIMS)],
        [new Document({ pageContent: "x", id: "c1" })],
      );
    }
    await rebased.flush();
    expect(rebased.vectorsOnDisk()).toBe(rebased.count());
    await expectSameAnswers(rebased, memory, 8);
    const again = await LocalVectorStore.load(embeddings, onDisk());
    expect(again.vectorsOnDisk()).toBe(memory.count());
    await again.whenVerified();
    await expectSameAnswers(again, memory, 9);
    await Promise.all([store.close(), reopened.close(), rebased.close(), again.close()]);
  });

  it("writes a new base from the vectors as they were, while chunks read from the old one are written and deleted", async () => {
    const { store, memory } = await twins(300, { maxTextInMemory: 0, saveStepMs: 0 });
    const more = randomChunks(0, 60, 4, DIMS);
    await store.addVectors(more.vectors.slice(0, 1), more.docs.slice(0, 1));
    // The save yields after every step: the writes and deletes below land in the middle of it.
    const saving = store.flush();
    for (const target of [store, memory]) {
      await target.addVectors(more.vectors, more.docs);
      await target.delete({ ids: ["c100", "c200", "c250"] });
    }
    await saving;
    await expectSameAnswers(store, memory, 10);
    await store.flush();
    await store.close();
    const reopened = await LocalVectorStore.load(embeddings, onDisk());
    await reopened.whenVerified();
    await expectSameAnswers(reopened, memory, 11);
  });

  it("finishes a scan whose base a new one replaces while it reads", async () => {
    const { store, memory } = await twins(300, { maxTextInMemory: 0 });
    const extra = randomChunks(300, 301, 5, DIMS);
    await store.addVectors(extra.vectors, extra.docs);
    await memory.addVectors(extra.vectors, extra.docs);
    const query = randomVector(random(13), 1, DIMS);
    // The scan's first read waits until a new base has replaced the one it reads (and the store let go of it).
    const read = BaseReader.prototype.read;
    let open!: () => void;
    const replaced = new Promise<void>((resolve) => {
      open = resolve;
    });
    let first = true;
    vi.spyOn(BaseReader.prototype, "read").mockImplementation(async function (this: BaseReader, into, at) {
      if (first) {
        first = false;
        await replaced;
      }
      return read.call(this, into, at);
    });
    const searching = scored(store, query, 5, { group: 1 });
    await store.flush();
    open();
    expect(await searching).toEqual(await scored(memory, query, 5, { group: 1 }));
    expect(store.vectorsOnDisk()).toBe(301);
  });

  it("ranks the graph's candidates from the file", async () => {
    const { store, memory } = await twins(600, { vectorIndex: "hnsw" });
    await store.similaritySearchVectorWithScore(randomVector(random(1), 1, DIMS), 1);
    await store.whenIndexed();
    expect(store.indexStatus()).toMatchObject({ indexed: 600, pending: 0 });
    expect(store.vectorsOnDisk()).toBe(600);
    const next = random(12);
    let found = 0;
    for (let q = 0; q < 20; q++) {
      const query = randomVector(next, 1, DIMS);
      const truth = new Map((await scored(memory, query)).map(([id, score]) => [id, score]));
      for (const [id, score] of await scored(store, query)) {
        if (!truth.has(id)) continue;
        found++;
        // Scored as an exact scan scores it.
        expect(score).toBe(truth.get(id));
      }
    }
    expect(found / 200).toBeGreaterThanOrEqual(0.95);
  });

  it("finds a damaged vector after a start that left them in the file, and then refuses to answer or save", async () => {
    const { store } = await twins();
    await store.close();
    const whole = await readFile(file);
    whole[whole.length - 5] ^= 0xff;
    await writeFile(file, whole);
    const warnings = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const damaged = await LocalVectorStore.load(embeddings, onDisk());
    await expect(damaged.whenVerified()).rejects.toThrow(
      /vectors fail the checksum.*Delete the data folder/s,
    );
    expect(warnings).toHaveBeenCalledWith(expect.stringContaining("fail the checksum"), {
      code: "COUNSEL_STORE_CORRUPT",
    });
    await expect(scored(damaged, randomVector(random(3), 1, DIMS))).rejects.toMatchObject({
      code: "store_corrupt",
    });
    await expect(
      damaged.addVectors([randomVector(random(4), 1, DIMS)], [new Document({ pageContent: "y" })]),
    ).rejects.toMatchObject({ code: "store_corrupt" });
  });

  describe("the chunk index beside the base", () => {
    const index = () => `${file}.chunks`;

    it("is where a start reads ids and metadata from; the records are checked in the background", async () => {
      const { store, memory } = await twins();
      await store.close();
      await stat(index());
      // A flipped byte inside a text: the index still gives every id and metadata, the check finds the damage.
      const whole = await readFile(file);
      whole[whole.indexOf("chunk 150")] ^= 0x01;
      await writeFile(file, whole);
      const warnings = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
      const reopened = await LocalVectorStore.load(embeddings, onDisk());
      expect(reopened.count()).toBe(300);
      const [doc] = await reopened.getByIds(["c7"]);
      expect(doc.metadata).toEqual({ n: 7, group: 1 });
      await expect(reopened.whenVerified()).rejects.toThrow(/chunks fail the checksum/);
      expect(warnings).toHaveBeenCalledWith(expect.stringContaining("fail the checksum"), {
        code: "COUNSEL_STORE_CORRUPT",
      });
      // Without the index, the start itself refuses the damaged file.
      await rm(index());
      await expect(LocalVectorStore.load(embeddings, onDisk())).rejects.toThrow(/chunks fail the checksum/);
      expect(memory.count()).toBe(300);
    });

    it("is not used when damaged or saved for another base: the records are read", async () => {
      const { store, memory } = await twins(300, { maxTextInMemory: 0 });
      const older = await readFile(index());
      for (const target of [store, memory]) {
        await target.addVectors(
          [randomVector(random(2), 1, DIMS)],
          [new Document({ pageContent: "new", id: "c5" })],
        );
      }
      await store.flush();
      await store.close();
      // Another base's index: silently not used (c5's new text and metadata come from the records).
      await writeFile(index(), older);
      const warnings = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
      await expectSameAnswers(await LocalVectorStore.load(embeddings, onDisk()), memory, 14);
      // (Only the garbage collector's notices of files other tests left open may come meanwhile.)
      expect(warnings).not.toHaveBeenCalledWith(expect.anything(), { code: "COUNSEL_STORE_INDEX_REBUILT" });
      const damaged = Buffer.from(older);
      damaged[damaged.length - 3] ^= 0xff;
      await writeFile(index(), damaged);
      await expectSameAnswers(await LocalVectorStore.load(embeddings, onDisk()), memory, 15);
      expect(warnings).toHaveBeenCalledWith(expect.stringContaining("it fails its checksum"), {
        code: "COUNSEL_STORE_INDEX_REBUILT",
      });
    });

    it("is not written for a store that keeps its vectors in memory", async () => {
      const { store } = await twins(99);
      await store.close();
      await expect(stat(index())).rejects.toMatchObject({ code: "ENOENT" });
    });
  });
});

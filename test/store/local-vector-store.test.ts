import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { crc32 } from "node:zlib";
import { Document } from "@langchain/core/documents";
import { index } from "@langchain/core/indexing";
import { maximalMarginalRelevance } from "@langchain/core/utils/math";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { FileRecordManager } from "../../src/store/file-record-manager.ts";
import { ChangeLog } from "../../src/store/local/change-log.ts";
import { LocalVectorStore } from "../../src/store/local/local-vector-store.ts";
import { StorePersistence } from "../../src/store/local/store-persistence.ts";
import { chunkRecords, readVectorFile, VectorStoreFileError } from "../../src/store/local/vector-file.ts";
import { random, randomVector, stored, storedScore, unitQuery } from "../helpers/random-vectors.ts";
import { sampleChunks, sampleDocs } from "../retrieval/scifact-sample.ts";

// SciFact test claims and their evidence abstracts (see test/fixtures/scifact-sample.md).
const PRION = "1/2000 in UK have abnormal PrP positivity.";
const PRION_DOC = "13734012";
const CERVICAL = "Incidence rates of cervical cancer have decreased.";
const CERVICAL_DOC = "36355784";
const VENULES = "Venules have a thinner or absent smooth layer compared to arterioles.";
const VENULES_DOC = "8290953";

const embeddings = new LocalHashEmbeddings();

async function filledStore(options: ConstructorParameters<typeof LocalVectorStore>[1] = {}) {
  const store = new LocalVectorStore(embeddings, options);
  const chunks = sampleChunks();
  await store.addDocuments(chunks, { ids: chunks.map((c) => c.id as string) });
  return store;
}

describe("LocalVectorStore", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "counsel-store-"));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("finds a claim's evidence by vector and by BM25, returning documents with their ids", async () => {
    const store = await filledStore();
    expect(store._vectorstoreType()).toBe("local");
    expect(store.count()).toBe(27);
    const [[top, score]] = await store.similaritySearchWithScore(CERVICAL, 1);
    expect(top.id).toBe(CERVICAL_DOC);
    expect(top.metadata.doc_id).toBe(CERVICAL_DOC);
    expect(score).toBeGreaterThan(0);
    expect(score).toBeLessThanOrEqual(1);
    const lexical = await store.lexicalSearch(VENULES, { k: 3 });
    expect(lexical[0].document.id).toBe(VENULES_DOC);
    expect(lexical).toHaveLength(3);
  });

  it("upserts by id: adding an id again replaces its chunk and never duplicates it", async () => {
    const store = await filledStore();
    const chunks = sampleChunks();
    await store.addDocuments(chunks, { ids: chunks.map((c) => c.id as string) });
    expect(store.count()).toBe(27);

    await store.addDocuments(
      [new Document({ pageContent: "Folic acid lowers homocysteine.", metadata: { doc_id: "replaced" } })],
      { ids: [PRION_DOC] },
    );
    expect(store.count()).toBe(27);
    const [doc] = await store.getByIds([PRION_DOC]);
    expect(doc.pageContent).toBe("Folic acid lowers homocysteine.");
    expect(doc.metadata).toEqual({ doc_id: "replaced" });
    // Neither index still knows the old text.
    expect((await store.lexicalSearch("prion appendix", { k: 27 })).map((h) => h.document.id)).not.toContain(
      PRION_DOC,
    );
    const [[best, similarity]] = await store.similaritySearchWithScore("Folic acid lowers homocysteine.", 1);
    expect(best.id).toBe(PRION_DOC);
    // 1 give or take the int8 quantisation of the stored vector (a short text: few, large components).
    expect(Math.abs(similarity - 1)).toBeLessThan(0.01);
  });

  it("takes ids from the documents when none are passed, and makes them up when documents have none", async () => {
    const store = new LocalVectorStore(embeddings);
    const ids = await store.addDocuments([
      new Document({ pageContent: "cervical cancer screening", id: "given" }),
      new Document({ pageContent: "obesity in adoptees" }),
    ]);
    expect(ids[0]).toBe("given");
    expect(ids[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect((await store.getByIds(ids)).map((d) => d.id)).toEqual(ids);
  });

  it("deletes by id from both indexes and keeps every other chunk findable", async () => {
    const store = await filledStore();
    await store.delete({ ids: [VENULES_DOC, "no-such-id"] });
    expect(store.count()).toBe(26);
    expect(await store.getByIds([VENULES_DOC])).toEqual([]);
    const vector = await store.similaritySearch(VENULES, 27);
    expect(vector.map((d) => d.id)).not.toContain(VENULES_DOC);
    const lexical = await store.lexicalSearch(VENULES, { k: 27 });
    expect(lexical.map((h) => h.document.id)).not.toContain(VENULES_DOC);
    // Every remaining chunk (including the one moved into the freed slot) is still its own nearest neighbour.
    for (const chunk of sampleChunks().filter((c) => c.id !== VENULES_DOC)) {
      const [[nearest, score]] = await store.similaritySearchWithScore(chunk.pageContent, 1);
      expect(nearest.id).toBe(chunk.id);
      expect(Math.abs(score - 1)).toBeLessThan(0.01);
    }
    await expect(store.delete({})).rejects.toThrow(/ids/);
    await store.delete({ deleteAll: true });
    expect(store.count()).toBe(0);
    expect(await store.similaritySearch(VENULES, 3)).toEqual([]);
  });

  it("filters by metadata equality or by predicate, in vector and lexical search", async () => {
    const store = await filledStore();
    const onlyVenules = await store.similaritySearch(PRION, 5, { doc_id: VENULES_DOC });
    expect(onlyVenules.map((d) => d.id)).toEqual([VENULES_DOC]);
    const lexical = await store.lexicalSearch("twins reared apart", { k: 5, filter: { doc_id: "27393799" } });
    expect(lexical.map((h) => h.document.id)).toEqual(["27393799"]);
    const predicate = (doc: { metadata: Record<string, unknown> }) =>
      String(doc.metadata.doc_id).startsWith("1");
    const filtered = await store.similaritySearch("obesity", 10, predicate);
    expect(filtered.length).toBeGreaterThan(0);
    for (const d of filtered) expect(String(d.metadata.doc_id).startsWith("1")).toBe(true);
    expect(await store.similaritySearch(PRION, 5, { doc_id: "absent" })).toEqual([]);
  });

  it("diversifies with maximal marginal relevance where similarity search returns near-duplicates", async () => {
    const store = await filledStore();
    const [original] = await store.getByIds([CERVICAL_DOC]);
    await store.addDocuments(
      [new Document({ pageContent: original.pageContent, metadata: { doc_id: "copy" } })],
      {
        ids: ["copy"],
      },
    );
    const similar = await store.similaritySearch(CERVICAL, 2);
    expect(new Set(similar.map((d) => d.id))).toEqual(new Set([CERVICAL_DOC, "copy"]));
    const mmr = await store.maxMarginalRelevanceSearch(CERVICAL, { k: 2, fetchK: 10, lambda: 0.5 });
    expect(mmr).toHaveLength(2);
    expect([CERVICAL_DOC, "copy"]).toContain(mmr[0].id);
    expect([CERVICAL_DOC, "copy"]).not.toContain(mmr[1].id);
    const viaRetriever = await store
      .asRetriever({ k: 2, searchType: "mmr", searchKwargs: { fetchK: 10 } })
      .invoke(CERVICAL);
    expect(viaRetriever).toHaveLength(2);
  });

  it("persists to one file and reloads the same chunks, vectors and BM25 ranking", async () => {
    const file = path.join(dir, "vectors.bin");
    const store = await filledStore({ path: file });
    await store.flush();
    const reloaded = await LocalVectorStore.load(embeddings, { path: file });
    expect(reloaded.count()).toBe(27);
    const ids = sampleChunks().map((c) => c.id as string);
    expect(await reloaded.getByIds(ids)).toEqual(await store.getByIds(ids));
    expect(await reloaded.similaritySearchWithScore(PRION, 5)).toEqual(
      await store.similaritySearchWithScore(PRION, 5),
    );
    expect(await reloaded.lexicalSearch(VENULES, { k: 5 })).toEqual(
      await store.lexicalSearch(VENULES, { k: 5 }),
    );

    // Changes after the reload are saved too.
    await reloaded.delete({ ids: [PRION_DOC] });
    await reloaded.flush();
    expect((await LocalVectorStore.load(embeddings, { path: file })).count()).toBe(26);
  });

  it("starts empty when the file does not exist yet, and saves itself after a change without flush()", async () => {
    const file = path.join(dir, "later.bin");
    const store = await LocalVectorStore.load(embeddings, { path: file, saveDelayMs: 20 });
    expect(store.count()).toBe(0);
    await store.addDocuments([new Document({ pageContent: "prion protein", id: "p" })]);
    await vi.waitFor(async () => expect((await stat(file)).size).toBeGreaterThan(0), { timeout: 2000 });
    expect((await LocalVectorStore.load(embeddings, { path: file })).count()).toBe(1);
  });

  it("serialises concurrent flushes so that the last state wins", async () => {
    const file = path.join(dir, "concurrent.bin");
    const store = await filledStore({ path: file });
    const first = store.flush();
    await store.delete({ ids: [PRION_DOC] });
    const second = store.flush();
    const third = store.flush();
    await Promise.all([first, second, third]);
    expect((await LocalVectorStore.load(embeddings, { path: file })).count()).toBe(26);
  });

  it("reports a truncated, empty or foreign file clearly instead of opening an empty store", async () => {
    const file = path.join(dir, "vectors.bin");
    const store = await filledStore({ path: file });
    await store.flush();
    const whole = await readFile(file);

    for (const [name, bytes] of [
      ["truncated vectors", whole.subarray(0, whole.length - 100)],
      ["truncated header", whole.subarray(0, 200)],
      ["empty", Buffer.alloc(0)],
      ["garbage", Buffer.from("not a vector store at all, just some text")],
    ] as const) {
      await writeFile(file, bytes);
      const error = await LocalVectorStore.load(embeddings, { path: file }).catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(VectorStoreFileError);
      expect((error as VectorStoreFileError).code, name).toBe("store_corrupt");
      expect((error as Error).message, name).toMatch(/damaged.*Delete the data folder/s);
    }

    // A flipped byte inside the vectors, or inside a chunk's text, is caught by a checksum.
    const flipped = Buffer.from(whole);
    flipped[flipped.length - 5] ^= 0xff;
    await writeFile(file, flipped);
    await expect(LocalVectorStore.load(embeddings, { path: file })).rejects.toThrow(
      /vectors fail the checksum/,
    );
    const text = Buffer.from(whole);
    text[whole.indexOf("appendix")] ^= 0x01;
    await writeFile(file, text);
    await expect(LocalVectorStore.load(embeddings, { path: file })).rejects.toThrow(
      /chunks fail the checksum/,
    );
  });

  it("refuses a file written with another embedding size, telling the user to re-index", async () => {
    const file = path.join(dir, "vectors.bin");
    const store = await filledStore({ path: file });
    await store.flush();
    const error = await LocalVectorStore.load(new LocalHashEmbeddings({ dimensions: 512 }), {
      path: file,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VectorStoreFileError);
    expect((error as VectorStoreFileError).code).toBe("store_mismatch");
    expect((error as Error).message).toMatch(/1024-dimensional.*512.*re-index/s);
    await expect(
      LocalVectorStore.load(new LocalHashEmbeddings({ weights: { bigram: 0.5 } }), { path: file }),
    ).rejects.toThrow(/embedding model local-hash-v1-1024/);
  });

  it("rejects vectors of the wrong size", async () => {
    const store = new LocalVectorStore(embeddings);
    await expect(store.addVectors([[1, 0, 0]], [new Document({ pageContent: "x" })])).rejects.toThrow(
      /3 dimensions; this store holds 1024/,
    );
  });

  it("works under LangChain's indexing API: re-indexing skips unchanged chunks and never duplicates", async () => {
    const store = new LocalVectorStore(embeddings);
    const recordManager = new FileRecordManager({ namespace: "test" });
    await recordManager.createSchema();
    const docs = sampleChunks().map(
      (c) => new Document({ pageContent: c.pageContent, metadata: c.metadata }),
    );
    const options = { cleanup: "incremental" as const, sourceIdKey: "doc_id" };
    const first = await index({ docsSource: docs, recordManager, vectorStore: store, options });
    expect(first.numAdded).toBe(27);
    const second = await index({ docsSource: docs, recordManager, vectorStore: store, options });
    expect(second).toMatchObject({ numAdded: 0, numSkipped: 27, numDeleted: 0 });
    expect(store.count()).toBe(27);

    const changed = docs.map((d) =>
      d.metadata.doc_id === PRION_DOC
        ? new Document({ pageContent: "Updated abstract.", metadata: d.metadata })
        : d,
    );
    const third = await index({ docsSource: changed, recordManager, vectorStore: store, options });
    expect(third).toMatchObject({ numAdded: 1, numDeleted: 1 });
    expect(store.count()).toBe(27);
    const hits = await store.lexicalSearch("updated abstract", { k: 1 });
    expect(hits[0].document.metadata.doc_id).toBe(PRION_DOC);
  });
});

describe("LocalVectorStore saves", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "counsel-store-log-"));
    file = path.join(dir, "vectors.bin");
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  const chunk = (id: string, text: string) =>
    new Document({ pageContent: text, id, metadata: { doc_id: id } });
  const texts = async (store: LocalVectorStore, ids: string[]) =>
    (await store.getByIds(ids)).map((d) => [d.id, d.pageContent]);

  it("appends chunks added to the log, leaving the base as it was, and reloads both", async () => {
    const store = await filledStore({ path: file });
    await store.flush();
    const base = await readFile(file);
    const logFile = StorePersistence.logFile(file);
    const logBefore = (await stat(logFile)).size;

    await store.addDocuments([
      chunk("new-1", "prion protein positivity in tonsils"),
      chunk("new-2", "venules"),
    ]);
    await store.flush();
    expect((await readFile(file)).equals(base)).toBe(true);
    const appended = (await stat(logFile)).size - logBefore;
    // Two chunks' vectors (4 KiB each) and their texts; nothing like the 27-chunk store.
    expect(appended).toBeGreaterThan(2 * 4096);
    expect(appended).toBeLessThan(base.length / 4);

    const reloaded = await LocalVectorStore.load(embeddings, { path: file });
    expect(reloaded.count()).toBe(29);
    expect(await texts(reloaded, ["new-1", "new-2"])).toEqual([
      ["new-1", "prion protein positivity in tonsils"],
      ["new-2", "venules"],
    ]);
    expect(await reloaded.similaritySearchWithScore(VENULES, 5)).toEqual(
      await store.similaritySearchWithScore(VENULES, 5),
    );
    expect(await reloaded.lexicalSearch(PRION, { k: 5 })).toEqual(await store.lexicalSearch(PRION, { k: 5 }));
  });

  it("writes a new base when chunks are replaced or deleted, so that their old text leaves the disk", async () => {
    const store = await filledStore({ path: file });
    await store.addDocuments([chunk("secret", "call jane.doe@example.com")]);
    await store.flush();
    await store.addDocuments([chunk("logged", "appended, in the log")]);
    await store.flush();
    const onDisk = async () =>
      Buffer.concat([await readFile(file), await readFile(StorePersistence.logFile(file))]).toString(
        "latin1",
      );
    expect(await onDisk()).toContain("jane.doe@example.com");

    await store.addDocuments([chunk("secret", "call [EMAIL]")]);
    await store.flush();
    expect(await onDisk()).not.toContain("jane.doe@example.com");
    expect(await onDisk()).toContain("appended, in the log");

    await store.delete({ ids: ["logged"] });
    await store.flush();
    expect(await onDisk()).not.toContain("appended, in the log");
    const reloaded = await LocalVectorStore.load(embeddings, { path: file });
    expect(reloaded.count()).toBe(28);
    expect(await texts(reloaded, ["secret", "logged"])).toEqual([["secret", "call [EMAIL]"]]);
  });

  it("folds the log into a new base once the log outgrows it, and starts a new log", async () => {
    const store = await filledStore({ path: file, compactMinBytes: 0 });
    await store.flush();
    const firstBase = await readFile(file);
    const logFile = StorePersistence.logFile(file);
    for (let round = 0; round < 24; round++) {
      await store.addDocuments([chunk(`r${round}`, `round ${round} of changes`), chunk(`s${round}`, "more")]);
      await store.flush();
    }
    // Twenty-four saves of two chunks outgrow a 27-chunk base: at least one new base, and a short log after it.
    const base = await readFile(file);
    expect(base.equals(firstBase)).toBe(false);
    expect((await stat(logFile)).size).toBeLessThan(base.length);
    const reloaded = await LocalVectorStore.load(embeddings, { path: file });
    expect(reloaded.count()).toBe(27 + 48);
    expect(await texts(reloaded, ["r0", "r23"])).toEqual([
      ["r0", "round 0 of changes"],
      ["r23", "round 23 of changes"],
    ]);
  });

  it("keeps every save before a crash that tore the last one, and says what it cut off", async () => {
    const store = await filledStore({ path: file });
    await store.flush();
    await store.addDocuments([chunk("kept", "saved before the crash")]);
    await store.flush();
    // A crash in the middle of the next append: its record only half written.
    const logFile = StorePersistence.logFile(file);
    const log = await readFile(logFile);
    await writeFile(logFile, Buffer.concat([log, log.subarray(log.length - 3000)]));

    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on("warning", onWarning);
    try {
      const reloaded = await LocalVectorStore.load(embeddings, { path: file });
      await nextTurn();
      expect(reloaded.count()).toBe(28);
      expect(await texts(reloaded, ["kept"])).toEqual([["kept", "saved before the crash"]]);
      // The torn bytes are gone, so later saves land after the good records.
      expect((await stat(logFile)).size).toBe(log.length);
      await reloaded.addDocuments([chunk("after", "saved after the crash")]);
      await reloaded.flush();
      expect((await LocalVectorStore.load(embeddings, { path: file })).count()).toBe(29);
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.join("\n")).toMatch(/cut off 3000 bytes/);
  });

  it("ignores the previous base's log when a crash came between a new base and its new log", async () => {
    const store = await filledStore({ path: file });
    await store.flush();
    await store.addDocuments([chunk("x", "old value, in the log")]);
    await store.flush();
    const logFile = StorePersistence.logFile(file);
    const oldLog = await readFile(logFile);
    // Replaced and a chunk deleted: the save writes a new base.
    await store.addDocuments([chunk("x", "new value, in the new base")]);
    await store.delete({ ids: [VENULES_DOC] });
    await store.flush();
    // As if the process died before the new log replaced the old one.
    await writeFile(logFile, oldLog);

    const reloaded = await LocalVectorStore.load(embeddings, { path: file });
    expect(reloaded.count()).toBe(27);
    expect(await texts(reloaded, ["x", VENULES_DOC])).toEqual([["x", "new value, in the new base"]]);
  });
});

// Exact search against a reference computed here: each vector scaled to unit length and quantised to int8 (what
// the store keeps), the query to unit length in float32, then a plain dot product, dimension by dimension in
// double precision, times the vector's step. Scores must be equal to the last bit, whatever the layout the
// store searches.
describe("LocalVectorStore exact search", () => {
  const DIMS = 1024;
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "counsel-exact-"));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  interface Entry {
    vector: number[];
    metadata: Record<string, unknown>;
    /** `text ${id}` when absent. */
    text?: string;
  }

  /** The k best [id, score] pairs by the reference dot product, best first. */
  function reference(
    entries: Map<string, Entry>,
    query: number[],
    k: number,
    allow: (e: Entry) => boolean = () => true,
  ): [string, number][] {
    const q = unitQuery(query);
    return [...entries]
      .filter(([, e]) => allow(e))
      .map(([id, e]): [string, number] => [id, storedScore(q, stored(e.vector))])
      .sort((a, b) => b[1] - a[1])
      .slice(0, k);
  }

  async function search(
    store: LocalVectorStore,
    query: number[],
    k: number,
    filter?: LocalVectorStore["FilterType"],
  ) {
    const hits = await store.similaritySearchVectorWithScore(query, k, filter);
    return hits.map(([doc, score]): [string, number] => [doc.id as string, score]);
  }

  /** The rows of `ids`' vectors as the file holds them: float32 LE, row-major. */
  function rowsOf(ids: string[], entries: Map<string, Entry>): Buffer {
    const rows = Buffer.alloc(ids.length * DIMS * 4);
    ids.forEach((id, slot) => {
      stored((entries.get(id) as Entry).vector).forEach((x, d) => {
        rows.writeFloatLE(x, (slot * DIMS + d) * 4);
      });
    });
    return rows;
  }

  /** The rows of `ids`' vectors as format 3 holds them: each its step (float32 LE) and its int8 values. */
  function quantisedRowsOf(ids: string[], entries: Map<string, Entry>): Buffer {
    const rows = Buffer.alloc(ids.length * (DIMS + 4));
    ids.forEach((id, slot) => {
      const row = stored((entries.get(id) as Entry).vector);
      const step = Math.max(0, ...row.map(Math.abs)) / 127;
      rows.writeFloatLE(step, slot * (DIMS + 4));
      row.forEach((x, d) => {
        rows.writeInt8(step === 0 ? 0 : Math.round(x / step), slot * (DIMS + 4) + 4 + d);
      });
    });
    return rows;
  }

  /** The file as the store writes it (format 3; format 2 with float32 rows), built independently of its writer. */
  function storeFile(
    ids: string[],
    entries: Map<string, Entry>,
    modelId: string,
    baseId: string,
    version: 2 | 3 = 3,
  ): Buffer {
    const rows = version === 3 ? quantisedRowsOf(ids, entries) : rowsOf(ids, entries);
    const json = Buffer.from(
      JSON.stringify({
        format: "counsel-local-vectors",
        version,
        baseId,
        embeddingModelId: modelId,
        dimensions: DIMS,
        count: ids.length,
        vectorsCrc32: crc32(rows),
      }),
    );
    const records = Buffer.concat(
      ids.flatMap((id) => {
        const entry = entries.get(id) as Entry;
        const record = Buffer.from(JSON.stringify([id, entry.text ?? `text ${id}`, entry.metadata]));
        const length = Buffer.alloc(4);
        length.writeUInt32LE(record.length);
        return [length, record];
      }),
    );
    const prefix = Buffer.alloc(32);
    prefix.write(`CNSLVEC${version}`, "latin1");
    prefix.writeUInt32LE(json.length, 8);
    prefix.writeUInt32LE(crc32(json), 12);
    prefix.writeBigUInt64LE(BigInt(records.length), 16);
    prefix.writeUInt32LE(crc32(records), 24);
    const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
    return Buffer.concat([prefix, json, pad(32 + json.length), records, pad(records.length), rows]);
  }

  /** The ids in the order the base file holds them, and its baseId. */
  async function savedOrder(file: string): Promise<{ ids: string[]; baseId: string }> {
    const base = await readVectorFile(file, { dimensions: DIMS, modelId: null });
    return { ids: base?.ids ?? [], baseId: base?.baseId as string };
  }

  /** Format 1, as the store wrote it before 2026-12-07; without a baseId, as before the change log existed. */
  function legacyFile(ids: string[], entries: Map<string, Entry>, modelId: string, baseId?: string): Buffer {
    const rows = rowsOf(ids, entries);
    const header = {
      format: "counsel-local-vectors",
      version: 1,
      ...(baseId ? { baseId } : {}),
      embeddingModelId: modelId,
      dimensions: DIMS,
      count: ids.length,
      ids,
      texts: ids.map((id) => entries.get(id)?.text ?? `text ${id}`),
      metadata: ids.map((id) => (entries.get(id) as Entry).metadata),
      vectorsCrc32: crc32(rows),
    };
    const json = Buffer.from(JSON.stringify(header), "utf8");
    const length = Buffer.alloc(4);
    length.writeUInt32LE(json.length);
    const padding = Buffer.alloc((4 - ((12 + json.length) % 4)) % 4);
    return Buffer.concat([Buffer.from("CNSLVEC1", "latin1"), length, json, padding, rows]);
  }

  it("ranks and scores random sparse and dense vectors as the reference does, with filters, deletes and a reload", async () => {
    const next = random(20240611);
    const entries = new Map<string, Entry>();
    const file = path.join(dir, "vectors.bin");
    const store = new LocalVectorStore(embeddings, { path: file });
    const add = async (ids: string[], density: number) => {
      const vectors = ids.map(() => randomVector(next, density, DIMS));
      const docs = ids.map(
        (id, i) => new Document({ pageContent: `text ${id}`, metadata: { group: i % 5, density } }),
      );
      await store.addVectors(vectors, docs, { ids });
      ids.forEach((id, i) => {
        entries.set(id, { vector: vectors[i], metadata: docs[i].metadata });
      });
    };
    // Several batches, so that the store grows past its first capacities; mostly sparse, some dense chunks.
    for (let batch = 0; batch < 6; batch++) {
      await add(
        Array.from({ length: 100 }, (_, i) => `v${batch * 100 + i}`),
        batch === 5 ? 1 : 0.25,
      );
    }
    const queries = [
      ...Array.from({ length: 20 }, () => randomVector(next, 0.15, DIMS)),
      ...Array.from({ length: 5 }, () => randomVector(next, 1, DIMS)),
    ];
    const expectSameAsReference = async () => {
      for (const query of queries) {
        expect(await search(store, query, 10)).toEqual(reference(entries, query, 10));
        expect(await search(store, query, 7, { group: 2 })).toEqual(
          reference(entries, query, 7, (e) => e.metadata.group === 2),
        );
        const dense = (doc: { metadata: Record<string, unknown> }) => doc.metadata.density === 1;
        expect(await search(store, query, 5, dense)).toEqual(
          reference(entries, query, 5, (e) => e.metadata.density === 1),
        );
      }
    };
    await expectSameAsReference();

    // Deletes move the last slot into each hole (including a chunk that was itself just moved); upserts
    // overwrite in place; then new chunks append.
    const doomed = ["v599", "v0", "v598", "v17", "v250", "v251", "v597", "absent"];
    for (let i = 3; i < 600; i += 7) doomed.push(`v${i}`);
    await store.delete({ ids: doomed });
    for (const id of doomed) entries.delete(id);
    await store.delete({ ids: ["v596"] });
    entries.delete("v596");
    await add(["v1", "v2", "v300"], 0.25);
    await add(["w1", "w2", "w3"], 1);
    expect(store.count()).toBe(entries.size);
    await expectSameAsReference();

    // The file is byte for byte what the format says, vectors row-major float32; reloaded, it searches alike.
    await store.flush();
    const { ids, baseId } = await savedOrder(file);
    expect((await readFile(file)).equals(storeFile(ids, entries, embeddings.modelId, baseId))).toBe(true);
    const reloaded = await LocalVectorStore.load(embeddings, { path: file });
    for (const query of queries) {
      expect(await search(reloaded, query, 10)).toEqual(reference(entries, query, 10));
    }
  });

  it.each([1, 2])(
    "opens a file written in format %i, searches it exactly, and rewrites it in format 3 without losing a chunk",
    async (version) => {
      const next = random(7);
      const entries = new Map<string, Entry>();
      for (let i = 0; i < 203; i++) {
        entries.set(`d${i}`, {
          vector: randomVector(next, i % 4 === 0 ? 1 : 0.25, DIMS),
          metadata: { group: i % 3 },
        });
      }
      const file = path.join(dir, "legacy.bin");
      const ids = [...entries.keys()];
      await writeFile(
        file,
        version === 1
          ? legacyFile(ids, entries, embeddings.modelId)
          : storeFile(ids, entries, embeddings.modelId, "base-2", 2),
      );
      const warnings = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
      const store = await LocalVectorStore.load(embeddings, { path: file, saveDelayMs: 60_000 });
      expect(warnings).toHaveBeenCalledWith(expect.stringContaining(`(format ${version}`), {
        code: "COUNSEL_STORE_CONVERTED",
      });
      expect(warnings).toHaveBeenCalledWith(expect.stringContaining("it is being rewritten in format 3"), {
        code: "COUNSEL_STORE_CONVERTED",
      });
      warnings.mockRestore();
      expect(store.count()).toBe(203);
      const queries = Array.from({ length: 10 }, (_, i) => randomVector(next, i < 8 ? 0.15 : 1, DIMS));
      const expectSearchesAsReference = async (s: LocalVectorStore) => {
        for (const query of queries) {
          expect(await search(s, query, 10)).toEqual(reference(entries, query, 10));
          expect(await search(s, query, 4, { group: 1 })).toEqual(
            reference(entries, query, 4, (e) => e.metadata.group === 1),
          );
        }
      };
      await expectSearchesAsReference(store);

      // The conversion is a new base, written as any save (here at once, by flush).
      expect((await readFile(file)).subarray(0, 8).toString("latin1")).toBe(`CNSLVEC${version}`);
      await store.flush();
      const saved = await savedOrder(file);
      expect(
        (await readFile(file)).equals(storeFile(saved.ids, entries, embeddings.modelId, saved.baseId)),
      ).toBe(true);
      const again = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
      const converted = await LocalVectorStore.load(embeddings, { path: file });
      expect(again).not.toHaveBeenCalled();
      again.mockRestore();
      await expectSearchesAsReference(converted);
    },
  );

  it("answers 50 SciFact queries over sentence chunks with the reference's top 10, ids and scores", async () => {
    // Sentence chunks of the sample abstracts; queries are their titles and opening sentences.
    const docs = sampleDocs();
    const chunks = docs.flatMap((d) =>
      d.text
        .split(/(?<=\.)\s+/)
        .map(
          (text, i) => new Document({ pageContent: text, metadata: { doc_id: d._id }, id: `${d._id}-${i}` }),
        ),
    );
    const queries = [...docs.map((d) => d.title), ...docs.map((d) => d.text.split(". ")[0])].slice(0, 50);
    expect(queries).toHaveLength(50);
    const store = new LocalVectorStore(embeddings);
    await store.addDocuments(chunks, { ids: chunks.map((c) => c.id as string) });
    const vectors = await embeddings.embedDocuments(chunks.map((c) => c.pageContent));
    const entries = new Map<string, Entry>(
      chunks.map((c, i) => [c.id as string, { vector: vectors[i], metadata: c.metadata }]),
    );
    const someDoc = docs[3]._id;
    for (const text of queries) {
      const query = await embeddings.embedQuery(text);
      expect(await search(store, query, 10)).toEqual(reference(entries, query, 10));
      expect(await search(store, query, 3, { doc_id: someDoc })).toEqual(
        reference(entries, query, 3, (e) => e.metadata.doc_id === someDoc),
      );
    }
    // MMR reads the candidates' vectors back from the store: it must pick what the stored vectors make it pick.
    for (const text of queries) {
      const query = await embeddings.embedQuery(text);
      const candidates = reference(entries, query, 20).map(([id]) => id);
      const vectors = candidates.map((id) => stored((entries.get(id) as Entry).vector));
      const expected = maximalMarginalRelevance(query, vectors, 0.5, 5).map((i) => candidates[i]);
      const mmr = await store.maxMarginalRelevanceSearch(text, { k: 5, fetchK: 20, lambda: 0.5 });
      expect(mmr.map((d) => d.id)).toEqual(expected);
    }
  });
  describe("saving while the store changes", () => {
    /** The base file is, byte for byte, what the store writes for exactly `entries`. */
    async function expectBaseHolds(file: string, entries: Map<string, Entry>) {
      const { ids, baseId } = await savedOrder(file);
      expect(new Set(ids)).toEqual(new Set(entries.keys()));
      expect((await readFile(file)).equals(storeFile(ids, entries, embeddings.modelId, baseId))).toBe(true);
    }

    /** The base and its change log together hold exactly `entries`, vectors as stored, to the bit. */
    async function expectFilesHold(file: string, entries: Map<string, Entry>) {
      const base = await readVectorFile(file, { dimensions: DIMS, modelId: null });
      const saved = new Map<string, { vector: number[]; text: string; metadata: unknown }>();
      base?.ids.forEach((id, i) => {
        const vector = Array.from(base.vectors.subarray(i * DIMS, (i + 1) * DIMS));
        saved.set(id, { vector, text: base.texts[i], metadata: base.metadata[i] });
      });
      await ChangeLog.open(StorePersistence.logFile(file), base?.baseId ?? null, (record) => {
        if (record.op === "delete") for (const id of record.ids) saved.delete(id);
        else
          record.ids.forEach((id, i) => {
            const vector = Array.from(record.vectors.subarray(i * DIMS, (i + 1) * DIMS));
            saved.set(id, { vector, text: record.texts[i], metadata: record.metadata[i] });
          });
      });
      const expected = new Map(
        [...entries].map(([id, e]) => [
          id,
          { vector: stored(e.vector), text: e.text ?? `text ${id}`, metadata: e.metadata },
        ]),
      );
      expect(saved).toEqual(expected);
      const reloaded = await LocalVectorStore.load(embeddings, { path: file });
      expect(reloaded.count()).toBe(entries.size);
    }

    async function storeWith(file: string, count: number, next: () => number) {
      // saveStepMs 0: the save yields to the event loop after every step, so the test can change the store
      // between any two of them.
      const store = new LocalVectorStore(embeddings, { path: file, saveDelayMs: 60_000, saveStepMs: 0 });
      const entries = new Map<string, Entry>();
      const put = async (ids: string[], text: (id: string) => string) => {
        const vectors = ids.map(() => randomVector(next, 0.25, DIMS));
        const docs = ids.map((id) => new Document({ pageContent: text(id), metadata: { id, at: text(id) } }));
        await store.addVectors(vectors, docs, { ids });
        ids.forEach((id, i) => {
          entries.set(id, { vector: vectors[i], metadata: docs[i].metadata, text: docs[i].pageContent });
        });
      };
      const remove = async (ids: string[]) => {
        await store.delete({ ids });
        for (const id of ids) entries.delete(id);
      };
      await put(
        Array.from({ length: count }, (_, i) => `a${i}`),
        (id) => `text ${id}`,
      );
      return { store, entries, put, remove };
    }

    it("writes the store as it was when the save began, while upserts, deletes, growth and deleteAll go on; a later flush saves them", async () => {
      const file = path.join(dir, "vectors.bin");
      const { store, entries, put, remove } = await storeWith(file, 300, random(99));
      const atStart = new Map(entries);
      let saved = false;
      const saving = store.flush().then(() => {
        saved = true;
      });
      const ids = (from: number, to: number, prefix = "a") =>
        Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);
      const changes = [
        // Upserts overwrite slots in place.
        () => put(["a5", "a10", "a299"], (id) => `updated ${id}`),
        // Deletes move the last slots into the holes.
        () => remove(["a0", "a150", "a298", "a7"]),
        () => put(ids(20, 40), (id) => `again ${id}`),
        // Growth (300 slots to over 512) moves the store to new columns; then it overwrites old slots there.
        () => put(ids(0, 300, "b"), (id) => `new ${id}`),
        () => put(ids(40, 60), (id) => `after growth ${id}`),
        () => remove(ids(100, 140)),
        // Emptied and refilled: slots 0.. hold other chunks now.
        async () => {
          await store.delete({ deleteAll: true });
          entries.clear();
        },
        () => put(ids(0, 50, "c"), (id) => `refilled ${id}`),
        () => put(ids(200, 230), (id) => `back ${id}`),
      ];
      for (const change of changes) {
        await nextTurn();
        await change();
        expect(saved, "the save was still under way").toBe(false);
      }
      await saving;
      // The first save of a store writes it whole, as a base.
      await expectBaseHolds(file, atStart);
      await expectFilesHold(file, atStart);

      // The changes left the store dirty: the next flush saves them (emptied since, as a new base).
      await store.flush();
      await expectBaseHolds(file, entries);
      await expectFilesHold(file, entries);
      expect(store.count()).toBe(entries.size);
    });

    it("flush() called after changes made during a save resolves once they are on disk", async () => {
      const file = path.join(dir, "vectors.bin");
      const { store, entries, put, remove } = await storeWith(file, 200, random(5));
      const first = store.flush();
      await nextTurn();
      await put(["late"], () => "added during the save");
      await remove(["a3"]);
      await store.flush();
      await expectFilesHold(file, entries);
      await first;
      // Nothing changed since: another flush has nothing to do, and the files stay as they are.
      const log = StorePersistence.logFile(file);
      const before = Buffer.concat([await readFile(file), await readFile(log)]);
      await store.flush();
      expect(Buffer.concat([await readFile(file), await readFile(log)]).equals(before)).toBe(true);
    });

    it("writes chunk records a few at a time, and reads back any text and metadata as JSON round-trips it", async () => {
      const metadata: Record<string, unknown>[] = [
        { doc_id: "x", nested: { list: [1, 2.5, -0, 1e21], ok: true, none: null } },
        { quote: 'say "hi"\\ back\nslash', unicode: "naïve 漢字 🦀", lone: "\ud800" },
        { date: new Date(0), skipped: undefined, empty: {} },
        {},
        { big: "x".repeat(3_000_000) },
      ];
      const count = metadata.length;
      const contents = {
        count,
        ids: metadata.map((_, i) => `id-${i}-é`),
        texts: metadata.map((_, i) => `text ${i}\t"quoted"\u2028`),
        metadata,
      };
      for (const perStep of [1, 2, 3, 256]) {
        let pauses = 0;
        const pieces = await collect(
          chunkRecords(
            contents,
            async () => {
              pauses += 1;
            },
            perStep,
          ),
        );
        expect(pauses).toBe(Math.ceil(count / perStep));
        expect(pieces).toHaveLength(Math.ceil(count / perStep));
      }
      // Through a store and its file: one record (3 MB) spans the reader's blocks.
      const file = path.join(dir, "vectors.bin");
      const store = new LocalVectorStore(embeddings, { path: file });
      await store.addVectors(
        metadata.map(() => randomVector(random(3), 1, DIMS)),
        contents.ids.map(
          (id, i) => new Document({ id, pageContent: contents.texts[i], metadata: metadata[i] }),
        ),
      );
      await store.flush();
      const base = await readVectorFile(file, { dimensions: DIMS, modelId: null });
      expect(base?.version).toBe(3);
      expect(base?.ids).toEqual(contents.ids);
      expect(base?.texts).toEqual(contents.texts);
      expect(base?.metadata).toEqual(JSON.parse(JSON.stringify(metadata)));
    });
  });
});

/** Array.fromAsync, which Node 20 lacks. */
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

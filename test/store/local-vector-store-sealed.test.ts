// The local store on an encrypted DATA_DIR (DATA_KMS_KEY_ID): every file it writes (base, change log, BM25 file,
// chunk index) sealed with the data key, read back by a restart with the same key and by no other.
import { randomBytes } from "node:crypto";
import { appendFile, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Document } from "@langchain/core/documents";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { SealedFileError, sealedFiles } from "../../src/store/at-rest/sealed-files.ts";
import { LocalVectorStore, type LocalVectorStoreOptions } from "../../src/store/local/local-vector-store.ts";
import { StorePersistence } from "../../src/store/local/store-persistence.ts";
import { randomChunks } from "../helpers/random-vectors.ts";
import { sampleChunks } from "../retrieval/scifact-sample.ts";

const embeddings = new LocalHashEmbeddings();
const PRION = "1/2000 in UK have abnormal PrP positivity.";
const chunk = (id: string, text: string) => new Document({ pageContent: text, id, metadata: { doc_id: id } });

/** Counsel's warnings while `run` runs (a store's, not node's). */
async function warningsDuring(run: () => Promise<void>): Promise<string[]> {
  const warnings: string[] = [];
  const onWarning = (warning: Error & { code?: string }) => {
    if (warning.code?.startsWith("COUNSEL_")) warnings.push(warning.message);
  };
  process.on("warning", onWarning);
  try {
    await run();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off("warning", onWarning);
  }
  return warnings;
}

describe("LocalVectorStore on sealed files", () => {
  let dir: string;
  let file: string;
  const files = sealedFiles(randomBytes(32));
  const options = (more: LocalVectorStoreOptions = {}): LocalVectorStoreOptions => ({
    path: file,
    files,
    saveDelayMs: 60_000,
    ...more,
  });
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "counsel-sealed-store-"));
    file = path.join(dir, "vectors.bin");
  });
  /** Stores opened by a test: closed after it, as a service closes them. */
  const opened: LocalVectorStore[] = [];
  const track = (store: LocalVectorStore) => {
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Every byte the store's folder holds, as text. */
  const onDisk = async () => {
    const names = await readdir(dir);
    return Buffer.concat(await Promise.all(names.map((name) => readFile(path.join(dir, name))))).toString(
      "latin1",
    );
  };

  it("reloads its chunks, vectors and rankings from a base and a log, none of their text in the clear", async () => {
    const store = track(new LocalVectorStore(embeddings, options()));
    const chunks = sampleChunks();
    await store.addDocuments(chunks, { ids: chunks.map((c) => c.id as string) });
    await store.flush();
    await store.addDocuments([chunk("appended", "call jane.doe@example.com about prion protein")]);
    await store.flush();

    const reloaded = track(await LocalVectorStore.load(embeddings, options()));
    expect(reloaded.count()).toBe(chunks.length + 1);
    expect(await reloaded.similaritySearchWithScore(PRION, 5)).toEqual(
      await store.similaritySearchWithScore(PRION, 5),
    );
    expect(await reloaded.lexicalSearch(PRION, { k: 5 })).toEqual(await store.lexicalSearch(PRION, { k: 5 }));
    expect((await reloaded.getByIds(["appended"]))[0].pageContent).toContain("jane.doe@example.com");
    const bytes = await onDisk();
    expect(bytes).not.toContain("jane.doe@example.com");
    expect(bytes).not.toContain(chunks[0].pageContent.slice(0, 40));
    expect(bytes).not.toContain("counsel-local");
  });

  it("reads a large store's vectors, texts and saved indexes from its sealed base, without rebuilding them", async () => {
    const more = { vectorsOnDiskFrom: 1, maxTextInMemory: 0, pageSlots: 4 };
    const store = track(new LocalVectorStore(embeddings, options(more)));
    const chunks = sampleChunks();
    await store.addDocuments(chunks, { ids: chunks.map((c) => c.id as string) });
    await store.delete({ ids: [chunks[3].id as string] });
    await store.flush();
    const names = await readdir(dir);
    expect(names).toEqual(expect.arrayContaining(["vectors.bin", "vectors.bin.bm25", "vectors.bin.chunks"]));

    let reloaded: LocalVectorStore | undefined;
    const warnings = await warningsDuring(async () => {
      reloaded = track(await LocalVectorStore.load(embeddings, options(more)));
      await reloaded.whenVerified();
    });
    expect(warnings).toEqual([]);
    expect(reloaded?.count()).toBe(chunks.length - 1);
    expect(await reloaded?.similaritySearchWithScore(PRION, 5)).toEqual(
      await store.similaritySearchWithScore(PRION, 5),
    );
    expect(await reloaded?.lexicalSearch(PRION, { k: 5 })).toEqual(
      await store.lexicalSearch(PRION, { k: 5 }),
    );
  });

  it("cannot be opened with another data key: it fails rather than reading something else", async () => {
    const store = track(new LocalVectorStore(embeddings, options()));
    await store.addDocuments([chunk("a", "alpha"), chunk("b", "beta")]);
    await store.flush();
    await expect(
      LocalVectorStore.load(embeddings, { ...options(), files: sealedFiles(randomBytes(32)) }),
    ).rejects.toThrow(SealedFileError);
    await expect(LocalVectorStore.load(embeddings, { ...options(), files: undefined })).rejects.toThrow(
      /not a Counsel vector store file/,
    );
  });

  it("keeps every save before a crash that tore the last append to its log, and appends after them", async () => {
    const store = track(new LocalVectorStore(embeddings, options()));
    await store.addDocuments([chunk("a", "alpha")]);
    await store.flush();
    await store.addDocuments([chunk("kept", "saved before the crash")]);
    await store.flush();
    // Half a frame, as a crash in the middle of the next append leaves.
    await appendFile(StorePersistence.logFile(file), randomBytes(3000));

    const reloaded = track(await LocalVectorStore.load(embeddings, options()));
    expect(reloaded.count()).toBe(2);
    await reloaded.addDocuments([chunk("after", "saved after the crash")]);
    await reloaded.flush();
    const again = track(await LocalVectorStore.load(embeddings, options()));
    expect((await again.getByIds(["kept", "after"])).map((d) => d.pageContent)).toEqual([
      "saved before the crash",
      "saved after the crash",
    ]);
  });

  it("saves no graph of its approximate index (usearch writes in the clear): a restart builds it again", async () => {
    const dims = 32;
    const dense = new LocalHashEmbeddings({ dimensions: dims });
    const { vectors, docs } = randomChunks(0, 1200, 1, dims);
    const more = { vectorIndex: "hnsw" as const };
    const store = track(new LocalVectorStore(dense, options(more)));
    await store.addVectors(vectors, docs);
    await store.flush();
    const base = await readFile(file);
    await store.similaritySearchVectorWithScore(vectors[0], 1);
    await store.whenIndexed();
    // A graph built is no reason for a new base when the base cannot carry it.
    await store.close();
    expect((await readFile(file)).equals(base)).toBe(true);
    opened.splice(opened.indexOf(store), 1);
    expect((await readdir(dir)).filter((name) => name.includes(".hnsw.") || name.endsWith(".graph"))).toEqual(
      [],
    );

    const reloaded = track(await LocalVectorStore.load(dense, options(more)));
    const [[hit]] = [await reloaded.similaritySearchVectorWithScore(vectors[42], 1)];
    expect(hit[0].id).toBe("c42");
    await reloaded.whenIndexed();
    expect(reloaded.indexStatus()).toMatchObject({ indexed: 1200, pending: 0 });
  });
});

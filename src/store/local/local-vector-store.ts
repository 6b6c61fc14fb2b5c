// The embedded vector store: chunks, their normalised vectors in pages of int8 columns (paged-columns.ts; in a
// large store, read from the base file for the chunks it holds: store-vectors.ts) and a
// BM25 index over the same chunks, in process, persisted to a base file (vector-file.ts) and a log of the changes
// since (change-log.ts; when each is written: store-persistence.ts). The texts of the chunks the base holds are
// read back from it when asked for (chunk-texts.ts), not kept in the heap. Exact search (a scan with a top-k
// heap) is fast enough for the tens of thousands of chunks one folder of documents yields; past that, an HNSW
// graph (ann-index.ts) proposes candidates that the vectors rank exactly.
import { randomUUID } from "node:crypto";
import { stat } from "node:fs/promises";
import path from "node:path";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import type { EmbeddingsInterface } from "@langchain/core/embeddings";
import { maximalMarginalRelevance } from "@langchain/core/utils/math";
import { type MaxMarginalRelevanceSearchOptions, VectorStore } from "@langchain/core/vectorstores";
import type {
  Hit,
  HitSearch,
  LexicalSearch,
  MetadataFilter,
  ScoredDocument,
  SearchOptions,
} from "../../contracts/search.ts";
import { BadRequestError } from "../../errors.ts";
import type { DataFiles } from "../at-rest/data-files.ts";
import { plainFiles } from "../at-rest/plain-files.ts";
import { Bm25Index, type Bm25Options } from "../bm25-index.ts";
import { type Ranked, TopK } from "../top-k.ts";
import { AnnIndex, type AnnIndexOptions, type GraphQuantisation } from "./ann-index.ts";
import { BaseReader } from "./base-reader.ts";
import { bm25File, readBm25File, type SavedBm25, writeBm25File } from "./bm25-file.ts";
import { ChangeLog, type ChangeRecord } from "./change-log.ts";
import { type ChunkIndex, chunkIndexFile, readChunkIndex, writeChunkIndex } from "./chunk-index-file.ts";
import { ChunkTexts, type TextsSnapshot } from "./chunk-texts.ts";
import {
  carryGraphFile,
  readGraphFile,
  removeUnnamedGraphs,
  type SavedGraph,
  writeGraphFile,
} from "./graph-file.ts";
import { type PersistedState, type PersistenceOptions, StorePersistence } from "./store-persistence.ts";
import { StoreVectors } from "./store-vectors.ts";
import {
  type ChunksToWrite,
  type LoadedVectorFile,
  readVectorFile,
  VectorStoreFileError,
  verifyUnread,
  type WrittenBase,
} from "./vector-file.ts";
import { bestSlots, normalised } from "./vector-kernels.ts";
import type { VectorSnapshot } from "./vector-snapshot.ts";

/** An equality filter on metadata, or any predicate over the stored chunk. */
export type LocalVectorStoreFilter = MetadataFilter | ((doc: DocumentInterface) => boolean);

export interface LocalVectorStoreOptions {
  /** File to persist to; in-memory only when absent. */
  path?: string;
  /**
   * How its files are read and written: sealed when DATA_DIR is encrypted (DATA_KMS_KEY_ID). Sealed, the graph
   * of an approximate index is not saved (usearch writes it in the clear, by path): it is built again at start.
   */
  files?: DataFiles;
  /** How long after a change the store saves itself, in ms; `flush()` saves at once. Default 1000. */
  saveDelayMs?: number;
  /** BM25 parameters of the lexical index. */
  bm25?: Bm25Options;
  /**
   * How long a save computes before it lets the event loop answer other work, in ms. Default 5; 0 yields after
   * every step (tests use it to change the store in the middle of a save).
   */
  saveStepMs?: number;
  /**
   * The change log is folded into a new base file once it is larger than the base and than this, in bytes.
   * Default 64 MiB.
   */
  compactMinBytes?: number;
  /** Vectors per page of the columns. Default 2,048; tests use a few, so that a small store spans pages. */
  pageSlots?: number;
  /**
   * How unfiltered vector searches find their candidates: `exact` scans every vector; `hnsw` asks an approximate
   * index (ann-index.ts) and ranks its candidates exactly; `auto` (the default) scans below `annMinChunks`
   * chunks and builds the index once the store holds that many.
   */
  vectorIndex?: VectorIndexMode;
  /** Chunks from which `auto` builds the approximate index. Default 20,000. */
  annMinChunks?: number;
  /** Parameters of the approximate index. */
  ann?: AnnIndexOptions;
  /**
   * Characters of text written since the base file that the store holds in memory before its next save writes a
   * new base (from which it reads them instead). Default 32 Mi: a new base costs a rewrite of the file, so not
   * at every save, and the heap does not grow with the corpus.
   */
  maxTextInMemory?: number;
  /**
   * Chunks from which the vectors the base file holds are read from it when needed (a search's candidates, a
   * scan) instead of kept in memory. Default 100,000 (100 MB of 1,024-dimension vectors); Infinity keeps them all
   * in memory.
   */
  vectorsOnDiskFrom?: number;
}

export type VectorIndexMode = "auto" | "exact" | "hnsw";

/** Where an exact scan of dense 1,024-dimension vectors passes ~10 ms on one core (the index answers in ~2). */
export const DEFAULT_ANN_MIN_CHUNKS = 20_000;
/**
 * The graph keeps signs (b1) when the vectors it holds have at least this share of non-zero components (dense
 * embeddings: ~0.99 once quantised to int8), int8 otherwise (the hashed offline embeddings: 0.36-0.92 for
 * SciFact's chunks). A query below it (a short question's hashed embedding: a tenth) has zeros, which have no sign
 * to compare: it scans instead of searching a graph of signs.
 */
const DENSE_SHARE = 0.95;
/** Below this many dimensions signs are too coarse to find neighbours by (64 random ones: recall 0.71). */
const SIGNS_MIN_DIMENSIONS = 512;
/** Vectors sampled to tell dense from sparse. */
const DENSITY_SAMPLE = 64;
/**
 * A graph that inserted more than this since it was saved (and, while the store is open, a quarter of its size)
 * is saved again.
 */
const GRAPH_SAVE_MIN_INSERTS = 1000;
const DEFAULT_MAX_TEXT_IN_MEMORY = 32 * 2 ** 20;
export const DEFAULT_VECTORS_ON_DISK_FROM = 100_000;

/** Nearly every component non-zero: what embedding models give. */
function isDense(vector: Float32Array): boolean {
  let nonZero = 0;
  for (const value of vector) if (value !== 0) nonZero++;
  return nonZero >= DENSE_SHARE * vector.length;
}

/** What the embedder says about itself, when it says it (LocalHashEmbeddings does; others may not). */
interface DescribedEmbeddings {
  modelId?: unknown;
  dimensions?: unknown;
}

export class LocalVectorStore extends VectorStore implements LexicalSearch, HitSearch {
  declare FilterType: LocalVectorStoreFilter;

  override lc_namespace = ["counsel", "store", "local"];

  readonly path?: string;
  private readonly files: DataFiles;
  private readonly embeddingModelId: string | null;
  private dimensions: number;

  // Slot i holds ids[i], texts' slot i, metadata[i] and its vector; slots 0..size-1 are all live (a delete moves the
  // last slot into the hole), so a search scans one dense range.
  //
  // Vectors are kept dimension-major, page by page (PagedColumns). Search is the hot path, and a hashed query
  // has only a few hundred non-zero dimensions: adding up one contiguous column per such dimension streams a
  // fraction of the memory, where a row-major scan gathers scattered floats from every 4 KB row (a cache miss
  // per term), and is ~3x faster. No row-major copy is kept besides (it would double the largest allocation):
  // rows are read back only to save (transposed a few slots at a time, for the checksum, then again as they
  // are written) and for MMR's few candidates.
  private vectors: StoreVectors;
  private readonly vectorOptions: { pageSlots?: number; onDiskFrom: number };
  private ids: string[] = [];
  /** In memory for the chunks written since the last base, read from the base for the rest. */
  private readonly texts = new ChunkTexts();
  private metadata: Record<string, unknown>[] = [];
  private readonly slotOf = new Map<string, number>();
  private readonly bm25: Bm25Index;
  /** The BM25 index's analysisFingerprint(), which its saved copy must match. */
  private readonly lexicalAnalysis: string;
  private readonly vectorIndex: VectorIndexMode;
  private readonly annMinChunks: number;
  private readonly annOptions: AnnIndexOptions;
  /** The approximate index, once there is one (see `vectorIndex`). */
  private ann?: AnnIndex;
  /**
   * The graph saved beside the base this store was opened from, until the first search reads it (a process that
   * never searches never loads it), and the chunks changed since it was saved, whose entries it cannot keep.
   */
  private savedGraph?: { graph: SavedGraph; changed: Set<string> };
  /** The vectors written are sparse (hashed embeddings): the graph waits for the first search (indexAsWritten). */
  private writesSparse = false;

  /** Saves the store to `path`; none in memory. */
  private persistence?: StorePersistence;
  private readonly persistenceOptions: PersistenceOptions;
  private readonly maxTextInMemory: number;
  /** What the base just written holds, until its chunk index is saved beside it (chunk-index-file.ts). */
  private baseChunks?: ChunkIndex;
  /** Chunks removed so far: a search that awaited reads checks that no slot moved meanwhile. */
  private removals = 0;
  /** The check of the vectors a start left in the base file (verifyUnread), while it runs. */
  private verifying?: Promise<void>;
  /** What that check found wrong: every search, write and save fails with it. */
  private damaged?: Error;
  private closed = false;
  /** The chunks the save under way writes, while it runs: which slot each of its records is now (see adopt). */
  private savingChunks?: {
    ids: string[];
    metadata: Record<string, unknown>[];
    texts: TextsSnapshot;
    /** The vectors it was taken from (replaced when the store is refilled with another dimension). */
    vectors: StoreVectors;
  };

  _vectorstoreType(): string {
    return "local";
  }

  constructor(embeddings: EmbeddingsInterface, options: LocalVectorStoreOptions = {}) {
    super(embeddings, options);
    this.path = options.path;
    this.files = options.files ?? plainFiles;
    this.persistenceOptions = {
      saveDelayMs: options.saveDelayMs ?? 1000,
      saveStepMs: options.saveStepMs ?? 5,
      compactMinBytes: options.compactMinBytes,
      files: this.files,
    };
    this.maxTextInMemory = options.maxTextInMemory ?? DEFAULT_MAX_TEXT_IN_MEMORY;
    this.bm25 = new Bm25Index(options.bm25);
    this.lexicalAnalysis = this.bm25.analysisFingerprint();
    const described = embeddings as EmbeddingsInterface & DescribedEmbeddings;
    this.embeddingModelId = typeof described.modelId === "string" ? described.modelId : null;
    // 0 = not known yet: the first vector added decides.
    this.dimensions = typeof described.dimensions === "number" ? described.dimensions : 0;
    this.vectorOptions = {
      pageSlots: options.pageSlots,
      onDiskFrom: options.vectorsOnDiskFrom ?? DEFAULT_VECTORS_ON_DISK_FROM,
    };
    this.vectorIndex = options.vectorIndex ?? "auto";
    this.annMinChunks = options.annMinChunks ?? DEFAULT_ANN_MIN_CHUNKS;
    this.annOptions = options.ann ?? {};
    this.vectors = new StoreVectors(this.dimensions, this.vectorOptions);
    // Made without load(): whatever the path holds is replaced by the first save.
    if (this.path) {
      const log = ChangeLog.fresh(StorePersistence.logFile(this.path), null, this.files);
      this.persistence = this.persistAt(this.path, log, { id: null, bytes: 0 });
    }
  }

  /**
   * Opens the store persisted at `options.path` (an empty store when the file does not exist yet). Throws a
   * VectorStoreFileError when the file is damaged or was written with another embedding model or dimension.
   */
  static async load(
    embeddings: EmbeddingsInterface,
    options: LocalVectorStoreOptions = {},
  ): Promise<LocalVectorStore> {
    const store = new LocalVectorStore(embeddings, options);
    if (!options.path) return store;
    // Straight into pages of columns, a page of rows at a time: never the whole file, nor all its vectors, at once;
    // in a large store, not at all (read from the file when needed).
    let vectors: StoreVectors | undefined;
    const file = await readVectorFile(
      options.path,
      { dimensions: store.dimensions, modelId: store.embeddingModelId },
      {
        // Read from the file when asked for: not held (only where each is).
        texts: false,
        files: store.files,
        blockRows: store.vectors.pageSlots,
        leaveVectors: (count) => store.vectors.readsFromDisk(count),
        chunkIndex: async (baseId, count) =>
          store.vectors.readsFromDisk(count)
            ? store.savedChunkIndex(options.path as string, baseId, count)
            : undefined,
        onRows: (_first, count, rows, dimensions) => {
          vectors ??= new StoreVectors(dimensions, store.vectorOptions);
          vectors.appendPage(rows, count);
        },
        // Format 3: as the columns hold them, laid out without quantising again.
        onQuantisedRows: (_first, count, rows, dimensions) => {
          vectors ??= new StoreVectors(dimensions, store.vectorOptions);
          vectors.appendQuantisedPage(rows, count);
        },
      },
    );
    if (file?.vectorsLeft) {
      vectors = new StoreVectors(file.dimensions, store.vectorOptions);
      const base = {
        reader: await BaseReader.open(options.path, store.files),
        vectorsStart: file.vectorsStart,
      };
      vectors.openOnDisk(base, file.count);
    }
    if (file?.vectorsLeft || file?.recordsLeft) {
      store.verifyInBackground(options.path, file, await BaseReader.open(options.path, store.files));
    }
    const lexical = file?.baseId ? await store.savedLexicalIndex(options.path, file.baseId) : undefined;
    const restored = file && vectors ? await store.restore(options.path, file, vectors, lexical) : false;
    const logFile = StorePersistence.logFile(options.path);
    // The log's chunks changed after the graph saved with the base: their entries in it are not theirs.
    const logged = new Set<string>();
    const opened = await ChangeLog.open(
      logFile,
      file?.baseId ?? null,
      (record) => {
        store.replay(record, logFile);
        for (const id of record.ids) logged.add(id);
      },
      store.files,
    );
    if (opened.tornBytes > 0) {
      process.emitWarning(
        `${logFile}: cut off ${opened.tornBytes} bytes of a save that a crash interrupted; the chunks saved before it are kept.`,
        { code: "COUNSEL_STORE_TORN_LOG" },
      );
    }
    // Entries the saved index may hold from after its base: set again from the store as now read.
    if (restored && lexical) for (const id of lexical.stale) await store.reindexLexical(id);
    if (file?.baseId && file.count > 0 && store.vectorIndex !== "exact" && !store.files.sealed) {
      const graph = await store.savedGraphFor(options.path, file.baseId);
      if (graph) store.savedGraph = { graph, changed: logged };
    }
    const base = { id: file?.baseId ?? null, bytes: file ? (await stat(options.path)).size : 0 };
    store.persistence = store.persistAt(options.path, opened.log, base);
    if (file && file.version < 3) {
      // In the background, as any save: the file stays as it is, and readable, until the new one replaces it.
      const why =
        file.version === 1
          ? "format 1, which cannot hold more than about 512 MB of text"
          : "format 2, float32 vectors: four times the bytes to store and read";
      process.emitWarning(
        `${options.path} was written by an earlier version of Counsel (${why}); it is being rewritten in ` +
          "format 3. Nothing is re-indexed.",
        { code: "COUNSEL_STORE_CONVERTED" },
      );
      store.persistence.requestBase();
    }
    return store;
  }

  static override async fromDocuments(
    docs: DocumentInterface[],
    embeddings: EmbeddingsInterface,
    options: LocalVectorStoreOptions = {},
  ): Promise<LocalVectorStore> {
    const store = await LocalVectorStore.load(embeddings, options);
    await store.addDocuments(docs);
    return store;
  }

  static override async fromTexts(
    texts: string[],
    metadatas: object[] | object,
    embeddings: EmbeddingsInterface,
    options: LocalVectorStoreOptions = {},
  ): Promise<LocalVectorStore> {
    const docs = texts.map(
      (pageContent, i) =>
        new Document({
          pageContent,
          metadata: { ...(Array.isArray(metadatas) ? metadatas[i] : metadatas) },
        }),
    );
    return LocalVectorStore.fromDocuments(docs, embeddings, options);
  }

  /** Number of chunks held. */
  count(): number {
    return this.ids.length;
  }

  /**
   * Chunks whose text the store holds in memory: those written since its base file (all of them without a file);
   * the base's are read from it when asked for. For tests, benchmarks and the logs.
   */
  textsInMemory(): number {
    return this.texts.heldInMemory;
  }

  /** Chunks whose vector is read from the base file rather than held in memory: for tests, benchmarks and logs. */
  vectorsOnDisk(): number {
    return this.vectors.onDisk(this.ids.length);
  }

  /** The same, behind the async signature every Counsel store shares (Redis needs a round trip). */
  async countChunks(): Promise<number> {
    return this.count();
  }

  /** Embeds and upserts: a document whose id (from `options.ids`, else `doc.id`) exists replaces it. */
  async addDocuments(documents: DocumentInterface[], options?: { ids?: string[] }): Promise<string[]> {
    const vectors = await this.embeddings.embedDocuments(documents.map((d) => d.pageContent));
    return this.addVectors(vectors, documents, options);
  }

  /** Upserts by id: ids from `options.ids`, else `doc.id`, else new UUIDs. Returns the ids in input order. */
  async addVectors(
    vectors: number[][],
    documents: DocumentInterface[],
    options?: { ids?: string[] },
  ): Promise<string[]> {
    if (vectors.length !== documents.length) {
      throw new BadRequestError(`Got ${vectors.length} vectors for ${documents.length} documents.`);
    }
    if (options?.ids && options.ids.length !== documents.length) {
      throw new BadRequestError(`Got ${options.ids.length} ids for ${documents.length} documents.`);
    }
    if (vectors.length === 0) return [];
    if (this.damaged) throw this.damaged;
    if (this.dimensions === 0) this.dimensions = vectors[0].length;
    if (this.vectors.dims !== this.dimensions) {
      this.vectors = new StoreVectors(this.dimensions, this.vectorOptions);
    }
    for (const v of vectors) {
      if (v.length !== this.dimensions) {
        throw new BadRequestError(
          `A vector has ${v.length} dimensions; this store holds ${this.dimensions}.`,
        );
      }
    }
    const ids = documents.map((doc, i) => options?.ids?.[i] ?? doc.id ?? randomUUID());
    const replaces = ids.some((id) => this.slotOf.has(id));
    if (this.savedGraph) for (const id of ids) this.savedGraph.changed.add(id);
    const slots = this.upsert(
      ids,
      // A flat copy: a splitter's chunk is a slice of its source document, which it would otherwise keep alive.
      documents.map((doc) => structuredClone(doc.pageContent)),
      documents.map((doc) => ({ ...doc.metadata })),
    );
    this.writeVectors(slots, vectors);
    this.indexAsWritten();
    this.persistence?.changed(ids, replaces);
    return ids;
  }

  /** Puts the chunks' ids, texts and metadata in their slots (new ones at the end); returns the slots. */
  private upsert(ids: string[], texts: string[], metadata: Record<string, unknown>[]): number[] {
    const slots: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      let slot = this.slotOf.get(id);
      if (slot === undefined) {
        slot = this.ids.length;
        this.vectors.ensureCapacity(slot + 1);
        this.ids.push(id);
        this.texts.push(texts[i]);
        this.metadata.push({});
        this.slotOf.set(id, slot);
      } else this.texts.set(slot, texts[i]);
      this.metadata[slot] = metadata[i];
      slots.push(slot);
      this.bm25.add(id, texts[i]);
    }
    return slots;
  }

  /** Deletes chunks by id; unknown ids are ignored. `{deleteAll: true}` empties the store. */
  override async delete(params?: { ids?: string[]; deleteAll?: boolean }): Promise<void> {
    if (params?.deleteAll) {
      this.ids = [];
      this.texts.clear();
      this.metadata = [];
      this.vectors.clear();
      this.removals++;
      this.slotOf.clear();
      this.bm25.clear();
      this.ann?.clear();
      this.savedGraph = undefined;
      this.writesSparse = false;
      this.persistence?.clearedAll();
      return;
    }
    if (!params?.ids) throw new BadRequestError("delete needs {ids} (or {deleteAll: true}).");
    if (this.damaged) throw this.damaged;
    const removed = this.remove(params.ids);
    if (this.savedGraph) for (const id of removed) this.savedGraph.changed.add(id);
    if (removed.length > 0) this.persistence?.changed(removed, true);
  }

  /** Removes the chunks with these ids (unknown ones are skipped); returns the ids removed. */
  private remove(ids: string[]): string[] {
    const removed: string[] = [];
    const moves: number[] = [];
    for (const id of ids) {
      const slot = this.slotOf.get(id);
      if (slot === undefined) continue;
      const last = this.ids.length - 1;
      this.ann?.drop(slot);
      if (slot !== last) {
        this.ann?.move(last, slot);
        // Fill the hole with the last chunk, so that live slots stay dense.
        moves.push(last, slot);
        this.ids[slot] = this.ids[last];
        this.metadata[slot] = this.metadata[last];
        this.slotOf.set(this.ids[slot], slot);
      }
      this.texts.remove(slot);
      this.ids.pop();
      this.metadata.pop();
      this.slotOf.delete(id);
      this.bm25.remove(id);
      removed.push(id);
    }
    if (removed.length > 0) this.removals++;
    this.moveVectors(moves);
    return removed;
  }

  /** The stored chunks with these ids, in the order asked; unknown ids are skipped. */
  async getByIds(ids: string[]): Promise<DocumentInterface[]> {
    const slots: number[] = [];
    for (const id of ids) {
      const slot = this.slotOf.get(id);
      if (slot !== undefined) slots.push(slot);
    }
    return this.documentsAt(slots);
  }

  /** Cosine similarity (the dot product of normalised vectors), best first. */
  async similaritySearchVectorWithScore(
    query: number[],
    k: number,
    filter?: this["FilterType"],
  ): Promise<[DocumentInterface, number][]> {
    const found = await this.nearest(query, k, filter);
    const docs = await this.documentsAt(found.map(({ item }) => item));
    return found.map(({ score }, i) => [docs[i], score]);
  }

  override async maxMarginalRelevanceSearch(
    query: string,
    options: MaxMarginalRelevanceSearchOptions<this["FilterType"]>,
  ): Promise<DocumentInterface[]> {
    const { k, fetchK = 20, lambda = 0.5, filter } = options;
    const queryVector = await this.embeddings.embedQuery(query);
    const candidates = await this.nearest(queryVector, Math.max(fetchK, k), filter);
    if (candidates.length === 0) return [];
    const embeddingList = await this.vectors.vectors(candidates.map(({ item }) => item));
    const picked = maximalMarginalRelevance(queryVector, embeddingList, lambda, k);
    return this.documentsAt(picked.map((i) => candidates[i].item));
  }

  /** BM25 over the same chunks; the filter applies before the cut to k. */
  async lexicalSearch(query: string, options: SearchOptions): Promise<ScoredDocument[]> {
    const found = this.bm25Hits(query, options.k, options.filter);
    const docs = await this.documentsAt(found.map(({ id }) => this.slotOf.get(id) as number));
    return found.map(({ score }, i) => ({ document: docs[i], score }));
  }

  /** As similaritySearchVectorWithScore, without reading the chunks (HitSearch). */
  async vectorHits(query: number[], k: number, filter?: MetadataFilter): Promise<Hit[]> {
    return (await this.nearest(query, k, filter)).map(({ item, score }) => ({ id: this.ids[item], score }));
  }

  /** As lexicalSearch, without reading the chunks (HitSearch). */
  async lexicalHits(query: string, k: number, filter?: MetadataFilter): Promise<Hit[]> {
    return this.bm25Hits(query, k, filter);
  }

  private bm25Hits(query: string, k: number, filter?: LocalVectorStoreFilter): Hit[] {
    const matches = this.matcher(filter);
    const allow = matches
      ? (id: string) => {
          const slot = this.slotOf.get(id);
          return slot !== undefined && matches(slot);
        }
      : undefined;
    return this.bm25.search(query, k, allow);
  }

  /**
   * Saves now if anything changed since the last save. Concurrent calls queue behind each other, and each
   * resolves once a save covering every change made before it was called is on disk.
   */
  flush(): Promise<void> {
    return this.persistence?.flush() ?? Promise.resolve();
  }

  /**
   * Resolves once the vectors a start left in the base file (a large store's) have been checked against their
   * checksum, at once for any other store; rejects with store_corrupt when they are damaged.
   */
  async whenVerified(): Promise<void> {
    await this.verifying;
    if (this.damaged) throw this.damaged;
  }

  /**
   * Checks, in the background, the vectors (and the chunk records, when their index was read instead) a start left
   * in the base file, which every start of a smaller store checks as it reads them: a start need not read a
   * gigabyte before it answers. Until it is done, searches
   * read rows that have not been checked yet; once it finds damage, everything fails with it.
   */
  private verifyInBackground(file: string, loaded: LoadedVectorFile, reader: BaseReader): void {
    this.verifying = verifyUnread(
      file,
      loaded,
      (into, at) => reader.read(into, at),
      () => this.closed,
    )
      .then(
        () => undefined,
        (error: Error) => {
          this.damaged = error;
          process.emitWarning(error.message, { code: "COUNSEL_STORE_CORRUPT" });
        },
      )
      .finally(() => reader.release());
  }

  /** Saves what changed and lets go of the base file: the store is not used after. */
  async close(): Promise<void> {
    this.closed = true;
    // A graph grown since it was saved goes with a new base rather than being inserted again at the next start.
    if (this.graphUnsaved(true)) this.persistence?.requestBase();
    await this.flush();
    this.ann?.stop();
    this.texts.close();
    this.vectors.close();
  }

  /** Saves to `file` through `log`, continuing `base`. */
  private persistAt(
    file: string,
    log: ChangeLog,
    base: { id: string | null; bytes: number },
  ): StorePersistence {
    const state: PersistedState = {
      // The first vector added decides the dimension of a store whose embedder does not say.
      dimensions: () => this.dimensions,
      readChunk: (id, into, offset) => {
        const slot = this.slotOf.get(id);
        if (slot === undefined) return undefined;
        this.vectors.rowSync(slot, into.subarray(offset, offset + this.dimensions));
        // Changed since the last save, so in memory: the read is not one of the file's.
        return { text: this.texts.readSync(slot, id), metadata: this.metadata[slot] };
      },
      snapshot: () => {
        // A save takes many turns of the event loop (so that requests are answered meanwhile), during which
        // adds and deletes go on: the snapshot's vectors are kept as they were until it is released.
        return this.snapshot();
      },
      releaseSnapshot: () => {
        this.vectors.releaseSnapshot();
        this.savingChunks?.texts.release();
        this.savingChunks = undefined;
      },
      recordsWritten: (positions) => this.adoptBase(file, positions),
      baseDue: () => this.texts.heldCharacters > this.maxTextInMemory,
      baseWritten: async (baseId, changedSince) => {
        const chunks = this.baseChunks;
        this.baseChunks = undefined;
        if (chunks && this.vectors.readsFromDisk(chunks.ids.length)) {
          await writeChunkIndex(chunkIndexFile(file), baseId, chunks, this.files);
        }
        // Emptied while the base was written: the next base (which that change makes due) saves the index.
        if (!changedSince) return;
        const stale = [...changedSince];
        const image = this.bm25.image();
        const ann = this.ann;
        const saved = this.savedGraph;
        if (this.files.sealed) {
          // usearch saves by path, in the clear: a sealed store builds its graph again at start instead.
        } else if (ann) {
          await writeGraphFile(
            file,
            baseId,
            stale,
            (graphPath) => ann.save(graphPath),
            (slot) => this.ids[slot],
          );
        } else if (saved) {
          // Never searched, so never read: carried over to this base, its entries changed since marked stale.
          await carryGraphFile(file, baseId, saved.graph, [...saved.changed, ...stale]);
        }
        await writeBm25File(
          bm25File(file),
          { baseId, analysis: this.lexicalAnalysis },
          stale,
          image,
          this.files,
        );
      },
    };
    return new StorePersistence(file, state, log, base, this.persistenceOptions);
  }

  /**
   * The store as it is now. The id, text and metadata arrays are copied, which is cheap (references; strings
   * and metadata objects are replaced, never changed in place; the texts the base holds are copied from it). The vectors are not: copying them would block
   * the event loop for ~10 ms per 11k chunks and double the largest allocation for every save. Instead, while
   * the save runs, writes to a slot keep its old vector aside first (copy on write, one slot at a time: see
   * VectorSnapshot), which costs nothing when nothing changes during the save.
   */
  private snapshot(): { contents: Omit<ChunksToWrite, "baseId">; vectors: VectorSnapshot } {
    // A new base copies the vectors it does not hold in memory from the old one: not damaged ones.
    if (this.damaged) throw this.damaged;
    const count = this.ids.length;
    const texts = this.texts.snapshot(count);
    const ids = this.ids.slice();
    const metadata = this.metadata.slice();
    this.savingChunks = { ids, metadata, texts, vectors: this.vectors };
    return {
      contents: {
        embeddingModelId: this.embeddingModelId,
        dimensions: this.dimensions,
        count,
        ids,
        texts: texts.texts,
        ...(texts.stored ? { stored: texts.stored } : {}),
        metadata,
      },
      vectors: this.vectors.snapshot(count),
    };
  }

  /**
   * A new base was written from the snapshot: the texts of its chunks not changed since are read from it from
   * now on, not kept in memory, and so are their vectors in a large store (store-vectors.ts). A chunk is unchanged
   * while its slot holds the very metadata object the snapshot took (a write replaces it).
   */
  private async adoptBase(file: string, written: WrittenBase): Promise<void> {
    const saving = this.savingChunks;
    if (!saving) return;
    const slotNow = (fileSlot: number) => {
      const slot = this.slotOf.get(saving.ids[fileSlot]);
      return slot !== undefined && this.metadata[slot] === saving.metadata[fileSlot] ? slot : undefined;
    };
    await this.texts.adopt(file, written, slotNow, this.files);
    this.baseChunks = { ids: saving.ids, metadata: saving.metadata, records: written };
    const reader = await BaseReader.open(file, this.files);
    // From here on, synchronous: no change can come between the check and the switch.
    if (this.vectors !== saving.vectors) {
      reader.release();
      return;
    }
    this.vectors.adopt(
      { reader, vectorsStart: written.vectorsStart },
      written.at.length,
      slotNow,
      this.ids.length,
    );
  }

  /** Applies a record of the change log, when the store is loaded. */
  private replay(record: ChangeRecord, logFile: string): void {
    if (record.op === "delete") {
      this.remove(record.ids);
      return;
    }
    if (this.dimensions === 0) this.dimensions = record.dimensions;
    if (record.dimensions !== this.dimensions) {
      throw new VectorStoreFileError(
        "store_mismatch",
        `The vector store log ${logFile} holds ${record.dimensions}-dimensional vectors; the store holds ` +
          `${this.dimensions}. Delete the data folder and re-index (ingest again).`,
      );
    }
    if (this.vectors.dims !== this.dimensions) {
      this.vectors = new StoreVectors(this.dimensions, this.vectorOptions);
    }
    const slots = this.upsert(record.ids, record.texts, record.metadata);
    // As saved: already of unit length, so not scaled again (a reload scores to the bit as before).
    this.vectors.writeRows(slots, record.vectors);
  }

  /**
   * The k nearest slots to `query`. Reading vectors from the base file awaits, and a delete meanwhile moves chunks
   * between slots: the search is then run again (once; a second move in that time leaves the slots as read).
   */
  private async nearest(
    query: number[],
    k: number,
    filter?: LocalVectorStoreFilter,
  ): Promise<Ranked<number>[]> {
    const removals = this.removals;
    const found = await this.nearestOnce(query, k, filter);
    if (this.removals === removals) return found;
    const size = this.ids.length;
    return (await this.nearestOnce(query, k, filter)).filter(({ item }) => item < size);
  }

  private async nearestOnce(
    query: number[],
    k: number,
    filter?: LocalVectorStoreFilter,
  ): Promise<Ranked<number>[]> {
    if (this.damaged) throw this.damaged;
    const dims = this.dimensions;
    const size = this.ids.length;
    if (size === 0 || k <= 0) return [];
    if (query.length !== dims) {
      throw new BadRequestError(`The query vector has ${query.length} dimensions; this store holds ${dims}.`);
    }
    const q = normalised(query);
    // A store of sparse vectors builds its graph at the first search; one of dense vectors began it as they were
    // written (indexAsWritten).
    if (!filter && !this.ann && this.indexDue()) this.buildIndex();
    const ann = this.ann;
    // The index answers unfiltered searches once most vectors are in its graph (until then, and for a filter,
    // which it cannot apply, a scan of every vector is both exact and quicker than ranking the pending ones).
    // A query with many zeros (hashed text) against a graph of signs: zeros have no sign, so it scans.
    if (ann && !filter && ann.pendingCount * 4 < size && (ann.quantisation === "i8" || isDense(q))) {
      const slots = ann.candidates(q, ann.candidateCount(k));
      const scores = await this.vectors.dots(slots, q);
      const heap = new TopK<number>(k);
      for (let i = 0; i < slots.length; i++) heap.push(slots[i], scores[i]);
      return heap.take();
    }
    const matches = this.matcher(filter);
    return bestSlots(await this.vectors.score(q, size, matches), k, matches);
  }

  /** Whether `vectorIndex` asks for the approximate index and the store has grown to it. */
  private indexDue(): boolean {
    if (this.vectorIndex === "exact" || this.ids.length === 0) return false;
    return this.vectorIndex === "hnsw" || this.ids.length >= this.annMinChunks;
  }

  /**
   * A store of dense vectors (an embedding model's) keeps its graph in step with its writes once it is due, so
   * that an ingestion leaves it built and saved, and the next start answers from it. Inserting one as signs costs
   * 0.1-0.3 ms of two cores, less than embedding it did. Sparse ones (the hashed offline embeddings, kept as int8,
   * whose graph builds several times slower) wait for the first search: a process that only ingests them never
   * spends the time.
   */
  private indexAsWritten(): void {
    if (this.ann || this.writesSparse || !this.indexDue()) return;
    if (this.denseVectors()) this.buildIndex("b1");
    else this.writesSparse = true;
  }

  /**
   * Builds the approximate index: from the graph saved with the base when there is one (what changed since is
   * inserted again), else from every vector, as signs when they are dense (`quantisation` when the caller knows).
   */
  private buildIndex(quantisation?: GraphQuantisation): void {
    // Read through `this`: the vectors object is replaced when the store is emptied and refilled.
    const vectorOf = (slot: number, out?: Float32Array) => this.vectors.rowSync(slot, out);
    const options: AnnIndexOptions = { ...this.annOptions, onCaughtUp: () => this.graphCaughtUp() };
    const saved = this.savedGraph;
    this.savedGraph = undefined;
    if (saved) {
      const { graph, changed } = saved;
      const stale = new Set(graph.stale);
      try {
        this.ann = AnnIndex.restore(
          graph.graphPath,
          graph.state,
          (_key, i) => {
            const id = graph.ids[i];
            return stale.has(id) || changed.has(id) ? undefined : this.slotOf.get(id);
          },
          this.ids.length,
          vectorOf,
          options,
        );
        return;
      } catch (error) {
        process.emitWarning(
          `${graph.graphPath} could not be read (${(error as Error).message}); the graph is built again.`,
          { code: "COUNSEL_STORE_INDEX_REBUILT" },
        );
      }
    }
    this.ann = new AnnIndex(this.dimensions, vectorOf, {
      quantisation: quantisation ?? (this.denseVectors() ? "b1" : "i8"),
      ...options,
    });
    this.ann.written(this.ids.keys());
  }

  /** Whether the vectors held (a sample spread over the slots) are dense, as embedding models give them. */
  private denseVectors(): boolean {
    if (this.dimensions < SIGNS_MIN_DIMENSIONS) return false;
    const size = this.ids.length;
    const samples = Math.min(size, DENSITY_SAMPLE);
    for (let i = 0; i < samples; i++) {
      if (!isDense(this.vectors.rowSync(Math.floor((i * size) / samples)))) return false;
    }
    return true;
  }

  /**
   * The graph has inserted what was pending. If a restart would have to insert much of it again (it was built,
   * or grew by a quarter, since it was last saved), a new base is due, which saves the graph beside it.
   */
  private graphCaughtUp(): void {
    if (this.graphUnsaved()) this.persistence?.requestBase();
  }

  /**
   * Whether the graph inserted more since it was saved than a restart should insert again: a quarter of it (and
   * GRAPH_SAVE_MIN_INSERTS) while the store is open, which bounds how often it is saved; GRAPH_SAVE_MIN_INSERTS
   * when the store closes, since what is left pending then is searched exactly after the restart until inserted.
   */
  private graphUnsaved(closing = false): boolean {
    const ann = this.ann;
    // A sealed store saves no graph: a new base would not save it, only cost a rewrite.
    if (!ann || this.files.sealed) return false;
    const bound = closing ? GRAPH_SAVE_MIN_INSERTS : Math.max(GRAPH_SAVE_MIN_INSERTS, ann.indexed / 4);
    return ann.insertedSinceSave > bound;
  }

  /** The graph saved beside the base `baseId` at `file`, if there is one for it; other graph files are deleted. */
  private async savedGraphFor(file: string, baseId: string): Promise<SavedGraph | undefined> {
    const graph = await readGraphFile(file, baseId, this.dimensions, (reason) =>
      process.emitWarning(`The graph saved beside ${file} is not used (${reason}); it is built again.`, {
        code: "COUNSEL_STORE_INDEX_REBUILT",
      }),
    );
    await removeUnnamedGraphs(file, graph ? path.basename(graph.graphPath) : undefined);
    return graph;
  }

  /** Resolves once every vector is in the approximate index (at once without one): for tests and benchmarks. */
  whenIndexed(): Promise<void> {
    return this.ann?.whenIndexed() ?? Promise.resolve();
  }

  /**
   * Vectors in the approximate index, waiting for it, and removed from it since it was built (all 0 without
   * one), and how it keeps them: for tests, benchmarks and the logs.
   */
  indexStatus(): { indexed: number; pending: number; removed: number; quantisation?: GraphQuantisation } {
    const ann = this.ann;
    if (!ann) return { indexed: 0, pending: 0, removed: 0 };
    const { indexed, pendingCount: pending, removed, quantisation } = ann;
    return { indexed, pending, removed, quantisation };
  }

  /** Writes `vectors[i]`, scaled to unit length, into slot `slots[i]`, keeping a save's snapshot intact. */
  private writeVectors(slots: number[], vectors: number[][]): void {
    this.vectors.write(slots, vectors);
    this.ann?.written(slots);
  }

  /** Copies vectors between slots (`moves` holds (from, to) pairs), keeping a save's snapshot intact. */
  private moveVectors(moves: number[]): void {
    if (moves.length === 0) return;
    this.vectors.move(moves);
  }

  private matcher(filter?: LocalVectorStoreFilter): ((slot: number) => boolean) | undefined {
    if (!filter) return undefined;
    if (typeof filter === "function") return (slot) => filter(this.lazyDocumentAt(slot));
    const entries = Object.entries(filter);
    if (entries.length === 0) return undefined;
    return (slot) => {
      const meta = this.metadata[slot];
      for (const [key, value] of entries) if (meta[key] !== value) return false;
      return true;
    };
  }

  /** The chunks in `slots`, in that order, their texts read from the base where it holds them. */
  private async documentsAt(slots: number[]): Promise<DocumentInterface[]> {
    const ids = slots.map((slot) => this.ids[slot]);
    const texts = await this.texts.read(slots, ids);
    return slots.map(
      (slot, i) => new Document({ pageContent: texts[i], metadata: { ...this.metadata[slot] }, id: ids[i] }),
    );
  }

  /**
   * The chunk in `slot` for a predicate filter, which sees every chunk it is asked about: its text is read (at
   * once, from the base where it holds it) only if the predicate looks at it.
   */
  private lazyDocumentAt(slot: number): DocumentInterface {
    const id = this.ids[slot];
    const doc = new Document({ pageContent: "", metadata: { ...this.metadata[slot] }, id });
    let text: string | undefined;
    Object.defineProperty(doc, "pageContent", {
      get: () => {
        text ??= this.texts.readSync(slot, id);
        return text;
      },
      enumerable: true,
    });
    return doc;
  }

  /**
   * Takes the contents of a file read by `load` (already checked against the embedder), and the BM25 index saved
   * with it when there is one (else the index is built from the texts, read back from the file). Returns whether
   * the saved index was used.
   */
  private async restore(
    file: string,
    loaded: LoadedVectorFile,
    vectors: StoreVectors,
    lexical?: SavedBm25,
  ): Promise<boolean> {
    if (loaded.count === 0) return false;
    this.dimensions = loaded.dimensions;
    this.vectors = vectors;
    this.ids = loaded.ids;
    this.metadata = loaded.metadata;
    for (let slot = 0; slot < loaded.count; slot++) this.slotOf.set(loaded.ids[slot], slot);
    // Format 1 holds no records to read the texts from: they stay in memory until it is converted.
    for (let slot = 0; slot < loaded.count; slot++) this.texts.push(loaded.texts[slot] ?? "");
    if (loaded.records) await this.texts.adopt(file, loaded.records, (slot) => slot, this.files);
    if (lexical) {
      this.bm25.restore(lexical.image);
      // Every chunk of the base, give or take those changed since: a saved index that is not is not used.
      if (Math.abs(this.bm25.size - loaded.count) <= lexical.stale.length) return true;
      process.emitWarning(
        `${this.path}: the saved lexical index holds ${this.bm25.size} chunks for ${loaded.count}; rebuilt from the texts.`,
        { code: "COUNSEL_STORE_INDEX_REBUILT" },
      );
      this.bm25.clear();
    }
    const batch = 1024;
    for (let first = 0; first < loaded.count; first += batch) {
      const slots = Array.from({ length: Math.min(batch, loaded.count - first) }, (_, i) => first + i);
      const ids = slots.map((slot) => this.ids[slot]);
      const texts = await this.texts.read(slots, ids);
      for (let i = 0; i < slots.length; i++) this.bm25.add(ids[i], texts[i]);
    }
    return false;
  }

  /** The chunk index saved beside the base `baseId` of `count` chunks at `file`, if there is one for it. */
  private savedChunkIndex(file: string, baseId: string, count: number): Promise<ChunkIndex | undefined> {
    const saved = chunkIndexFile(file);
    return readChunkIndex(
      saved,
      baseId,
      count,
      (reason) =>
        process.emitWarning(`${saved} is damaged (${reason}); the chunks are read from the base instead.`, {
          code: "COUNSEL_STORE_INDEX_REBUILT",
        }),
      this.files,
    );
  }

  /** The BM25 index saved beside the base `baseId` at `file`, if there is one for it and this analysis. */
  private savedLexicalIndex(file: string, baseId: string): Promise<SavedBm25 | undefined> {
    const saved = bm25File(file);
    return readBm25File(
      saved,
      { baseId, analysis: this.lexicalAnalysis },
      (reason) =>
        process.emitWarning(`${saved} is damaged (${reason}); the lexical index is rebuilt from the texts.`, {
          code: "COUNSEL_STORE_INDEX_REBUILT",
        }),
      this.files,
    );
  }

  /** Sets chunk `id`'s BM25 entry from the store: its text, or none once it is deleted. */
  private async reindexLexical(id: string): Promise<void> {
    const slot = this.slotOf.get(id);
    if (slot === undefined) this.bm25.remove(id);
    else this.bm25.add(id, (await this.texts.read([slot], [id]))[0]);
  }
}

// The embedded vector store: chunks, their normalised vectors in one contiguous Float32Array and a BM25 index
// over the same chunks, all in process, persisted to a single file with an atomic replace. Exact search (a
// scan with a top-k heap) is fast enough for the tens of thousands of chunks one folder of documents yields.
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { endianness } from "node:os";
import path from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { crc32 } from "node:zlib";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import type { EmbeddingsInterface } from "@langchain/core/embeddings";
import { maximalMarginalRelevance } from "@langchain/core/utils/math";
import { type MaxMarginalRelevanceSearchOptions, VectorStore } from "@langchain/core/vectorstores";
import type { LexicalSearch, MetadataFilter, ScoredDocument, SearchOptions } from "../contracts/search.ts";
import { BadRequestError, CounselError } from "../errors.ts";
import { writeFileAtomic } from "./atomic-file.ts";
import { Bm25Index, type Bm25Options } from "./bm25-index.ts";
import { type Ranked, TopK } from "./top-k.ts";

/** An equality filter on metadata, or any predicate over the stored chunk. */
export type LocalVectorStoreFilter = MetadataFilter | ((doc: DocumentInterface) => boolean);

export interface LocalVectorStoreOptions {
  /** File to persist to; in-memory only when absent. */
  path?: string;
  /** How long after a change the store saves itself, in ms; `flush()` saves at once. Default 1000. */
  saveDelayMs?: number;
  /** BM25 parameters of the lexical index. */
  bm25?: Bm25Options;
  /**
   * How long a save computes before it lets the event loop answer other work, in ms. Default 5; 0 yields after
   * every step (tests use it to change the store in the middle of a save).
   */
  saveStepMs?: number;
}

/** The persisted file cannot be used: damaged, or written for another embedding model. */
export class VectorStoreFileError extends CounselError {
  constructor(code: "store_corrupt" | "store_mismatch", message: string) {
    super(code, 503, message);
    this.name = "VectorStoreFileError";
  }
}

interface PersistedHeader {
  format: typeof FORMAT;
  version: 1;
  embeddingModelId: string | null;
  dimensions: number;
  count: number;
  ids: string[];
  texts: string[];
  metadata: Record<string, unknown>[];
  /** CRC-32 of the vector bytes, so that a flipped or torn byte is caught rather than searched. */
  vectorsCrc32: number;
}

// File layout: MAGIC, uint32 LE header length, UTF-8 JSON header, zero padding to a multiple of 4, then
// count x dimensions float32 LE.
const MAGIC = Buffer.from("CNSLVEC1", "latin1");
const FORMAT = "counsel-local-vectors";
const LITTLE_ENDIAN = endianness() === "LE";

/** What the embedder says about itself, when it says it (LocalHashEmbeddings does; others may not). */
interface DescribedEmbeddings {
  modelId?: unknown;
  dimensions?: unknown;
}

export class LocalVectorStore extends VectorStore implements LexicalSearch {
  declare FilterType: LocalVectorStoreFilter;

  override lc_namespace = ["counsel", "store", "local"];

  readonly path?: string;
  private readonly saveDelayMs: number;
  private readonly embeddingModelId: string | null;
  private dimensions: number;

  // Slot i holds ids[i], texts[i], metadata[i] and its vector; slots 0..size-1 are all live (a delete moves the
  // last slot into the hole), so a search scans one dense range.
  //
  // Vectors are kept dimension-major: dimension d of slot i is columns[d * capacity + i]. Search is the hot
  // path, and a hashed query has only a few hundred non-zero dimensions: adding up one contiguous column per
  // such dimension streams a fraction of the memory, where a row-major scan gathers scattered floats from
  // every 4 KB row (a cache miss per term), and is ~3x faster. No row-major copy is kept besides (it would
  // double the largest allocation): rows are read back only to save (transposed a few slots at a time, for
  // the checksum, then again as they are written) and for MMR's few candidates.
  private columns: Float32Array = new Float32Array(0);
  /** Slots the columns have room for. */
  private capacity = 0;
  private ids: string[] = [];
  private texts: string[] = [];
  private metadata: Record<string, unknown>[] = [];
  private readonly slotOf = new Map<string, number>();
  private readonly bm25: Bm25Index;

  private version = 0;
  private savedVersion = 0;
  private saveTimer?: NodeJS.Timeout;
  private saving: Promise<void> = Promise.resolve();
  private readonly saveStepMs: number;
  /** The vectors the save under way writes, while it runs (saves never overlap: see flush). */
  private savingVectors?: VectorSnapshot;

  _vectorstoreType(): string {
    return "local";
  }

  constructor(embeddings: EmbeddingsInterface, options: LocalVectorStoreOptions = {}) {
    super(embeddings, options);
    this.path = options.path;
    this.saveDelayMs = options.saveDelayMs ?? 1000;
    this.saveStepMs = options.saveStepMs ?? 5;
    this.bm25 = new Bm25Index(options.bm25);
    const described = embeddings as EmbeddingsInterface & DescribedEmbeddings;
    this.embeddingModelId = typeof described.modelId === "string" ? described.modelId : null;
    // 0 = not known yet: the first vector added decides.
    this.dimensions = typeof described.dimensions === "number" ? described.dimensions : 0;
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
    let data: Buffer;
    try {
      data = await readFile(options.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return store;
      throw error;
    }
    store.restore(decode(data, options.path));
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
    if (this.dimensions === 0) this.dimensions = vectors[0].length;
    for (const v of vectors) {
      if (v.length !== this.dimensions) {
        throw new BadRequestError(
          `A vector has ${v.length} dimensions; this store holds ${this.dimensions}.`,
        );
      }
    }
    const ids = documents.map((doc, i) => options?.ids?.[i] ?? doc.id ?? randomUUID());
    const slots: number[] = [];
    for (let i = 0; i < documents.length; i++) {
      const id = ids[i];
      let slot = this.slotOf.get(id);
      if (slot === undefined) {
        slot = this.ids.length;
        this.ensureCapacity(slot + 1);
        this.ids.push(id);
        this.texts.push("");
        this.metadata.push({});
        this.slotOf.set(id, slot);
      }
      this.texts[slot] = documents[i].pageContent;
      this.metadata[slot] = { ...documents[i].metadata };
      slots.push(slot);
      this.bm25.add(id, documents[i].pageContent);
    }
    this.writeVectors(slots, vectors);
    this.changed();
    return ids;
  }

  /** Deletes chunks by id; unknown ids are ignored. `{deleteAll: true}` empties the store. */
  override async delete(params?: { ids?: string[]; deleteAll?: boolean }): Promise<void> {
    if (params?.deleteAll) {
      this.ids = [];
      this.texts = [];
      this.metadata = [];
      this.slotOf.clear();
      this.bm25.clear();
      this.changed();
      return;
    }
    if (!params?.ids) throw new BadRequestError("delete needs {ids} (or {deleteAll: true}).");
    let removed = 0;
    const moves: number[] = [];
    for (const id of params.ids) {
      const slot = this.slotOf.get(id);
      if (slot === undefined) continue;
      const last = this.ids.length - 1;
      if (slot !== last) {
        // Fill the hole with the last chunk, so that live slots stay dense.
        moves.push(last, slot);
        this.ids[slot] = this.ids[last];
        this.texts[slot] = this.texts[last];
        this.metadata[slot] = this.metadata[last];
        this.slotOf.set(this.ids[slot], slot);
      }
      this.ids.pop();
      this.texts.pop();
      this.metadata.pop();
      this.slotOf.delete(id);
      this.bm25.remove(id);
      removed += 1;
    }
    this.moveVectors(moves);
    if (removed > 0) this.changed();
  }

  /** The stored chunks with these ids, in the order asked; unknown ids are skipped. */
  async getByIds(ids: string[]): Promise<DocumentInterface[]> {
    const out: DocumentInterface[] = [];
    for (const id of ids) {
      const slot = this.slotOf.get(id);
      if (slot !== undefined) out.push(this.documentAt(slot));
    }
    return out;
  }

  /** Cosine similarity (the dot product of normalised vectors), best first. */
  async similaritySearchVectorWithScore(
    query: number[],
    k: number,
    filter?: this["FilterType"],
  ): Promise<[DocumentInterface, number][]> {
    return this.nearest(query, k, filter).map(({ item, score }) => [this.documentAt(item), score]);
  }

  override async maxMarginalRelevanceSearch(
    query: string,
    options: MaxMarginalRelevanceSearchOptions<this["FilterType"]>,
  ): Promise<DocumentInterface[]> {
    const { k, fetchK = 20, lambda = 0.5, filter } = options;
    const queryVector = await this.embeddings.embedQuery(query);
    const candidates = this.nearest(queryVector, Math.max(fetchK, k), filter);
    if (candidates.length === 0) return [];
    const embeddingList = candidates.map(({ item }) => this.vectorAt(item));
    const picked = maximalMarginalRelevance(queryVector, embeddingList, lambda, k);
    return picked.map((i) => this.documentAt(candidates[i].item));
  }

  /** BM25 over the same chunks; the filter applies before the cut to k. */
  async lexicalSearch(query: string, options: SearchOptions): Promise<ScoredDocument[]> {
    const matches = this.matcher(options.filter);
    const allow = matches
      ? (id: string) => {
          const slot = this.slotOf.get(id);
          return slot !== undefined && matches(slot);
        }
      : undefined;
    return this.bm25.search(query, options.k, allow).map(({ id, score }) => ({
      document: this.documentAt(this.slotOf.get(id) as number),
      score,
    }));
  }

  /**
   * Saves now if anything changed since the last save. Concurrent calls queue behind each other, and each
   * resolves once a save covering every change made before it was called is on disk.
   */
  flush(): Promise<void> {
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.saveTimer = undefined;
    }
    const run = this.saving.then(() => this.saveIfChanged());
    this.saving = run.catch(() => undefined);
    return run;
  }

  private async saveIfChanged(): Promise<void> {
    if (!this.path || this.version === this.savedVersion) return;
    // A save takes many turns of the event loop (so that requests are answered meanwhile), during which adds
    // and deletes go on: it writes the snapshot taken here, and changes made later leave the store dirty.
    const version = this.version;
    const { header, vectors } = this.snapshot();
    this.savingVectors = vectors;
    try {
      const pause = pacer(this.saveStepMs);
      const head = await encodeHead(header, await vectorsCrc32(vectors, pause), pause);
      await writeFileAtomic(this.path, fileChunks(head, vectors));
    } finally {
      this.savingVectors = undefined;
    }
    this.savedVersion = version;
  }

  /**
   * The store as it is now. The id, text and metadata arrays are copied, which is cheap (references; strings
   * and metadata objects are replaced, never changed in place). The vectors are not: copying them would block
   * the event loop for ~10 ms per 11k chunks and double the largest allocation for every save. Instead, while
   * the save runs, writes to a slot keep its old vector aside first (copy on write, one slot at a time: see
   * VectorSnapshot), which costs nothing when nothing changes during the save.
   */
  private snapshot(): { header: HeaderWithoutCrc; vectors: VectorSnapshot } {
    const count = this.ids.length;
    return {
      header: {
        format: FORMAT,
        version: 1,
        embeddingModelId: this.embeddingModelId,
        dimensions: this.dimensions,
        count,
        ids: this.ids.slice(),
        texts: this.texts.slice(),
        metadata: this.metadata.slice(),
      },
      vectors: new VectorSnapshot(this.columns, this.capacity, count, this.dimensions),
    };
  }

  private changed(): void {
    this.version += 1;
    if (!this.path || this.saveTimer) return;
    // Not reset by later changes, so that a long ingestion still saves every saveDelayMs.
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      // A failed background save leaves the store dirty: the next flush() retries it and reports the error.
      this.flush().catch(() => undefined);
    }, this.saveDelayMs);
    this.saveTimer.unref();
  }

  private nearest(query: number[], k: number, filter?: LocalVectorStoreFilter): Ranked<number>[] {
    const dims = this.dimensions;
    const size = this.ids.length;
    if (size === 0 || k <= 0) return [];
    if (query.length !== dims) {
      throw new BadRequestError(`The query vector has ${query.length} dimensions; this store holds ${dims}.`);
    }
    const q = new Float32Array(dims);
    const scale = normalisingScale(query);
    for (let d = 0; d < dims; d++) q[d] = query[d] * scale;
    const scores = this.scoreAll(q);
    const matches = this.matcher(filter);
    const heap = new TopK<number>(k);
    for (let slot = 0; slot < size; slot++) {
      if (matches && !matches(slot)) continue;
      heap.push(slot, scores[slot]);
    }
    return heap.take();
  }

  /**
   * The dot product of the normalised query with every live slot: a sum over the query's non-zero dimensions
   * in ascending order, in double precision, whatever the query's density (zero terms would add nothing).
   */
  private scoreAll(q: Float32Array): Float64Array {
    const offsets: number[] = [];
    const weights: number[] = [];
    for (let d = 0; d < q.length; d++) {
      if (q[d] === 0) continue;
      offsets.push(d * this.capacity);
      weights.push(q[d]);
    }
    // Fresh per search (zeroed, ~90 KB for 11k chunks, cheap next to the scan), so that nothing is shared
    // should a filter predicate itself search this store.
    const scores = new Float64Array(this.ids.length);
    addColumns(scores, this.columns, offsets, weights);
    return scores;
  }

  /** The vector of `slot`, gathered from the columns. */
  private vectorAt(slot: number): number[] {
    const out = new Array<number>(this.dimensions);
    for (let d = 0, i = slot; d < this.dimensions; d++, i += this.capacity) out[d] = this.columns[i];
    return out;
  }

  // Writes and moves go a column at a time, so that a batch touches each column's memory once rather than
  // striding over every column (a page each, for large stores) once per vector.

  /** Writes `vectors[i]`, scaled to unit length, into slot `slots[i]` (a later write to a slot wins). */
  private writeVectors(slots: number[], vectors: number[][]): void {
    for (const slot of slots) this.savingVectors?.preserve(this.columns, slot);
    const scales = vectors.map(normalisingScale);
    for (let d = 0, base = 0; d < this.dimensions; d++, base += this.capacity) {
      for (let i = 0; i < slots.length; i++) this.columns[base + slots[i]] = vectors[i][d] * scales[i];
    }
  }

  /** Copies vectors between slots: `moves` holds (from, to) pairs, applied in order. */
  private moveVectors(moves: number[]): void {
    if (moves.length === 0) return;
    for (let m = 1; m < moves.length; m += 2) this.savingVectors?.preserve(this.columns, moves[m]);
    for (let d = 0, base = 0; d < this.dimensions; d++, base += this.capacity) {
      for (let m = 0; m < moves.length; m += 2)
        this.columns[base + moves[m + 1]] = this.columns[base + moves[m]];
    }
  }

  private matcher(filter?: LocalVectorStoreFilter): ((slot: number) => boolean) | undefined {
    if (!filter) return undefined;
    if (typeof filter === "function") return (slot) => filter(this.documentAt(slot));
    const entries = Object.entries(filter);
    if (entries.length === 0) return undefined;
    return (slot) => {
      const meta = this.metadata[slot];
      for (const [key, value] of entries) if (meta[key] !== value) return false;
      return true;
    };
  }

  private documentAt(slot: number): DocumentInterface {
    return new Document({
      pageContent: this.texts[slot],
      metadata: { ...this.metadata[slot] },
      id: this.ids[slot],
    });
  }

  private ensureCapacity(slots: number): void {
    if (slots <= this.capacity) return;
    // Doubling keeps appends amortised O(1): every column moves when the capacity grows.
    const capacity = Math.max(slots, this.capacity * 2, 64);
    const grown = new Float32Array(capacity * this.dimensions);
    const size = this.ids.length;
    for (let d = 0; d < this.dimensions; d++) {
      const from = d * this.capacity;
      grown.set(this.columns.subarray(from, from + size), d * capacity);
    }
    this.columns = grown;
    this.capacity = capacity;
  }

  private restore(file: PersistedHeader & { vectors: Float32Array; path: string }): void {
    const where = file.path;
    if (this.dimensions !== 0 && file.count > 0 && file.dimensions !== this.dimensions) {
      throw mismatch(
        where,
        `it holds ${file.dimensions}-dimensional vectors; the embedder makes ${this.dimensions}`,
      );
    }
    if (this.embeddingModelId && file.embeddingModelId && file.embeddingModelId !== this.embeddingModelId) {
      throw mismatch(
        where,
        `it was written by embedding model ${file.embeddingModelId}, not ${this.embeddingModelId}`,
      );
    }
    if (file.count === 0) return;
    this.dimensions = file.dimensions;
    this.capacity = file.count;
    this.columns = rowsToColumns(file.vectors, file.count, file.dimensions);
    this.ids = file.ids;
    this.texts = file.texts;
    this.metadata = file.metadata;
    for (let slot = 0; slot < file.count; slot++) {
      this.slotOf.set(file.ids[slot], slot);
      this.bm25.add(file.ids[slot], file.texts[slot]);
    }
    this.version = this.savedVersion = 0;
  }
}

/**
 * Adds `weights[t] * columns[offsets[t] + slot]` to `acc[slot]` for every slot, term after term in the order
 * given, in double precision: bit for bit the sums of a row-at-a-time loop over the same terms. Eight terms go
 * in each pass over the slots, so that `acc` is loaded and stored once per eight columns, not once per column.
 */
function addColumns(acc: Float64Array, columns: Float32Array, offsets: number[], weights: number[]): void {
  const size = acc.length;
  const terms = offsets.length;
  let t = 0;
  for (; t + 8 <= terms; t += 8) {
    const [o0, o1, o2, o3, o4, o5, o6, o7] = offsets.slice(t, t + 8);
    const [w0, w1, w2, w3, w4, w5, w6, w7] = weights.slice(t, t + 8);
    for (let s = 0; s < size; s++) {
      let sum = acc[s];
      sum += w0 * columns[o0 + s];
      sum += w1 * columns[o1 + s];
      sum += w2 * columns[o2 + s];
      sum += w3 * columns[o3 + s];
      sum += w4 * columns[o4 + s];
      sum += w5 * columns[o5 + s];
      sum += w6 * columns[o6 + s];
      sum += w7 * columns[o7 + s];
      acc[s] = sum;
    }
  }
  if (t === terms) return;
  // The last 1-7 terms, in one more pass.
  for (let s = 0; s < size; s++) {
    let sum = acc[s];
    for (let r = t; r < terms; r++) sum += weights[r] * columns[offsets[r] + s];
    acc[s] = sum;
  }
}

/** What scales `vector` to unit length (0 for a zero vector, which stays zero). */
function normalisingScale(vector: ArrayLike<number>): number {
  let norm = 0;
  for (let i = 0; i < vector.length; i++) norm += vector[i] * vector[i];
  return norm > 0 ? 1 / Math.sqrt(norm) : 0;
}

/** Where a block of vectors lives in a flat array: vector i, dimension d is at `start + i * slot + d * dim`. */
interface VectorLayout {
  start: number;
  slot: number;
  dim: number;
}

/**
 * Copies `count` vectors of `dims` floats from one layout to the other (rows to columns or back). Eight vectors
 * go in step, so that each pass over the dimensions reads and writes runs of eight adjacent floats on the
 * dimension-major side, several times faster than one vector at a time.
 */
function copyVectors(
  from: Float32Array,
  f: VectorLayout,
  to: Float32Array,
  t: VectorLayout,
  count: number,
  dims: number,
): void {
  let i = 0;
  for (; i + 8 <= count; i += 8) {
    for (
      let d = 0, a = f.start + i * f.slot, b = t.start + i * t.slot;
      d < dims;
      d++, a += f.dim, b += t.dim
    ) {
      to[b] = from[a];
      to[b + t.slot] = from[a + f.slot];
      to[b + 2 * t.slot] = from[a + 2 * f.slot];
      to[b + 3 * t.slot] = from[a + 3 * f.slot];
      to[b + 4 * t.slot] = from[a + 4 * f.slot];
      to[b + 5 * t.slot] = from[a + 5 * f.slot];
      to[b + 6 * t.slot] = from[a + 6 * f.slot];
      to[b + 7 * t.slot] = from[a + 7 * f.slot];
    }
  }
  for (; i < count; i++) {
    for (let d = 0, a = f.start + i * f.slot, b = t.start + i * t.slot; d < dims; d++, a += f.dim, b += t.dim)
      to[b] = from[a];
  }
}

/** Slots first..first+count-1 of dimension-major `columns` into `rows`, row-major (slot `first` at 0). */
function columnsToRows(
  columns: Float32Array,
  capacity: number,
  first: number,
  count: number,
  dims: number,
  rows: Float32Array,
): void {
  copyVectors(
    columns,
    { start: first, slot: 1, dim: capacity },
    rows,
    { start: 0, slot: dims, dim: 1 },
    count,
    dims,
  );
}

/** `count` x `dims` row-major vectors as dimension-major columns with room for exactly `count` slots. */
function rowsToColumns(rows: Float32Array, count: number, dims: number): Float32Array {
  const columns = new Float32Array(count * dims);
  copyVectors(
    rows,
    { start: 0, slot: dims, dim: 1 },
    columns,
    { start: 0, slot: 1, dim: count },
    count,
    dims,
  );
  return columns;
}

// Saving: hundreds of ms of work for tens of thousands of chunks, done in steps of a few ms with turns of the
// event loop between them, so that a save never stalls the requests the same process answers. The vectors'
// checksum comes first (the header holds it), then the header, then the file is written a piece at a time.

type HeaderWithoutCrc = Omit<PersistedHeader, "vectorsCrc32">;

/** Called between steps of a long computation: resolves at once, or after a turn of the event loop. */
type Pause = () => Promise<void>;

/** A pause that yields to the event loop once `stepMs` have passed since it last did. */
function pacer(stepMs: number): Pause {
  let since = performance.now();
  return async () => {
    if (performance.now() - since < stepMs) return;
    await nextTurn();
    since = performance.now();
  };
}

/**
 * The vectors of slots 0..count-1 as they were when a save began, readable while the store keeps changing:
 * the store calls `preserve` before it overwrites a slot in place, which keeps the slot's old vector aside.
 */
class VectorSnapshot {
  private readonly preserved = new Map<number, Float32Array>();

  constructor(
    private readonly columns: Float32Array,
    private readonly capacity: number,
    readonly count: number,
    readonly dims: number,
  ) {}

  /** Keeps `slot`'s vector before the store, whose columns are now `columns`, overwrites it. */
  preserve(columns: Float32Array, slot: number): void {
    // Once the store has grown it writes to new columns, and the snapshot's no longer change.
    if (columns !== this.columns || slot >= this.count || this.preserved.has(slot)) return;
    const row = new Float32Array(this.dims);
    columnsToRows(columns, this.capacity, slot, 1, this.dims, row);
    this.preserved.set(slot, row);
  }

  /** Slots first..first+count-1, row-major, into `rows`. */
  readRows(first: number, count: number, rows: Float32Array): void {
    columnsToRows(this.columns, this.capacity, first, count, this.dims, rows);
    if (this.preserved.size === 0) return;
    for (let i = 0; i < count; i++) {
      const kept = this.preserved.get(first + i);
      if (kept) rows.set(kept, i * this.dims);
    }
  }
}

/** The file up to the vectors, in pieces: MAGIC, the header's length, the header JSON and its padding. */
async function encodeHead(header: HeaderWithoutCrc, crc: number, pause: Pause): Promise<Buffer[]> {
  const json = await headerJsonHead(header, pause);
  json.push(Buffer.from(`${crc}}`, "latin1"));
  const length = json.reduce((sum, piece) => sum + piece.length, 0);
  const prefix = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(prefix);
  prefix.writeUInt32LE(length, MAGIC.length);
  const padding = Buffer.alloc(paddedToFour(prefix.length + length) - prefix.length - length);
  return [prefix, ...json, padding];
}

/** About 256 KB of rows: a step of a few tenths of a ms, a multiple of the transpose's eight slots. */
function slotsPerStep(dims: number): number {
  return Math.max(8, Math.floor(65536 / Math.max(dims, 1) / 8) * 8);
}

/** The CRC-32 of the vectors as the file holds them (row-major float32 LE). */
async function vectorsCrc32(vectors: VectorSnapshot, pause: Pause): Promise<number> {
  let crc = 0;
  for (const rows of vectorRows(vectors)) {
    crc = crc32(rows, crc);
    await pause();
  }
  return crc;
}

/**
 * The file, a piece at a time, for writeFile to write as it goes, so that no buffer of the whole file is
 * made: one would double the memory a save takes, and an allocation that size forces a full garbage collection.
 * Between pieces, writeFile waits for the disk, so the event loop runs.
 */
async function* fileChunks(head: Buffer[], vectors: VectorSnapshot): AsyncGenerator<Buffer> {
  yield* head;
  yield* vectorRows(vectors);
}

/** The vectors row-major float32 LE, a few slots at a time, in one buffer reused: take each before the next. */
function* vectorRows(vectors: VectorSnapshot): Generator<Buffer> {
  const { count, dims } = vectors;
  const step = slotsPerStep(dims);
  const rows = new Float32Array(step * dims);
  for (let first = 0; first < count; first += step) {
    const n = Math.min(step, count - first);
    vectors.readRows(first, n, rows);
    yield floatBytes(rows.subarray(0, n * dims));
  }
}

/**
 * The UTF-8 pieces of JSON.stringify(header) up to the checksum's value, which is not known yet: that is
 * `{"format":…,"metadata":[…],"vectorsCrc32":`. Its arrays go a slice of `itemsPerStep` items at a time,
 * with a pause between slices. Exported for tests.
 */
export async function headerJsonHead(
  header: HeaderWithoutCrc,
  pause: Pause,
  itemsPerStep = 256,
): Promise<Buffer[]> {
  const pieces: Buffer[] = [];
  let separator = "{";
  // In the header's key order, as JSON.stringify goes (no value is undefined, so no key is skipped).
  for (const [key, value] of Object.entries(header)) {
    pieces.push(Buffer.from(`${separator}${JSON.stringify(key)}:`));
    separator = ",";
    if (Array.isArray(value)) await pushArrayJson(value, pieces, pause, itemsPerStep);
    else pieces.push(Buffer.from(JSON.stringify(value)));
  }
  pieces.push(Buffer.from(`${separator}"vectorsCrc32":`));
  return pieces;
}

/** Pushes JSON.stringify(items) in pieces of `itemsPerStep` items, pausing after each. */
async function pushArrayJson(items: unknown[], pieces: Buffer[], pause: Pause, itemsPerStep: number) {
  if (items.length === 0) pieces.push(Buffer.from("[]"));
  for (let from = 0; from < items.length; from += itemsPerStep) {
    // Each slice stringifies as "[a,b]": later slices open with "," instead, and all but the last drop "]".
    const json = Buffer.from(JSON.stringify(items.slice(from, from + itemsPerStep)));
    if (from > 0) json[0] = COMMA;
    pieces.push(from + itemsPerStep < items.length ? json.subarray(0, -1) : json);
    await pause();
  }
}

const COMMA = 0x2c;

function paddedToFour(length: number): number {
  return length + ((4 - (length % 4)) % 4);
}

function floatBytes(values: Float32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const out = Buffer.alloc(values.byteLength);
  for (let i = 0; i < values.length; i++) out.writeFloatLE(values[i], i * 4);
  return out;
}

function corrupt(file: string, reason: string): VectorStoreFileError {
  return new VectorStoreFileError(
    "store_corrupt",
    `The vector store file ${file} is damaged (${reason}). Delete the data folder ${path.dirname(file)} and ` +
      "ingest the documents again to rebuild it.",
  );
}

function mismatch(file: string, reason: string): VectorStoreFileError {
  return new VectorStoreFileError(
    "store_mismatch",
    `The vector store file ${file} does not fit the configured embeddings: ${reason}. Delete the data folder ` +
      `${path.dirname(file)} and re-index (ingest again), or configure the embedding model it was built with.`,
  );
}

function decode(data: Buffer, file: string): PersistedHeader & { vectors: Float32Array; path: string } {
  const prefix = MAGIC.length + 4;
  if (data.length < prefix) throw corrupt(file, `only ${data.length} bytes, truncated`);
  if (!data.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt(file, "not a Counsel vector store file");
  const headerLength = data.readUInt32LE(MAGIC.length);
  if (prefix + headerLength > data.length) throw corrupt(file, "truncated inside its header");
  let header: PersistedHeader;
  try {
    header = JSON.parse(data.toString("utf8", prefix, prefix + headerLength));
  } catch {
    throw corrupt(file, "its header is not valid JSON");
  }
  const { dimensions, count, ids, texts, metadata } = header ?? {};
  if (
    header?.format !== FORMAT ||
    header.version !== 1 ||
    !Number.isInteger(dimensions) ||
    dimensions < 0 ||
    !Number.isInteger(count) ||
    !Array.isArray(ids) ||
    !Array.isArray(texts) ||
    !Array.isArray(metadata) ||
    ids.length !== count ||
    texts.length !== count ||
    metadata.length !== count ||
    new Set(ids).size !== count
  ) {
    throw corrupt(file, "its header is not a valid index description");
  }
  const start = prefix + headerLength + ((4 - ((prefix + headerLength) % 4)) % 4);
  const expected = count * dimensions * 4;
  if (data.length !== start + expected) {
    throw corrupt(file, `expected ${start + expected} bytes for ${count} vectors, found ${data.length}`);
  }
  const bytes = data.subarray(start);
  if (crc32(bytes) !== header.vectorsCrc32) throw corrupt(file, "its vectors fail the checksum");
  const vectors = new Float32Array(count * dimensions);
  if (LITTLE_ENDIAN) new Uint8Array(vectors.buffer).set(bytes);
  else for (let i = 0; i < vectors.length; i++) vectors[i] = bytes.readFloatLE(i * 4);
  return { ...header, vectors, path: file };
}

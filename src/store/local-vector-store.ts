// The embedded vector store: chunks, their normalised vectors in one contiguous Float32Array and a BM25 index
// over the same chunks, all in process, persisted to a single file with an atomic replace. Exact search (a
// scan with a top-k heap) is fast enough for the tens of thousands of chunks one folder of documents yields.
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { endianness } from "node:os";
import path from "node:path";
import { crc32 } from "node:zlib";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import type { EmbeddingsInterface } from "@langchain/core/embeddings";
import { maximalMarginalRelevance } from "@langchain/core/utils/math";
import { type MaxMarginalRelevanceSearchOptions, VectorStore } from "@langchain/core/vectorstores";
import { BadRequestError, CounselError } from "../errors.ts";
import type { LexicalSearch, MetadataFilter, ScoredDocument, SearchOptions } from "../retrieval/types.ts";
import { writeFileAtomic } from "./atomic-file.ts";
import { Bm25Index, type Bm25Options } from "./bm25-index.ts";
import { TopK } from "./top-k.ts";

/** An equality filter on metadata, or any predicate over the stored chunk. */
export type LocalVectorStoreFilter = MetadataFilter | ((doc: DocumentInterface) => boolean);

export interface LocalVectorStoreOptions {
  /** File to persist to; in-memory only when absent. */
  path?: string;
  /** How long after a change the store saves itself, in ms; `flush()` saves at once. Default 1000. */
  saveDelayMs?: number;
  /** BM25 parameters of the lexical index. */
  bm25?: Bm25Options;
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

  // Slot i holds ids[i], texts[i], metadata[i] and vectors[i*dims .. (i+1)*dims); slots 0..size-1 are all live
  // (a delete moves the last slot into the hole), so a search scans one dense range.
  private vectors: Float32Array = new Float32Array(0);
  private ids: string[] = [];
  private texts: string[] = [];
  private metadata: Record<string, unknown>[] = [];
  private readonly slotOf = new Map<string, number>();
  private readonly bm25: Bm25Index;

  private version = 0;
  private savedVersion = 0;
  private saveTimer?: NodeJS.Timeout;
  private saving: Promise<void> = Promise.resolve();

  _vectorstoreType(): string {
    return "local";
  }

  constructor(embeddings: EmbeddingsInterface, options: LocalVectorStoreOptions = {}) {
    super(embeddings, options);
    this.path = options.path;
    this.saveDelayMs = options.saveDelayMs ?? 1000;
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
      writeNormalised(this.vectors, slot * this.dimensions, vectors[i]);
      this.bm25.add(id, documents[i].pageContent);
    }
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
    for (const id of params.ids) {
      const slot = this.slotOf.get(id);
      if (slot === undefined) continue;
      const last = this.ids.length - 1;
      if (slot !== last) {
        // Fill the hole with the last chunk, so that live slots stay dense.
        const dims = this.dimensions;
        this.vectors.copyWithin(slot * dims, last * dims, (last + 1) * dims);
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
    const dims = this.dimensions;
    const embeddingList = candidates.map(({ item }) =>
      Array.from(this.vectors.subarray(item * dims, (item + 1) * dims)),
    );
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
    const version = this.version;
    // Encoded synchronously, so the snapshot is consistent even while other calls mutate the store.
    const data = this.encode();
    await writeFileAtomic(this.path, data);
    this.savedVersion = version;
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

  private nearest(query: number[], k: number, filter?: LocalVectorStoreFilter) {
    const dims = this.dimensions;
    if (this.ids.length === 0 || k <= 0) return [];
    if (query.length !== dims) {
      throw new BadRequestError(`The query vector has ${query.length} dimensions; this store holds ${dims}.`);
    }
    const q = new Float32Array(dims);
    writeNormalised(q, 0, query);
    const matches = this.matcher(filter);
    const heap = new TopK<number>(k);
    const vectors = this.vectors;
    // Hashed query vectors are sparse (a question touches a few hundred of 1,024 dimensions): a dot product over
    // the query's non-zero entries only is several times faster than the dense one, with the same result.
    const nonZero: number[] = [];
    for (let i = 0; i < dims; i++) if (q[i] !== 0) nonZero.push(i);
    if (nonZero.length < dims / 3) {
      const index = Int32Array.from(nonZero);
      const weight = Float32Array.from(nonZero, (i) => q[i]);
      for (let slot = 0, offset = 0; slot < this.ids.length; slot++, offset += dims) {
        if (matches && !matches(slot)) continue;
        let sum = 0;
        for (let j = 0; j < index.length; j++) sum += weight[j] * vectors[offset + index[j]];
        heap.push(slot, sum);
      }
      return heap.take();
    }
    for (let slot = 0, offset = 0; slot < this.ids.length; slot++, offset += dims) {
      if (matches && !matches(slot)) continue;
      heap.push(slot, dot(q, vectors, offset, dims));
    }
    return heap.take();
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
    const needed = slots * this.dimensions;
    if (needed <= this.vectors.length) return;
    // Doubling keeps appends amortised O(1).
    const grown = new Float32Array(Math.max(needed, this.vectors.length * 2, 64 * this.dimensions));
    grown.set(this.vectors);
    this.vectors = grown;
  }

  private encode(): Buffer {
    const dims = this.dimensions;
    const vectorBytes = floatBytes(this.vectors.subarray(0, this.ids.length * dims));
    const header: PersistedHeader = {
      format: FORMAT,
      version: 1,
      embeddingModelId: this.embeddingModelId,
      dimensions: dims,
      count: this.ids.length,
      ids: this.ids,
      texts: this.texts,
      metadata: this.metadata,
      vectorsCrc32: crc32(vectorBytes),
    };
    const json = Buffer.from(JSON.stringify(header), "utf8");
    const prefix = MAGIC.length + 4;
    const padding = (4 - ((prefix + json.length) % 4)) % 4;
    const lengthField = Buffer.alloc(4);
    lengthField.writeUInt32LE(json.length);
    return Buffer.concat([MAGIC, lengthField, json, Buffer.alloc(padding), vectorBytes]);
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
    this.vectors = file.vectors;
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

/** Dot product of `q` with the vector at `offset`; four accumulators let the CPU overlap the multiply-adds. */
function dot(q: Float32Array, vectors: Float32Array, offset: number, dims: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < dims; j += 4) {
    s0 += q[j] * vectors[offset + j];
    s1 += q[j + 1] * vectors[offset + j + 1];
    s2 += q[j + 2] * vectors[offset + j + 2];
    s3 += q[j + 3] * vectors[offset + j + 3];
  }
  for (; j < dims; j++) s0 += q[j] * vectors[offset + j];
  return s0 + s1 + s2 + s3;
}

/** Copies `source` into `target` at `offset`, scaled to unit length (zero vectors stay zero). */
function writeNormalised(target: Float32Array, offset: number, source: ArrayLike<number>): void {
  let norm = 0;
  for (let i = 0; i < source.length; i++) norm += source[i] * source[i];
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  for (let i = 0; i < source.length; i++) target[offset + i] = source[i] * scale;
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

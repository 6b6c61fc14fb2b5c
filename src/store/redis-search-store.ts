// A LangChain VectorStore on the Redis Query Engine (FT.* with a vector field): Redis 8 with its search module
// (the redis:8 image, Redis Stack), Amazon MemoryDB, ElastiCache for Valkey with valkey-search. Only what all of
// them support: a HASH index with one VECTOR field (HNSW, FLOAT32, COSINE) and one TAG field, KNN with a TAG
// pre-filter, DIALECT 2, FT.INFO, FT.DROPINDEX.
//
// Written by hand rather than on @langchain/redis's FluentRedisVectorStore, which returns neither ids nor the
// metadata outside a fixed schema, reports a distance where the retrievers expect a similarity, and indexes the
// text as a TEXT field (valkey-search has none).
//
// Layout under `prefix` (the tenant's hash tag in it, so that on a cluster the index and its keys share a slot):
// `:chunk:<id>` a hash {text, metadata (JSON), vector (FLOAT32 bytes), tags}; `:idx` the index over
// `:chunk:`; `:dim` the index's dimension. `tags` holds one token per scalar metadata field, a hash of its name
// and value: every field can be filtered on without a schema change, and a token needs no escaping.
import { createHash } from "node:crypto";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import type { EmbeddingsInterface } from "@langchain/core/embeddings";
import { maximalMarginalRelevance } from "@langchain/core/utils/math";
import { type MaxMarginalRelevanceSearchOptions, VectorStore } from "@langchain/core/vectorstores";
import { commandOptions } from "redis";
import type { LexicalSearch, MetadataFilter, ScoredDocument, SearchOptions } from "../contracts/search.ts";
import { BadRequestError } from "../errors.ts";
import { VectorStoreFileError } from "./local/vector-file.ts";
import { type RedisClient, sendRaw } from "./redis-client.ts";
import { type RedisLexicalIndex, searchDocuments } from "./redis-lexical-index.ts";

export interface RedisSearchStoreOptions {
  client: RedisClient;
  /** Every key of the store starts `<prefix>:`. */
  prefix: string;
  /** The lexical (BM25) side; lexicalSearch returns nothing without it. */
  lexical?: RedisLexicalIndex | false;
  /**
   * HNSW build and search parameters: the Query Engine's defaults (M 16, EF_CONSTRUCTION 200), and EF_RUNTIME
   * 100 where its default is 10, which lost 0.025 nDCG@10 on SciFact's vector-only search (bench/README.md).
   */
  hnsw?: { m?: number; efConstruction?: number; efRuntime?: number };
  /** Told how a re-index started by FT.CREATE over existing keys is going. */
  onProgress?: (message: string) => void;
}

/** Chunks per MULTI when adding: bounds a transaction's size on a large ingestion. */
const WRITE_BATCH = 500;

export class RedisSearchStore extends VectorStore implements LexicalSearch {
  declare FilterType: MetadataFilter;

  readonly prefix: string;
  readonly indexName: string;
  private readonly client: RedisClient;
  private readonly lexical?: RedisLexicalIndex;
  private readonly options: RedisSearchStoreOptions;
  private dimensions?: number;

  constructor(embeddings: EmbeddingsInterface, options: RedisSearchStoreOptions) {
    super(embeddings, options);
    this.client = options.client;
    this.prefix = options.prefix;
    this.indexName = `${options.prefix}:idx`;
    this.lexical = options.lexical || undefined;
    this.options = options;
  }

  _vectorstoreType(): string {
    return "redis-search";
  }

  private chunkKey(id: string): string {
    return `${this.prefix}:chunk:${id}`;
  }

  async addDocuments(documents: DocumentInterface[], options?: { ids?: string[] }): Promise<string[]> {
    const vectors = await this.embeddings.embedDocuments(documents.map((d) => d.pageContent));
    return this.addVectors(vectors, documents, options);
  }

  /** Adds or replaces chunks by id; then their lexical postings. */
  async addVectors(vectors: number[][], documents: DocumentInterface[], options?: { ids?: string[] }) {
    if (vectors.length !== documents.length)
      throw new Error("addVectors: vectors and documents differ in length");
    if (vectors.length === 0) return [];
    const dimensions = vectors[0].length;
    // The Query Engine leaves a hash whose vector has the wrong length out of the index without an error: check.
    if (vectors.some((v) => v.length !== dimensions)) throw new Error("addVectors: vectors differ in length");
    await this.ensureIndex(dimensions);
    const ids = documents.map((doc, i) => options?.ids?.[i] ?? doc.id ?? crypto.randomUUID());
    for (let start = 0; start < documents.length; start += WRITE_BATCH) {
      const tx = this.client.multi();
      for (let i = start; i < Math.min(start + WRITE_BATCH, documents.length); i++) {
        const key = this.chunkKey(ids[i]);
        // Replaced whole: a field left from an earlier version of the chunk would otherwise survive.
        tx.del(key);
        tx.hSet(key, {
          text: documents[i].pageContent,
          metadata: JSON.stringify(documents[i].metadata ?? {}),
          tags: metadataTags(documents[i].metadata).join(","),
          // A vector without a direction (all zeros: a chunk of stop words) has no cosine distance: the Query
          // Engine would store NaN, which answers every query as a NaN and misleads the HNSW graph's search.
          // The chunk is kept, found by id and by words, not by vector.
          ...(hasDirection(vectors[i]) ? { vector: Buffer.from(new Float32Array(vectors[i]).buffer) } : {}),
        });
      }
      await tx.exec();
    }
    await this.lexical?.add(documents.map((doc, i) => ({ id: ids[i], text: doc.pageContent })));
    return ids;
  }

  override async delete(params: { ids: string[] }): Promise<void> {
    const ids = params?.ids ?? [];
    if (ids.length === 0) return;
    // A deleted hash leaves the index with it. One DEL per key, in one transaction (the keys share a slot).
    const tx = this.client.multi();
    for (const id of ids) tx.del(this.chunkKey(id));
    await tx.exec();
    await this.lexical?.remove(ids);
  }

  async similaritySearchVectorWithScore(
    query: number[],
    k: number,
    filter?: MetadataFilter,
  ): Promise<[DocumentInterface, number][]> {
    const hits = await this.knn(query, k, filter, ["text", "metadata"]);
    return hits.map(({ id, score, fields }) => [
      new Document({ id, pageContent: fields.text ?? "", metadata: JSON.parse(fields.metadata ?? "{}") }),
      score,
    ]);
  }

  override async maxMarginalRelevanceSearch(
    query: string,
    options: MaxMarginalRelevanceSearchOptions<this["FilterType"]>,
  ): Promise<DocumentInterface[]> {
    const { k, fetchK = 20, lambda = 0.5, filter } = options;
    const queryVector = await this.embeddings.embedQuery(query);
    const hits = await this.knn(queryVector, Math.max(fetchK, k), filter, []);
    if (hits.length === 0) return [];
    // The vectors as bytes (FT.SEARCH would return them decoded as text, mangled), sent in one round trip.
    const raw = await Promise.all(
      hits.map((hit) =>
        this.client.hGet(commandOptions({ returnBuffers: true }), this.chunkKey(hit.id), "vector"),
      ),
    );
    const embeddings = raw.map((buffer) =>
      buffer ? Array.from(new Float32Array(buffer.buffer, buffer.byteOffset, buffer.byteLength / 4)) : [],
    );
    const picked = maximalMarginalRelevance(queryVector, embeddings, lambda, k);
    return this.getByIds(picked.map((i) => hits[i].id));
  }

  async lexicalSearch(query: string, options: SearchOptions): Promise<ScoredDocument[]> {
    if (!this.lexical) return [];
    return searchDocuments(this.lexical, query, options, (ids) => this.getByIds(ids));
  }

  /** Chunks by id, in the order given; ids that no longer exist are left out. */
  async getByIds(ids: string[]): Promise<DocumentInterface[]> {
    if (ids.length === 0) return [];
    const pipeline = this.client.multi();
    for (const id of ids) pipeline.hmGet(this.chunkKey(id), ["text", "metadata"]);
    const rows = (await pipeline.execAsPipeline()) as unknown as (string | null)[][];
    const out: DocumentInterface[] = [];
    rows.forEach(([text, metadata], i) => {
      if (text === null || text === undefined) return;
      out.push(new Document({ id: ids[i], pageContent: text, metadata: JSON.parse(metadata ?? "{}") }));
    });
    return out;
  }

  async countChunks(): Promise<number> {
    const info = await this.info();
    return info ? Number(info.num_docs ?? 0) : 0;
  }

  /** Writes go straight to Redis: nothing to flush. */
  async flush(): Promise<void> {}

  /**
   * Checks an index already there (its dimension, a re-index still running) before the store serves: an index
   * of another dimension stops with what to do, and a background re-index is waited for, so that a search never
   * answers from a half-built index.
   */
  async open(expectedDimensions?: number): Promise<void> {
    const stored = await this.client.get(`${this.prefix}:dim`);
    if (stored !== null && expectedDimensions !== undefined && Number(stored) !== expectedDimensions) {
      throw this.dimensionError(Number(stored), expectedDimensions);
    }
    if (stored !== null) this.dimensions = Number(stored);
    await this.waitForIndexing();
  }

  private dimensionError(current: number, wanted: number): VectorStoreFileError {
    return new VectorStoreFileError(
      "store_mismatch",
      `Redis index ${this.indexName} holds ${current}-dimensional vectors, but the embedder makes ${wanted}: ` +
        "re-index into a new index (change the model or REDIS_PREFIX), or drop the old one " +
        `(FT.DROPINDEX ${this.indexName} DD) to start again.`,
    );
  }

  private async ensureIndex(dimensions: number): Promise<void> {
    if (this.dimensions === dimensions) return;
    if (this.dimensions !== undefined) throw this.dimensionError(this.dimensions, dimensions);
    const stored = await this.client.get(`${this.prefix}:dim`);
    if (stored !== null && Number(stored) !== dimensions)
      throw this.dimensionError(Number(stored), dimensions);
    if (stored === null) {
      const { m, efConstruction, efRuntime = 100 } = this.options.hnsw ?? {};
      const hnsw = ["TYPE", "FLOAT32", "DIM", String(dimensions), "DISTANCE_METRIC", "COSINE"];
      if (m) hnsw.push("M", String(m));
      if (efConstruction) hnsw.push("EF_CONSTRUCTION", String(efConstruction));
      if (efRuntime) hnsw.push("EF_RUNTIME", String(efRuntime));
      // Index name first: a cluster sends FT.CREATE to the master of its slot, the one holding the chunks.
      await sendRaw(this.client, this.indexName, [
        "FT.CREATE",
        this.indexName,
        "ON",
        "HASH",
        "PREFIX",
        "1",
        `${this.prefix}:chunk:`,
        "SCHEMA",
        "vector",
        "VECTOR",
        "HNSW",
        String(hnsw.length),
        ...hnsw,
        "tags",
        "TAG",
      ]).catch((error: Error) => {
        // Another process created it first: fine, if of this dimension (checked through the key below).
        if (!/already exists/i.test(error.message)) throw error;
      });
      // SET NX: the first writer's dimension wins, and a second one learns it.
      const set = await this.client.set(`${this.prefix}:dim`, String(dimensions), { NX: true });
      if (set === null) {
        const winner = Number(await this.client.get(`${this.prefix}:dim`));
        if (winner !== dimensions) throw this.dimensionError(winner, dimensions);
      }
    }
    this.dimensions = dimensions;
  }

  private async knn(
    query: number[],
    k: number,
    filter: MetadataFilter | undefined,
    fields: string[],
  ): Promise<{ id: string; score: number; fields: Record<string, string> }[]> {
    if (k <= 0) return [];
    if (this.dimensions !== undefined && query.length !== this.dimensions) {
      throw this.dimensionError(this.dimensions, query.length);
    }
    const where = filterQuery(filter);
    const args = [
      "FT.SEARCH",
      this.indexName,
      `${where}=>[KNN $K @vector $B AS distance]`,
      "PARAMS",
      "4",
      "K",
      String(k),
      "B",
      Buffer.from(new Float32Array(query).buffer),
      "RETURN",
      String(fields.length + 1),
      "distance",
      ...fields,
      "LIMIT",
      "0",
      String(k),
      "DIALECT",
      "2",
    ];
    let reply: unknown[];
    try {
      reply = await sendRaw<unknown[]>(this.client, this.indexName, args);
    } catch (error) {
      // Nothing was ever added: no index yet, and nothing to find.
      if (error instanceof Error && /no such index|not found|unknown index/i.test(error.message)) return [];
      throw error;
    }
    const hits: { id: string; score: number; fields: Record<string, string> }[] = [];
    const strip = `${this.prefix}:chunk:`.length;
    for (let i = 1; i + 1 < reply.length; i += 2) {
      const values = reply[i + 1] as string[];
      const row: Record<string, string> = {};
      for (let j = 0; j + 1 < values.length; j += 2) row[String(values[j])] = String(values[j + 1]);
      // Cosine distance is 1 - cosine similarity: report the similarity, as the other stores do.
      const score = 1 - Number(row.distance);
      hits.push({
        id: String(reply[i]).slice(strip),
        score: Number.isFinite(score) ? score : 0,
        fields: row,
      });
    }
    // Equal distances come back in no fixed order: ties go by id, so that a search repeats itself.
    return hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** FT.INFO as a flat record of its scalar fields; undefined when the index does not exist yet. */
  private async info(): Promise<Record<string, string> | undefined> {
    try {
      const reply = await sendRaw<unknown[]>(this.client, this.indexName, ["FT.INFO", this.indexName]);
      const out: Record<string, string> = {};
      for (let i = 0; i + 1 < reply.length; i += 2) {
        const value = reply[i + 1];
        if (typeof value === "string" || typeof value === "number") out[String(reply[i])] = String(value);
      }
      return out;
    } catch (error) {
      if (error instanceof Error && /no such index|not found|unknown index/i.test(error.message))
        return undefined;
      throw error;
    }
  }

  /** Waits while the Query Engine indexes existing keys in the background (after FT.CREATE over them). */
  private async waitForIndexing(): Promise<void> {
    for (let waited = 0; ; waited += 500) {
      const info = await this.info();
      const busy = info && (info.indexing === "1" || info.backfill_in_progress === "1");
      if (!busy) return;
      if (waited % 5_000 === 0) {
        const done = info.percent_indexed ?? info.backfill_complete_percent;
        this.options.onProgress?.(
          `Redis index ${this.indexName} is indexing existing chunks${done ? ` (${Math.round(Number(done) * 100)}%)` : ""}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

function hasDirection(vector: number[]): boolean {
  return vector.some((x) => x !== 0) && vector.every(Number.isFinite);
}

/**
 * The tag token of a metadata field's value: its name and value hashed, so that any value (punctuation, commas,
 * case) filters exactly. Booleans count as 1 and 0, as in the vector-set store's filters.
 */
function tag(name: string, value: string | number | boolean): string {
  const canonical = typeof value === "string" ? `s:${value}` : `n:${Number(value)}`;
  return createHash("sha256").update(`${name}\0${canonical}`).digest("hex").slice(0, 24);
}

/** One token per scalar top-level metadata field with a plain name. */
export function metadataTags(metadata: Record<string, unknown> = {}): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(metadata)) {
    if (!FIELD.test(name)) continue;
    if (typeof value === "string" || typeof value === "boolean") out.push(tag(name, value));
    else if (typeof value === "number" && Number.isFinite(value)) out.push(tag(name, value));
  }
  return out;
}

/** The KNN pre-filter of an equality filter: every field's token must be among the chunk's tags. */
export function filterQuery(filter: MetadataFilter | undefined): string {
  const entries = Object.entries(filter ?? {});
  if (entries.length === 0) return "*";
  return `(${entries
    .map(([name, value]) => {
      if (!FIELD.test(name)) throw new BadRequestError(`filter: "${name}" is not a metadata field name`);
      if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean")
        throw new BadRequestError(`filter: ${name} must be a string, number or boolean`);
      if (typeof value === "number" && !Number.isFinite(value))
        throw new BadRequestError(`filter: ${name} must be a finite number`);
      return `@tags:{${tag(name, value)}}`;
    })
    .join(" ")})`;
}

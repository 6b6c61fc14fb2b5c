// A LangChain VectorStore over Redis 8 vector sets, for servers without the Query Engine: VADD with the chunk's
// scalar metadata as JSON attributes (so VSIM FILTER expressions filter inside the index), the chunk text in
// a hash beside it, VREM to delete, and a Redis BM25 index for the lexical side of hybrid retrieval.
// Written by hand because LangChain has no vector-set store yet.
import { Document, type DocumentInterface } from "@langchain/core/documents";
import type { EmbeddingsInterface } from "@langchain/core/embeddings";
import { maximalMarginalRelevance } from "@langchain/core/utils/math";
import { type MaxMarginalRelevanceSearchOptions, VectorStore } from "@langchain/core/vectorstores";
import type { LexicalSearch, MetadataFilter, ScoredDocument, SearchOptions } from "../contracts/search.ts";
import { BadRequestError } from "../errors.ts";
import { VectorStoreFileError } from "./local/vector-file.ts";
import { queueRaw, type RedisClient, sendRaw } from "./redis-client.ts";
import { type RedisLexicalIndex, searchDocuments } from "./redis-lexical-index.ts";

export interface RedisVectorSetStoreOptions {
  client: RedisClient;
  /** The vector set's key; each chunk's text and metadata live in the hash `${key}:chunk:<id>`. */
  key: string;
  /** Q8 (default) keeps 1 byte a dimension with little loss; BIN 1 bit; NOQUANT full floats. */
  quantization?: "q8" | "bin" | "noquant";
  /** The lexical (BM25) side; lexicalSearch returns nothing without it. */
  lexical?: RedisLexicalIndex | false;
}

export class RedisVectorSetStore extends VectorStore implements LexicalSearch {
  declare FilterType: MetadataFilter;

  private readonly client: RedisClient;
  private readonly key: string;
  private readonly quantization: string;
  private readonly lexical?: RedisLexicalIndex;
  private checkedDimensions?: number;

  constructor(embeddings: EmbeddingsInterface, options: RedisVectorSetStoreOptions) {
    super(embeddings, options);
    this.client = options.client;
    this.key = options.key;
    this.quantization = (options.quantization ?? "q8").toUpperCase();
    this.lexical = options.lexical || undefined;
  }

  _vectorstoreType(): string {
    return "redis-vectorset";
  }

  private chunkKey(id: string): string {
    return `${this.key}:chunk:${id}`;
  }

  async addDocuments(documents: DocumentInterface[], options?: { ids?: string[] }): Promise<string[]> {
    const vectors = await this.embeddings.embedDocuments(documents.map((d) => d.pageContent));
    return this.addVectors(vectors, documents, options);
  }

  /** Adds or replaces chunks by id, in one transaction; then their lexical postings. */
  async addVectors(vectors: number[][], documents: DocumentInterface[], options?: { ids?: string[] }) {
    if (vectors.length !== documents.length)
      throw new Error("addVectors: vectors and documents differ in length");
    if (vectors.length === 0) return [];
    await this.checkDimensions(vectors[0].length);
    const ids = documents.map((doc, i) => options?.ids?.[i] ?? doc.id ?? crypto.randomUUID());
    const tx = this.client.multi();
    documents.forEach((doc, i) => {
      const blob = Buffer.from(new Float32Array(vectors[i]).buffer);
      queueRaw(this.client, tx, this.key, [
        "VADD",
        this.key,
        "FP32",
        blob,
        ids[i],
        this.quantization,
        // CAS: Redis searches the new element's neighbours in a background thread, so inserts overlap.
        "CAS",
        "SETATTR",
        JSON.stringify(filterAttributes(doc.metadata)),
      ]);
      tx.hSet(this.chunkKey(ids[i]), { text: doc.pageContent, metadata: JSON.stringify(doc.metadata ?? {}) });
    });
    // The vectors and the BM25 postings go out together: one connection pipelines both transactions.
    await Promise.all([
      tx.exec(),
      this.lexical?.add(documents.map((doc, i) => ({ id: ids[i], text: doc.pageContent }))),
    ]);
    return ids;
  }

  override async delete(params: { ids: string[] }): Promise<void> {
    const ids = params?.ids ?? [];
    if (ids.length === 0) return;
    const tx = this.client.multi();
    for (const id of ids) {
      queueRaw(this.client, tx, this.key, ["VREM", this.key, id]);
      tx.del(this.chunkKey(id));
    }
    await tx.exec();
    await this.lexical?.remove(ids);
  }

  async similaritySearchVectorWithScore(
    query: number[],
    k: number,
    filter?: MetadataFilter,
  ): Promise<[DocumentInterface, number][]> {
    const hits = await this.vsim(query, k, filter);
    const scores = new Map(hits.map((h) => [h.id, h.score]));
    // A chunk deleted between VSIM and the read is left out, so scores go by id, not by position.
    const docs = await this.getByIds(hits.map((h) => h.id));
    return docs.map((doc) => [doc, scores.get(doc.id as string) ?? 0] as [DocumentInterface, number]);
  }

  override async maxMarginalRelevanceSearch(
    query: string,
    options: MaxMarginalRelevanceSearchOptions<this["FilterType"]>,
  ): Promise<DocumentInterface[]> {
    const { k, fetchK = 20, lambda = 0.5, filter } = options;
    const queryVector = await this.embeddings.embedQuery(query);
    const hits = await this.vsim(queryVector, Math.max(fetchK, k), filter);
    if (hits.length === 0) return [];
    // VSIM returns no vectors; VEMB reads them back (dequantised), all in one round trip.
    const pipeline = this.client.multi();
    for (const hit of hits) queueRaw(this.client, pipeline, this.key, ["VEMB", this.key, hit.id]);
    const embeddings = ((await pipeline.execAsPipeline()) as unknown as string[][]).map((v) => v.map(Number));
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
    for (const id of ids) pipeline.hGetAll(this.chunkKey(id));
    const rows = (await pipeline.execAsPipeline()) as unknown as Record<string, string>[];
    const out: DocumentInterface[] = [];
    rows.forEach((row, i) => {
      if (row?.text === undefined) return;
      out.push(
        new Document({ id: ids[i], pageContent: row.text, metadata: JSON.parse(row.metadata ?? "{}") }),
      );
    });
    return out;
  }

  async countChunks(): Promise<number> {
    return Number(await sendRaw(this.client, this.key, ["VCARD", this.key]));
  }

  /** Writes go straight to Redis: nothing to flush. */
  async flush(): Promise<void> {}

  private async vsim(query: number[], k: number, filter?: MetadataFilter) {
    if (k <= 0) return [];
    const args = ["VSIM", this.key, "FP32", Buffer.from(new Float32Array(query).buffer), "WITHSCORES"];
    args.push("COUNT", String(k));
    if (filter && Object.keys(filter).length > 0) args.push("FILTER", filterExpression(filter));
    const reply = await sendRaw<string[] | null>(this.client, this.key, args);
    const hits: { id: string; score: number }[] = [];
    for (let i = 0; reply && i + 1 < reply.length; i += 2) {
      // VSIM scores are (1 + cosine) / 2; report cosine, as the local store does.
      hits.push({ id: String(reply[i]), score: 2 * Number(reply[i + 1]) - 1 });
    }
    return hits;
  }

  /** A set written with another dimension means another embedding model: refuse rather than mix. */
  private async checkDimensions(dimensions: number): Promise<void> {
    if (this.checkedDimensions === dimensions) return;
    const exists = await this.client.exists(this.key);
    if (exists) {
      const current = Number(await sendRaw(this.client, this.key, ["VDIM", this.key]));
      if (current !== dimensions) {
        throw new VectorStoreFileError(
          "store_mismatch",
          `Redis vector set ${this.key} holds ${current}-dimensional vectors, but the embedder makes ` +
            `${dimensions}: re-index into a new key (change the model or REDIS_PREFIX) or delete the old one.`,
        );
      }
    }
    this.checkedDimensions = dimensions;
  }
}

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Scalar metadata as vector-set attributes: FILTER has no boolean literals, so booleans become 1 and 0. */
function filterAttributes(metadata: Record<string, unknown> = {}): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (!FIELD.test(key)) continue;
    if (typeof value === "string" || typeof value === "number") out[key] = value;
    else if (typeof value === "boolean") out[key] = value ? 1 : 0;
  }
  return out;
}

/**
 * A VSIM FILTER expression for an equality filter. The expression parser skips a backslash and the character after
 * it but does not unescape, so `\"` cannot stand for a quote: a string is quoted with the quote it does not
 * contain, and a string it cannot express is refused rather than silently matching nothing.
 */
export function filterExpression(filter: MetadataFilter): string {
  return Object.entries(filter)
    .map(([key, value]) => {
      if (!FIELD.test(key)) throw new BadRequestError(`filter: "${key}" is not a metadata field name`);
      if (typeof value === "boolean") return `.${key} == ${value ? 1 : 0}`;
      if (typeof value === "number") return `.${key} == ${numberLiteral(key, value)}`;
      if (typeof value !== "string")
        throw new BadRequestError(`filter: ${key} must be a string, number or boolean`);
      if (value.endsWith("\\") || value.includes("\0")) {
        throw new BadRequestError(`filter: the value of ${key} cannot end with a backslash or hold a NUL`);
      }
      if (!value.includes('"')) return `.${key} == "${value}"`;
      if (!value.includes("'")) return `.${key} == '${value}'`;
      throw new BadRequestError(`filter: the value of ${key} cannot contain both ' and "`);
    })
    .join(" and ");
}

/** The parser reads digits, '.', 'e' and a leading '-' only: no "e+" and no "e-7" after the first character. */
function numberLiteral(key: string, value: number): string {
  if (!Number.isFinite(value)) throw new BadRequestError(`filter: ${key} must be a finite number`);
  const text = String(value);
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-])(\d+)$/.exec(text);
  if (!match) return text;
  const [, sign, lead, rest = "", direction, exponent] = match;
  if (direction === "+") return `${sign}${lead}${rest ? `.${rest}` : ""}e${exponent}`;
  // Written out in full: the shortest round-trip digits, shifted, parse back to the same double.
  return `${sign}0.${"0".repeat(Number(exponent) - 1)}${lead}${rest}`;
}

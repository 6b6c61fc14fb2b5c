// A BM25 index kept in Redis, for the lexical side of hybrid retrieval on servers without the Query Engine
// (Redis 8 open source has vector sets but no full-text search). Same analysis and scoring as the embedded
// Bm25Index, so rankings match; postings are read per query term and scored in the process.
//
// Layout under `prefix`: `:t:<term>` hash chunkId → tf; `:len` hash chunkId → length in terms; `:doc` hash
// chunkId → JSON [length, distinct terms…] (what a removal must undo); `:stats` hash {docs, total};
// `:version`, incremented by every write.
//
// Reads far outnumber writes, so a process keeps the posting lists and lengths it has read, valid while
// `:version` is unchanged: a query then costs one GET, and every process still sees every write at once.
import type { DocumentInterface } from "@langchain/core/documents";
import type { MetadataFilter, ScoredDocument, SearchOptions } from "../contracts/search.ts";
import { searchTerms } from "../text/analysis.ts";
import { bm25Idf, bm25TermScore, DEFAULT_BM25_B, DEFAULT_BM25_K1 } from "./bm25-index.ts";
import type { RedisClient } from "./redis-client.ts";
import { TopK } from "./top-k.ts";

export interface RedisLexicalIndexOptions {
  client: RedisClient;
  prefix: string;
  k1?: number;
  b?: number;
}

export interface LexicalHit {
  id: string;
  score: number;
}

/** Posting lists cached per process before the cache is dropped and refilled (bounds memory). */
const MAX_CACHED_TERMS = 50_000;

interface ReadCache {
  version: string | null;
  stats?: { n: number; avg: number };
  postings: Map<string, Record<string, string>>;
  lengths: Map<string, number>;
}

export class RedisLexicalIndex {
  private readonly client: RedisClient;
  private cache: ReadCache = { version: null, postings: new Map(), lengths: new Map() };
  private readonly prefix: string;
  private readonly k1: number;
  private readonly b: number;

  constructor(options: RedisLexicalIndexOptions) {
    this.client = options.client;
    this.prefix = options.prefix;
    this.k1 = options.k1 ?? DEFAULT_BM25_K1;
    this.b = options.b ?? DEFAULT_BM25_B;
  }

  private term(term: string): string {
    return `${this.prefix}:t:${term}`;
  }

  /** Adds or replaces chunks, in one transaction. */
  async add(chunks: { id: string; text: string }[]): Promise<void> {
    if (chunks.length === 0) return;
    const previous = await this.client.hmGet(
      `${this.prefix}:doc`,
      chunks.map((c) => c.id),
    );
    const tx = this.client.multi();
    chunks.forEach((chunk, i) => {
      this.queueRemove(tx, chunk.id, previous[i]);
      const tf = new Map<string, number>();
      const terms = searchTerms(chunk.text);
      for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
      for (const [t, count] of tf) tx.hSet(this.term(t), chunk.id, count);
      tx.hSet(`${this.prefix}:doc`, chunk.id, JSON.stringify([terms.length, ...tf.keys()]));
      tx.hSet(`${this.prefix}:len`, chunk.id, terms.length);
      tx.hIncrBy(`${this.prefix}:stats`, "docs", 1);
      tx.hIncrBy(`${this.prefix}:stats`, "total", terms.length);
    });
    tx.incr(`${this.prefix}:version`);
    await tx.exec();
  }

  async remove(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const previous = await this.client.hmGet(`${this.prefix}:doc`, ids);
    const tx = this.client.multi();
    ids.forEach((id, i) => {
      this.queueRemove(tx, id, previous[i]);
    });
    tx.incr(`${this.prefix}:version`);
    await tx.exec();
  }

  private queueRemove(tx: ReturnType<RedisClient["multi"]>, id: string, entry: string | null | undefined) {
    if (!entry) return;
    const [length, ...terms] = JSON.parse(entry) as [number, ...string[]];
    for (const t of terms) tx.hDel(this.term(t), id);
    tx.hDel(`${this.prefix}:doc`, id);
    tx.hDel(`${this.prefix}:len`, id);
    tx.hIncrBy(`${this.prefix}:stats`, "docs", -1);
    tx.hIncrBy(`${this.prefix}:stats`, "total", -length);
  }

  /** The `limit` best chunks for `query`, best first. */
  async search(query: string, limit: number): Promise<LexicalHit[]> {
    const queryTf = new Map<string, number>();
    for (const t of searchTerms(query)) queryTf.set(t, (queryTf.get(t) ?? 0) + 1);
    if (queryTf.size === 0 || limit <= 0) return [];
    const terms = [...queryTf.keys()];
    const { n, avg, postings, lengths } = await this.read(terms);
    if (n <= 0) return [];

    const { k1, b } = this;
    const scores = new Map<string, number>();
    terms.forEach((term, i) => {
      const list = postings[i];
      const df = Object.keys(list).length;
      if (df === 0) return;
      const idf = bm25Idf(n, df) * (queryTf.get(term) ?? 1);
      for (const [id, tf] of Object.entries(list)) {
        const score = bm25TermScore(idf, Number(tf), lengths.get(id) ?? avg, avg, k1, b);
        scores.set(id, (scores.get(id) ?? 0) + score);
      }
    });
    const heap = new TopK<string>(limit);
    for (const [id, score] of scores) heap.push(id, score);
    return heap.take().map(({ item, score }) => ({ id: item, score }));
  }

  /** Statistics, posting lists and lengths for `terms`: from this process's cache when the index is unchanged. */
  private async read(terms: string[]) {
    const version = await this.client.get(`${this.prefix}:version`);
    if (version !== this.cache.version || this.cache.postings.size > MAX_CACHED_TERMS) {
      this.cache = { version, postings: new Map(), lengths: new Map() };
    }
    const cache = this.cache;
    const missing = terms.filter((t) => !cache.postings.has(t));
    if (missing.length > 0 || !cache.stats) {
      const pipeline = this.client.multi();
      pipeline.hmGet(`${this.prefix}:stats`, ["docs", "total"]);
      for (const t of missing) pipeline.hGetAll(this.term(t));
      const [stats, ...lists] = (await pipeline.execAsPipeline()) as unknown as [
        (string | null)[],
        ...Record<string, string>[],
      ];
      const n = Number(stats[0] ?? 0);
      cache.stats = { n, avg: Number(stats[1] ?? 0) / n || 1 };
      for (const [i, term] of missing.entries()) cache.postings.set(term, lists[i]);
      const ids = [...new Set(lists.flatMap((list) => Object.keys(list)))].filter(
        (id) => !cache.lengths.has(id),
      );
      if (ids.length > 0) {
        const values = await this.client.hmGet(`${this.prefix}:len`, ids);
        for (const [i, id] of ids.entries()) cache.lengths.set(id, Number(values[i] ?? 0));
      }
    }
    const postings = terms.map((t) => cache.postings.get(t) ?? {});
    return { n: cache.stats.n, avg: cache.stats.avg, postings, lengths: cache.lengths };
  }
}

/** Chunks read per round trip while a filtered lexical search looks for matches. */
const FILTER_PAGE = 200;

/**
 * Lexical search as Documents, for the Redis stores that keep their chunks beside this index. The postings carry
 * no metadata, so with a filter every candidate is ranked and chunks are read best first, a page at a time,
 * until k pass: a selective filter still finds its matches.
 */
export async function searchDocuments(
  index: RedisLexicalIndex,
  query: string,
  options: SearchOptions,
  getByIds: (ids: string[]) => Promise<DocumentInterface[]>,
): Promise<ScoredDocument[]> {
  const { k, filter } = options;
  if (!filter || Object.keys(filter).length === 0) {
    const hits = await index.search(query, k);
    const scores = new Map(hits.map((h) => [h.id, h.score]));
    const docs = await getByIds(hits.map((h) => h.id));
    return docs.map((document) => ({ document, score: scores.get(document.id as string) ?? 0 }));
  }
  const hits = await index.search(query, Number.MAX_SAFE_INTEGER);
  const out: ScoredDocument[] = [];
  for (let start = 0; start < hits.length && out.length < k; start += FILTER_PAGE) {
    const page = hits.slice(start, start + FILTER_PAGE);
    const docs = await getByIds(page.map((h) => h.id));
    const scores = new Map(page.map((h) => [h.id, h.score]));
    for (const document of docs) {
      if (out.length < k && matchesFilter(document.metadata, filter)) {
        out.push({ document, score: scores.get(document.id as string) ?? 0 });
      }
    }
  }
  return out;
}

/** Equality on every key, as the local store filters. */
export function matchesFilter(metadata: Record<string, unknown>, filter: MetadataFilter): boolean {
  return Object.entries(filter).every(([key, value]) => metadata[key] === value);
}

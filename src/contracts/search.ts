// What retrieval hands to chains and tools: documents with the score that ranked them.
import type { DocumentInterface } from "@langchain/core/documents";

/** Equality filter on chunk metadata: every key must match. */
export type MetadataFilter = Record<string, string | number | boolean>;

export interface ScoredDocument {
  /** The chunk, with `id` set to its store id. */
  document: DocumentInterface;
  /** Higher is better; comparable only within one result list. */
  score: number;
}

export interface SearchOptions {
  k: number;
  filter?: MetadataFilter;
}

/** A store that also keeps a lexical (BM25) index over the same chunks, by the same ids. */
export interface LexicalSearch {
  lexicalSearch(query: string, options: SearchOptions): Promise<ScoredDocument[]>;
}

/** A chunk's id and the score that ranked it, without the chunk. */
export interface Hit {
  id: string;
  score: number;
}

/**
 * A store whose searches can rank chunks without reading them, for a caller that keeps a few of many candidates
 * (the hybrid search fuses a hundred from each side and keeps k): the local store reads texts from its file, so
 * reading only the chunks kept saves a read for each of the others.
 */
export interface HitSearch {
  /** The k chunks nearest a query vector (already embedded), best first. */
  vectorHits(query: number[], k: number, filter?: MetadataFilter): Promise<Hit[]>;
  /** The k best chunks by BM25, best first. */
  lexicalHits(query: string, k: number, filter?: MetadataFilter): Promise<Hit[]>;
  /** The chunks with these ids, in that order (unknown ones skipped). */
  getByIds(ids: string[]): Promise<DocumentInterface[]>;
}

export function isHitSearch(store: object): store is HitSearch {
  const candidate = store as Partial<HitSearch>;
  return (
    typeof candidate.vectorHits === "function" &&
    typeof candidate.lexicalHits === "function" &&
    typeof candidate.getByIds === "function"
  );
}

/** Anything that answers a query with ranked chunks: the hybrid retriever, or one side of it. */
export interface Searcher {
  search(query: string, options: SearchOptions): Promise<ScoredDocument[]>;
}

/**
 * Orders a query's candidates by how well each answers it, best first, and keeps `k`: a reranker between
 * retrieval and answering (chains/<name>.yaml `retrieval.rerank`).
 */
export interface Reranker {
  /** Names it in logs and replies, e.g. "offline" or "bedrock:amazon.rerank-v1:0". */
  readonly name: string;
  rerank(
    query: string,
    candidates: ScoredDocument[],
    k: number,
    signal?: AbortSignal,
  ): Promise<ScoredDocument[]>;
}

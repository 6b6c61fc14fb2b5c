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

/** Anything that answers a query with ranked chunks: the hybrid retriever, or one side of it. */
export interface Searcher {
  search(query: string, options: SearchOptions): Promise<ScoredDocument[]>;
}

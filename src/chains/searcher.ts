// The retriever a chain's retrieval settings describe: the search mode (mmr runs as vector search here) and the
// hybrid fusion weights, over the store it is given. Shared by the service and the evaluation runner, so that an
// evaluated variant retrieves exactly as it would serve.
import type { VectorStore } from "@langchain/core/vectorstores";
import type { LexicalSearch } from "../contracts/search.ts";
import { HybridSearcher, type SearchMode } from "../retrieval/hybrid-search.ts";
import type { ChainConfig } from "./config.ts";

export function chainSearcher(config: ChainConfig, store: VectorStore & LexicalSearch): HybridSearcher {
  const { search, weights } = config.retrieval;
  return new HybridSearcher({ store, mode: searchMode(search), ...(weights ? { weights } : {}) });
}

function searchMode(search: ChainConfig["retrieval"]["search"]): SearchMode {
  return search === "similarity" || search === "mmr" ? "vector" : search;
}

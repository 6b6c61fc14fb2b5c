// The retriever a chain's retrieval settings describe: the search mode, the hybrid fusion weights and the MMR
// options, over the store it is given. Shared by the service and the evaluation runner, so that an evaluated
// variant retrieves exactly as it would serve.
import type { VectorStore } from "@langchain/core/vectorstores";
import type { LexicalSearch } from "../contracts/search.ts";
import { HybridSearcher } from "../retrieval/hybrid-search.ts";
import type { ChainConfig } from "./config.ts";

export function chainSearcher(config: ChainConfig, store: VectorStore & LexicalSearch): HybridSearcher {
  const { search, weights, mmr } = config.retrieval;
  return new HybridSearcher({
    store,
    mode: search === "similarity" ? "vector" : search,
    ...(weights ? { weights } : {}),
    ...(mmr ? { mmr } : {}),
  });
}

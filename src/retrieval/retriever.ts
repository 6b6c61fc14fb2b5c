// Any Searcher as a LangChain retriever, for LCEL chains and agent tools: documents in rank order, each with
// the score that ranked it in `metadata.score`.
import type { CallbackManagerForRetrieverRun } from "@langchain/core/callbacks/manager";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import { BaseRetriever, type BaseRetrieverInput } from "@langchain/core/retrievers";
import type { MetadataFilter, Searcher } from "../contracts/search.ts";

export interface CounselRetrieverInput extends BaseRetrieverInput {
  searcher: Searcher;
  /** Chunks returned per query. Default 5. */
  k?: number;
  filter?: MetadataFilter;
}

export class CounselRetriever extends BaseRetriever {
  static override lc_name(): string {
    return "CounselRetriever";
  }

  override lc_namespace = ["counsel", "retrieval", "retriever"];

  searcher: Searcher;
  k: number;
  filter?: MetadataFilter;

  constructor(fields: CounselRetrieverInput) {
    super(fields);
    this.searcher = fields.searcher;
    this.k = fields.k ?? 5;
    this.filter = fields.filter;
  }

  override async _getRelevantDocuments(
    query: string,
    _runManager?: CallbackManagerForRetrieverRun,
  ): Promise<DocumentInterface[]> {
    const hits = await this.searcher.search(query, { k: this.k, filter: this.filter });
    return hits.map(
      ({ document, score }) =>
        new Document({
          pageContent: document.pageContent,
          metadata: { ...document.metadata, score },
          id: document.id,
        }),
    );
  }
}

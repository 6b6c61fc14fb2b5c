// Embeddings cached in a byte store (Redis, or memory), keyed by the embedding model's id and a hash of the text:
// re-ingesting an unchanged chunk, or the same text in another collection, costs no model call, and two models
// (or two settings of one model) never share vectors.
import { CacheBackedEmbeddings } from "@langchain/classic/embeddings/cache_backed";
import type { Embeddings } from "@langchain/core/embeddings";
import type { BaseStore } from "@langchain/core/stores";

export interface CachedEmbeddingsOptions {
  /**
   * Also cache query embeddings, in this store (which may expire entries sooner than the document store).
   * CacheBackedEmbeddings itself passes embedQuery() straight through: @langchain/classic 1.0 has no query cache.
   */
  queryStore?: BaseStore<string, Uint8Array>;
}

/** The embedder, cached, still describing itself (model id, dimensions) as the vector stores expect. */
export type CachedEmbeddings = CacheBackedEmbeddings & {
  readonly modelId: string;
  readonly dimensions?: number;
};

export function cachedEmbeddings(
  underlying: Embeddings & { modelId: string; dimensions?: number },
  store: BaseStore<string, Uint8Array>,
  options: CachedEmbeddingsOptions = {},
): CachedEmbeddings {
  const { modelId, dimensions } = underlying;
  // fromBytesStore prepends the namespace to a SHA-256 of the text with no separator: the colon adds one.
  const documents = CacheBackedEmbeddings.fromBytesStore(underlying, store, { namespace: `${modelId}:` });
  if (options.queryStore) {
    // The same read-through cache, over the query store, with embedQuery() as the model call. Apart from the
    // documents because some models embed a text differently as a query (Cohere's input_type).
    const asQueries = {
      embedQuery: (text: string) => underlying.embedQuery(text),
      embedDocuments: (texts: string[]) => Promise.all(texts.map((text) => underlying.embedQuery(text))),
    };
    const queries = CacheBackedEmbeddings.fromBytesStore(asQueries, options.queryStore, {
      namespace: `${modelId}:query:`,
    });
    documents.embedQuery = async (text: string) => (await queries.embedDocuments([text]))[0];
  }
  return Object.assign(documents, { modelId, dimensions });
}

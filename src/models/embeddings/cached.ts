// Embeddings cached in a byte store (Redis, or memory), keyed by the embedding model's id and a hash of the text:
// re-ingesting an unchanged chunk, or the same text in another collection, costs no model call, and two models
// (or two settings of one model) never share vectors.
import { CacheBackedEmbeddings } from "@langchain/classic/embeddings/cache_backed";
import type { Embeddings } from "@langchain/core/embeddings";
import { BaseStore } from "@langchain/core/stores";
import type { CacheMeter } from "../cache-meter.ts";

export interface CachedEmbeddingsOptions {
  /**
   * Also cache query embeddings, in this store (which may expire entries sooner than the document store).
   * CacheBackedEmbeddings itself passes embedQuery() straight through: @langchain/classic 1.0 has no query cache.
   */
  queryStore?: BaseStore<string, Uint8Array>;
  /** Counts each text looked up, documents and queries alike, as an "embeddings" hit or miss. */
  meter?: CacheMeter;
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
  const { meter } = options;
  const documentStore = meter ? new MeteredByteStore(store, meter) : store;
  // fromBytesStore prepends the namespace to a SHA-256 of the text with no separator: the colon adds one.
  const documents = CacheBackedEmbeddings.fromBytesStore(underlying, documentStore, {
    namespace: `${modelId}:`,
  });
  if (options.queryStore) {
    // The same read-through cache, over the query store, with embedQuery() as the model call. Apart from the
    // documents because some models embed a text differently as a query (Cohere's input_type).
    const asQueries = {
      embedQuery: (text: string) => underlying.embedQuery(text),
      embedDocuments: (texts: string[]) => Promise.all(texts.map((text) => underlying.embedQuery(text))),
    };
    const queryStore = meter ? new MeteredByteStore(options.queryStore, meter) : options.queryStore;
    const queries = CacheBackedEmbeddings.fromBytesStore(asQueries, queryStore, {
      namespace: `${modelId}:query:`,
    });
    documents.embedQuery = async (text: string) => (await queries.embedDocuments([text]))[0];
  }
  return Object.assign(documents, { modelId, dimensions });
}

/**
 * The byte store, counting what CacheBackedEmbeddings finds in it: embedDocuments() reads every text's key in one
 * mget() before it embeds the missing ones, so a value is a hit and an undefined a miss. Metered here rather than
 * in the embedder so that CacheBackedEmbeddings stays LangChain's own.
 */
class MeteredByteStore extends BaseStore<string, Uint8Array> {
  lc_namespace = ["counsel", "store", "metered_byte_store"];

  constructor(
    private readonly store: BaseStore<string, Uint8Array>,
    private readonly meter: CacheMeter,
  ) {
    super();
  }

  async mget(keys: string[]): Promise<(Uint8Array | undefined)[]> {
    const values = await this.store.mget(keys);
    const hits = values.filter((value) => value !== undefined).length;
    this.meter.record("embeddings", "hit", hits);
    this.meter.record("embeddings", "miss", values.length - hits);
    return values;
  }

  mset(keyValuePairs: [string, Uint8Array][]): Promise<void> {
    return this.store.mset(keyValuePairs);
  }

  mdelete(keys: string[]): Promise<void> {
    return this.store.mdelete(keys);
  }

  yieldKeys(prefix?: string): AsyncGenerator<string> {
    return this.store.yieldKeys(prefix);
  }
}

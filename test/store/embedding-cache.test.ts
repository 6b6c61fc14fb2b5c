// The embedding cache: CacheBackedEmbeddings over a byte store, namespaced by embedding model, on the real Redis 8
// and in memory. The underlying embedder is the real LocalHashEmbeddings, wrapped only to count its calls.
import { randomUUID } from "node:crypto";
import type { BaseStore } from "@langchain/core/stores";
import { InMemoryStore } from "@langchain/core/stores";
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { cachedEmbeddings } from "../../src/models/embeddings/cached.ts";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { RedisByteStore } from "../../src/store/redis-byte-store.ts";
import type { RedisNode } from "../../src/store/redis-client.ts";

/** LocalHashEmbeddings that counts the texts it is asked to embed. */
class CountingEmbeddings extends LocalHashEmbeddings {
  documentTexts = 0;
  documentCalls = 0;
  queryCalls = 0;

  override async embedDocuments(documents: string[]): Promise<number[][]> {
    this.documentCalls++;
    this.documentTexts += documents.length;
    return super.embedDocuments(documents);
  }

  override async embedQuery(text: string): Promise<number[]> {
    this.queryCalls++;
    return super.embedQuery(text);
  }
}

// Sentences from the memo (test/fixtures/fake-memo.txt) and the Bitcoin whitepaper (test/fixtures/bitcoin.txt).
const TEXTS = [
  "There were 20,000 bottles of water, 10,000 blankets, and 200 laptops delivered on January 23, 2023.",
  "A total of 3 trucks were used for 15 hours.",
  "We propose a solution to the double-spending problem using a peer-to-peer network.",
];

let client: RedisNode;
beforeAll(async () => {
  client = createClient({ url: inject("redisUrl") });
  await client.connect();
});
afterAll(async () => client?.quit());

async function dropPrefix(prefix: string) {
  for await (const key of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) await client.del(key);
}

const backends: [string, () => { store: () => BaseStore<string, Uint8Array>; destroy(): Promise<void> }][] = [
  [
    "in memory",
    () => {
      const shared = new InMemoryStore<Uint8Array>();
      return { store: () => shared, destroy: async () => undefined };
    },
  ],
  [
    "in Redis",
    () => {
      const prefix = `test:emb:${randomUUID().slice(0, 8)}`;
      // A new store object per call, as another process would have: only Redis is shared.
      return { store: () => new RedisByteStore({ client, prefix }), destroy: () => dropPrefix(prefix) };
    },
  ],
];

describe.each(backends)("cachedEmbeddings %s", (_name, open) => {
  let store: () => BaseStore<string, Uint8Array>;
  let destroy: () => Promise<void>;
  beforeEach(() => {
    ({ store, destroy } = open());
  });
  afterEach(async () => destroy());

  it("embeds each text once: a second pass, even by another instance, costs no model call", async () => {
    const model = new CountingEmbeddings({ dimensions: 64 });
    const first = await cachedEmbeddings(model, store()).embedDocuments(TEXTS);
    expect(model.documentTexts).toBe(3);

    const second = await cachedEmbeddings(model, store()).embedDocuments(TEXTS);
    expect(model.documentTexts).toBe(3);
    expect(second).toEqual(first);
    expect(second).toEqual(await new LocalHashEmbeddings({ dimensions: 64 }).embedDocuments(TEXTS));

    // Only what is new goes to the model, in one call.
    await cachedEmbeddings(model, store()).embedDocuments([TEXTS[0], "A new sentence.", TEXTS[2]]);
    expect(model.documentTexts).toBe(4);
    expect(model.documentCalls).toBe(2);
  });

  it("never shares vectors between two embedding models", async () => {
    const small = new CountingEmbeddings({ dimensions: 64 });
    const large = new CountingEmbeddings({ dimensions: 128 });
    expect(small.modelId).not.toBe(large.modelId);
    await cachedEmbeddings(small, store()).embedDocuments(TEXTS);
    const vectors = await cachedEmbeddings(large, store()).embedDocuments(TEXTS);
    expect(large.documentTexts).toBe(3);
    expect(vectors.every((v) => v.length === 128)).toBe(true);
    const keys: string[] = [];
    for await (const key of store().yieldKeys()) keys.push(key);
    expect(keys.filter((k) => k.startsWith(`${small.modelId}:`))).toHaveLength(3);
    expect(keys.filter((k) => k.startsWith(`${large.modelId}:`))).toHaveLength(3);
  });

  it("passes queries through uncached by default, as CacheBackedEmbeddings does", async () => {
    const model = new CountingEmbeddings({ dimensions: 64 });
    const embeddings = cachedEmbeddings(model, store());
    await embeddings.embedQuery("how many laptops?");
    await embeddings.embedQuery("how many laptops?");
    expect(model.queryCalls).toBe(2);
    expect(embeddings.modelId).toBe(model.modelId);
    expect(embeddings.dimensions).toBe(64);
  });

  it("caches queries apart from documents when given a query store", async () => {
    const model = new CountingEmbeddings({ dimensions: 64 });
    const embeddings = cachedEmbeddings(model, store(), { queryStore: store() });
    const first = await embeddings.embedQuery(TEXTS[1]);
    const second = await cachedEmbeddings(model, store(), { queryStore: store() }).embedQuery(TEXTS[1]);
    expect(model.queryCalls).toBe(1);
    expect(second).toEqual(first);
    expect(first).toEqual(await new LocalHashEmbeddings({ dimensions: 64 }).embedQuery(TEXTS[1]));
    // The same text as a document is a separate entry: the query cache did not fill the document cache.
    await embeddings.embedDocuments([TEXTS[1]]);
    expect(model.documentTexts).toBe(1);
  });
});

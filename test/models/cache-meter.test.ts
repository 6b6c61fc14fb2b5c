// Cache hits and misses, counted by the real caches: the LLM response cache (in memory and on the real Redis 8)
// under a FakeListChatModel, and the embedding cache (CacheBackedEmbeddings) over LangChain's InMemoryStore with
// the real LocalHashEmbeddings.
import { randomUUID } from "node:crypto";
import { InMemoryStore } from "@langchain/core/stores";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CacheMeter, type CacheRecord } from "../../src/models/cache-meter.ts";
import { cachedEmbeddings } from "../../src/models/embeddings/cached.ts";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { llmCache } from "../../src/store/llm-cache.ts";
import type { RedisNode } from "../../src/store/redis-client.ts";
import { redisLlmCache } from "../../src/store/redis-llm-cache.ts";

const TEXTS = [
  "There were 20,000 bottles of water, 10,000 blankets, and 200 laptops delivered on January 23, 2023.",
  "A total of 3 trucks were used for 15 hours.",
  "We propose a solution to the double-spending problem using a peer-to-peer network.",
];

describe("CacheMeter", () => {
  it("keeps totals per cache and outcome, and hands each count to listeners", () => {
    const meter = new CacheMeter();
    const heard: CacheRecord[] = [];
    meter.onRecord((record) => heard.push(record));
    meter.record("llm", "miss");
    meter.record("llm", "hit");
    meter.record("embeddings", "hit", 3);
    meter.record("embeddings", "miss", 0); // an empty batch: nothing looked up, nothing heard
    expect(meter.totals()).toEqual({ embeddings: { hit: 3, miss: 0 }, llm: { hit: 1, miss: 1 } });
    expect(heard).toEqual([
      { cache: "llm", outcome: "miss", count: 1 },
      { cache: "llm", outcome: "hit", count: 1 },
      { cache: "embeddings", outcome: "hit", count: 3 },
    ]);
  });
});

let client: RedisNode;
beforeAll(async () => {
  client = createClient({ url: inject("redisUrl") });
  await client.connect();
});
afterAll(async () => client?.quit());

describe.each<[string, () => { client?: RedisNode; prefix: string }]>([
  ["in memory", () => ({ prefix: "llm" })],
  ["in Redis", () => ({ client, prefix: `test:llm-meter:${randomUUID().slice(0, 8)}` })],
])("llmCache %s with a meter", (_name, options) => {
  it("counts a new prompt as a miss and the same prompt again as a hit", async () => {
    const opts = options();
    const meter = new CacheMeter();
    const chat = new FakeListChatModel({
      responses: ["200 laptops [1]", "a different answer"],
      cache: opts.client
        ? redisLlmCache({ ...opts, client: opts.client, meter })
        : llmCache({ ...opts, meter }),
    });
    await chat.invoke("How many laptops were shipped?");
    expect(meter.totals().llm).toEqual({ hit: 0, miss: 1 });
    expect((await chat.invoke("How many laptops were shipped?")).content).toBe("200 laptops [1]");
    expect(meter.totals().llm).toEqual({ hit: 1, miss: 1 });
    await chat.invoke("How many trucks were used?");
    expect(meter.totals()).toEqual({ embeddings: { hit: 0, miss: 0 }, llm: { hit: 1, miss: 2 } });
    if (opts.client) {
      for await (const key of client.scanIterator({ MATCH: `${opts.prefix}:*` })) await client.del(key);
    }
  });
});

describe("cachedEmbeddings with a meter", () => {
  it("counts each document text: misses on the first embedding, hits on the second", async () => {
    const meter = new CacheMeter();
    const embeddings = cachedEmbeddings(new LocalHashEmbeddings({ dimensions: 64 }), new InMemoryStore(), {
      meter,
    });
    const first = await embeddings.embedDocuments(TEXTS);
    expect(meter.totals().embeddings).toEqual({ hit: 0, miss: 3 });
    const second = await embeddings.embedDocuments(TEXTS);
    expect(second).toEqual(first);
    expect(meter.totals().embeddings).toEqual({ hit: 3, miss: 3 });
    // A batch of one known text and one new one.
    await embeddings.embedDocuments([TEXTS[0], "The cafeteria opens at 9am."]);
    expect(meter.totals()).toEqual({ embeddings: { hit: 4, miss: 4 }, llm: { hit: 0, miss: 0 } });
  });

  it("counts queries in the query store the same way, apart from documents", async () => {
    const meter = new CacheMeter();
    const embeddings = cachedEmbeddings(new LocalHashEmbeddings({ dimensions: 64 }), new InMemoryStore(), {
      queryStore: new InMemoryStore(),
      meter,
    });
    const first = await embeddings.embedQuery("How many laptops were shipped?");
    expect(meter.totals().embeddings).toEqual({ hit: 0, miss: 1 });
    expect(await embeddings.embedQuery("How many laptops were shipped?")).toEqual(first);
    expect(meter.totals().embeddings).toEqual({ hit: 1, miss: 1 });
    // A query's cache is not the documents': the same text as a document is a miss.
    await embeddings.embedDocuments(["How many laptops were shipped?"]);
    expect(meter.totals().embeddings).toEqual({ hit: 1, miss: 2 });
  });
});

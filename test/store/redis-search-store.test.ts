// The Query Engine store (FT.* with a vector field) on a real server: REDIS_SEARCH_URL (test/helpers/redis-search.ts;
// skipped, saying so, without it). The shared vector-store contract, then what is the Query Engine's own: vectors of
// another dimension refused, filter values with punctuation, an index built over existing keys waited for, and
// start-up choosing it, or keeping vector sets already there.
import { randomUUID } from "node:crypto";
import { Document } from "@langchain/core/documents";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { createServices } from "../../src/services/services.ts";
import { type RedisNode, scanKeys } from "../../src/store/redis-client.ts";
import { RedisLexicalIndex } from "../../src/store/redis-lexical-index.ts";
import { filterQuery, metadataTags, RedisSearchStore } from "../../src/store/redis-search-store.ts";
import { redisSearchUrl, sayWhySearchIsSkipped } from "../helpers/redis-search.ts";
import { quiet, testSettings } from "../helpers/services.ts";
import { describeVectorStoreContract, type StoreUnderTest } from "./vector-store.contract.ts";

describe("the Query Engine store's filters", () => {
  it("turns each scalar field into a token of its name and value, and a filter into tokens to match", () => {
    const tags = metadataTags({ source: "acme-eu, inc. {draft}", page: 2, ok: true, nested: { a: 1 } });
    expect(tags).toHaveLength(3);
    for (const token of tags) expect(token).toMatch(/^[0-9a-f]{24}$/);
    // true counts as 1, as the vector-set store's filters have it; a string "2" is not the number 2.
    expect(filterQuery({ ok: true })).toBe(filterQuery({ ok: 1 }));
    expect(filterQuery({ page: 2 })).not.toBe(filterQuery({ page: "2" }));
    expect(filterQuery({ source: "acme-eu, inc. {draft}", page: 2 })).toBe(
      `(@tags:{${tags[0]}} @tags:{${tags[1]}})`,
    );
    expect(filterQuery({})).toBe("*");
    expect(() => filterQuery({ "x} | @tags:{y": "z" })).toThrow(/not a metadata field/);
    expect(() => filterQuery({ page: Number.NaN })).toThrow(/finite number/);
  });
});

sayWhySearchIsSkipped("RedisSearchStore");

describe.skipIf(!redisSearchUrl)("RedisSearchStore on a real Query Engine", () => {
  let client: RedisNode;
  beforeAll(async () => {
    client = createClient({ url: redisSearchUrl });
    await client.connect();
  });
  afterAll(async () => client?.quit());

  const unique = () => `test:{${randomUUID().slice(0, 8)}}`;
  const open = (embeddings: LocalHashEmbeddings, prefix = unique()) =>
    new RedisSearchStore(embeddings, {
      client,
      prefix,
      lexical: new RedisLexicalIndex({ client, prefix: `${prefix}:lexical` }),
    });
  async function drop(store: RedisSearchStore) {
    await client.sendCommand(["FT.DROPINDEX", store.indexName]).catch(() => undefined);
    for await (const key of scanKeys(client, `${store.prefix}*`)) await client.del(key);
  }

  describeVectorStoreContract("RedisSearchStore", {
    create: async (embeddings) => open(embeddings) as unknown as StoreUnderTest,
    destroy: async (store) => drop(store as unknown as RedisSearchStore),
  });

  it("refuses vectors of another dimension, at write and at open, naming how to re-index", async () => {
    const prefix = unique();
    const small = open(new LocalHashEmbeddings({ dimensions: 64 }), prefix);
    await small.addDocuments([new Document({ pageContent: "a" })], { ids: ["a"] });
    const large = open(new LocalHashEmbeddings({ dimensions: 128 }), prefix);
    await expect(large.addDocuments([new Document({ pageContent: "b" })], { ids: ["b"] })).rejects.toThrow(
      /64-dimensional.*makes 128.*FT.DROPINDEX/,
    );
    await expect(large.open(128)).rejects.toThrow(/64-dimensional/);
    expect(await small.countChunks()).toBe(1);
    await drop(small);
  });

  it("filters on values with punctuation, commas and braces exactly", async () => {
    const store = open(new LocalHashEmbeddings({ dimensions: 64 }));
    await store.addDocuments(
      [
        new Document({ pageContent: "Acme EU invoice", metadata: { tenant: "acme-eu", source: "a,b {c}" } }),
        new Document({ pageContent: "Acme invoice", metadata: { tenant: "acme", source: "a" } }),
      ],
      { ids: ["eu", "plain"] },
    );
    const eu = await store.similaritySearch("invoice", 5, { tenant: "acme-eu" });
    expect(eu.map((d) => d.id)).toEqual(["eu"]);
    expect(eu[0]?.metadata).toEqual({ tenant: "acme-eu", source: "a,b {c}" });
    expect((await store.similaritySearch("invoice", 5, { source: "a,b {c}" })).map((d) => d.id)).toEqual([
      "eu",
    ]);
    expect((await store.similaritySearch("invoice", 5, { source: "a" })).map((d) => d.id)).toEqual(["plain"]);
    await drop(store);
  });

  it("keeps a chunk whose vector has no direction out of the vector index, so that no search meets a NaN", async () => {
    const embeddings = new LocalHashEmbeddings({ dimensions: 64 });
    // "in" is a stop word: the hashed embedding of a chunk of it alone is all zeros.
    expect((await embeddings.embedQuery("in")).every((x) => x === 0)).toBe(true);
    const store = open(embeddings);
    await store.addDocuments(
      [
        new Document({ pageContent: "in" }),
        new Document({ pageContent: "Laptops were delivered in January." }),
        new Document({ pageContent: "Blankets and water were shipped." }),
      ],
      { ids: ["empty", "laptops", "blankets"] },
    );
    const hits = await store.similaritySearchWithScore("laptops delivered", 3);
    expect(hits.map(([doc]) => doc.id)).toEqual(["laptops", "blankets"]);
    for (const [, score] of hits) expect(Number.isFinite(score)).toBe(true);
    expect((await store.getByIds(["empty"]))[0]?.pageContent).toBe("in");
    await drop(store);
  });

  it("waits for an index built over existing chunks before it answers", async () => {
    const embeddings = new LocalHashEmbeddings({ dimensions: 64 });
    const first = open(embeddings);
    const docs = Array.from({ length: 3_000 }, (_, i) => new Document({ pageContent: `chunk number ${i}` }));
    await first.addDocuments(docs, { ids: docs.map((_, i) => `c${i}`) });
    // The index dropped, keeping its keys, and made again: the Query Engine indexes the 3,000 in the background.
    await client.sendCommand(["FT.DROPINDEX", first.indexName]);
    await client.del(`${first.prefix}:dim`);
    const again = open(embeddings, first.prefix);
    await again.addDocuments([new Document({ pageContent: "one more" })], { ids: ["more"] });
    const progress: string[] = [];
    const reopened = new RedisSearchStore(embeddings, {
      client,
      prefix: first.prefix,
      onProgress: (message) => progress.push(message),
    });
    await reopened.open(64);
    expect(await reopened.countChunks()).toBe(3_001);
    const [hit] = await reopened.similaritySearch("chunk number 2999", 1);
    expect(hit?.id).toBe("c2999");
    await drop(first);
  }, 60_000);

  it("is what start-up picks on a server with the Query Engine, unless the store holds vector sets", async () => {
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const services = await createServices(
      testSettings("/tmp/unused", { REDIS_URL: redisSearchUrl as string, REDIS_PREFIX: prefix }),
      quiet,
    );
    expect(services.stores.backend).toBe("redis-search");
    await services.close();
    const info = await client.sendCommand(["COMMAND", "INFO", "VADD"]);
    if (Array.isArray(info) && info[0]) {
      // A Redis 8 with both: vector sets already holding a tenant's chunks are kept.
      await client.sendCommand([
        "VADD",
        `${prefix}:{default}:default:m:vectors`,
        "VALUES",
        "2",
        "1",
        "0",
        "x",
      ]);
      const again = await createServices(
        testSettings("/tmp/unused", { REDIS_URL: redisSearchUrl as string, REDIS_PREFIX: prefix }),
        quiet,
      );
      expect(again.stores.backend).toBe("redis-vectorset");
      await again.close();
    }
    for await (const key of scanKeys(client, `${prefix}:*`)) await client.del(key);
  });
});

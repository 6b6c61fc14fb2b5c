// The Query Engine store on a Redis Cluster (as MemoryDB runs it): six real Redis 8 processes that load the search
// module named by REDIS_SEARCH_MODULE (a built redisearch.so; docs/development.md), through Counsel's cluster
// client: the vector-store contract, two tenants' indexes on different masters, and a master failed over under
// the store. Skipped, saying why, without REDIS_SEARCH_MODULE.
import { randomUUID } from "node:crypto";
import { Document } from "@langchain/core/documents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { connectRedis, scanKeys, sendRaw } from "../../src/store/redis-client.ts";
import { openReplaceableCluster, type ReplaceableCluster } from "../../src/store/redis-cluster.ts";
import { watchCluster } from "../../src/store/redis-cluster-watchdog.ts";
import { RedisLexicalIndex } from "../../src/store/redis-lexical-index.ts";
import { RedisSearchStore } from "../../src/store/redis-search-store.ts";
import type { RedisWatchdog } from "../../src/store/redis-watchdog.ts";
import {
  masterOf,
  type RedisCluster,
  replicated,
  roleOf,
  startRedisCluster,
  until,
} from "../helpers/redis-cluster.ts";
import { describeVectorStoreContract, type StoreUnderTest } from "./vector-store.contract.ts";

const searchModule = process.env.REDIS_SEARCH_MODULE || undefined;

describe.skipIf(searchModule)("RedisSearchStore on a Redis Cluster", () => {
  it.skip("needs REDIS_SEARCH_MODULE, the path of a built Query Engine module (docs/development.md)", () => {});
});

describe.skipIf(!searchModule)("RedisSearchStore on a Redis Cluster with the Query Engine", () => {
  let cluster: RedisCluster;
  let redis: ReplaceableCluster;
  let watchdog: RedisWatchdog;

  beforeAll(async () => {
    cluster = await startRedisCluster({ modules: [searchModule as string] });
    const [first, ...others] = cluster.rootNodes.map((n) => n.url);
    redis = await openReplaceableCluster(
      first as string,
      others.map((url) => new URL(url).host),
      () => undefined,
    );
    await connectRedis(redis.client, first as string);
    watchdog = watchCluster(redis, { intervalMs: 100, timeoutMs: 300, tls: false });
  }, 180_000);

  afterAll(async () => {
    watchdog?.stop();
    await redis?.close();
    await cluster?.stop();
  });

  /** A tenant-like prefix: its braces a hash tag, as Counsel's keys carry (redis-key-layout.ts). */
  const tagged = () => `test:{${randomUUID().slice(0, 8)}}:search`;
  const open = (prefix = tagged()) =>
    new RedisSearchStore(new LocalHashEmbeddings({ dimensions: 64 }), {
      client: redis.client,
      prefix,
      lexical: new RedisLexicalIndex({ client: redis.client, prefix: `${prefix}:lexical` }),
    });
  async function drop(store: RedisSearchStore) {
    await sendRaw(redis.client, store.indexName, ["FT.DROPINDEX", store.indexName]).catch(() => undefined);
    for await (const key of scanKeys(redis.client, `${store.prefix}*`)) await redis.client.del(key);
  }

  describeVectorStoreContract("RedisSearchStore on a Redis Cluster", {
    create: async (embeddings) => {
      const prefix = tagged();
      return new RedisSearchStore(embeddings, {
        client: redis.client,
        prefix,
        lexical: new RedisLexicalIndex({ client: redis.client, prefix: `${prefix}:lexical` }),
      }) as unknown as StoreUnderTest;
    },
    destroy: async (store) => drop(store as unknown as RedisSearchStore),
  });

  it("keeps each tenant's index with its own keys, whichever master holds them", async () => {
    // Find two prefixes whose hash tags land on different masters.
    const first = open();
    let second = open();
    while (
      (await masterOf(cluster, first.indexName)).port === (await masterOf(cluster, second.indexName)).port
    )
      second = open();
    await first.addDocuments([new Document({ pageContent: "Laptops were delivered in January." })], {
      ids: ["a"],
    });
    await second.addDocuments([new Document({ pageContent: "Blankets were shipped in March." })], {
      ids: ["b"],
    });
    expect((await first.similaritySearch("laptops", 5)).map((d) => d.id)).toEqual(["a"]);
    expect((await second.similaritySearch("laptops", 5)).map((d) => d.id)).toEqual(["b"]);
    await drop(first);
    await drop(second);
  });

  it("answers from the promoted replica after its master is killed, with what was acknowledged", async () => {
    const store = open();
    const docs = Array.from(
      { length: 20 },
      (_, i) => new Document({ pageContent: `delivery ${i} of laptops` }),
    );
    await store.addDocuments(docs, { ids: docs.map((_, i) => `d${i}`) });
    const master = await masterOf(cluster, store.indexName);
    const replica = await replicated(cluster, master);
    master.process.kill("SIGKILL");
    await until(
      async () => {
        const hits = await store.similaritySearch("delivery 7 of laptops", 3);
        return hits[0]?.id === "d7";
      },
      "serve the index from the promoted replica",
      30_000,
    );
    expect(await roleOf(replica.port)).toBe("master");
    expect((await store.getByIds(docs.map((_, i) => `d${i}`))).length).toBe(20);
    await drop(store);
  }, 60_000);
});

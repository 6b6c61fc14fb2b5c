// Counsel's Redis stores on a Redis Cluster of six real Redis 8 processes on loopback (three masters, a replica
// each: test/helpers/redis-cluster.ts), through Counsel's own cluster client and its watchdog: the vector-store,
// record-manager and document-status contracts, the shared caches spread over the masters, and a master killed
// under the stores: its replica is promoted, the client learns the new slot map by itself, and what was
// acknowledged is there.
import { randomUUID } from "node:crypto";
import { Document } from "@langchain/core/documents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isRedisUnavailable } from "../../src/errors.ts";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { RedisByteStore } from "../../src/store/redis-byte-store.ts";
import { connectRedis, masterClients, scanKeys } from "../../src/store/redis-client.ts";
import { openReplaceableCluster, type ReplaceableCluster } from "../../src/store/redis-cluster.ts";
import { watchCluster } from "../../src/store/redis-cluster-watchdog.ts";
import { RedisDocumentStatusStore } from "../../src/store/redis-document-status-store.ts";
import { RedisLexicalIndex } from "../../src/store/redis-lexical-index.ts";
import { RedisRecordManager } from "../../src/store/redis-record-manager.ts";
import { RedisVectorSetStore } from "../../src/store/redis-vector-sets.ts";
import type { RedisWatchdog } from "../../src/store/redis-watchdog.ts";
import {
  command,
  masterOf,
  type RedisCluster,
  replicated,
  roleOf,
  startRedisCluster,
  until,
} from "../helpers/redis-cluster.ts";
import { describeDocumentStatusStoreContract } from "./document-status-store.contract.ts";
import { describeRecordManagerContract } from "./record-manager.contract.ts";
import { describeVectorStoreContract, type StoreUnderTest } from "./vector-store.contract.ts";

let cluster: RedisCluster;
let redis: ReplaceableCluster;
let watchdog: RedisWatchdog;
const health: string[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
  const [first, ...others] = cluster.rootNodes.map((n) => n.url);
  redis = await openReplaceableCluster(
    first as string,
    others.map((url) => new URL(url).host),
    () => undefined,
  );
  await connectRedis(redis.client, first as string);
  watchdog = watchCluster(redis, {
    intervalMs: 100,
    timeoutMs: 300,
    tls: false,
    onDown: (reason) => health.push(`down: ${reason}`),
    onUp: () => health.push("up"),
  });
}, 120_000);

afterAll(async () => {
  watchdog?.stop();
  await redis?.close();
  await cluster?.stop();
});

/** A tenant-like prefix: its braces a hash tag, as Counsel's keys carry (redis-key-layout.ts). */
const tagged = () => `test:{${randomUUID().slice(0, 8)}}`;

async function dropKeys(prefix: string) {
  for await (const key of scanKeys(redis.client, `${prefix}*`)) await redis.client.del(key);
}

describeVectorStoreContract("RedisVectorSetStore on a Redis Cluster", {
  create: async (embeddings) => {
    const key = `${tagged()}:vectors`;
    return new RedisVectorSetStore(embeddings, {
      client: redis.client,
      key,
      lexical: new RedisLexicalIndex({ client: redis.client, prefix: `${key}:lexical` }),
    }) as unknown as StoreUnderTest;
  },
  destroy: async (store) => dropKeys((store as unknown as { key: string }).key),
});

describeRecordManagerContract("RedisRecordManager on a Redis Cluster", {
  create: async () => new RedisRecordManager({ client: redis.client, namespace: tagged() }),
  destroy: async (rm) => dropKeys((rm as RedisRecordManager).namespace),
});

describeDocumentStatusStoreContract("RedisDocumentStatusStore on a Redis Cluster", {
  create: async () => new RedisDocumentStatusStore({ client: redis.client, prefix: `${tagged()}:status` }),
  destroy: async (store) => dropKeys((store as RedisDocumentStatusStore).prefix),
});

describe("the embedding cache on a Redis Cluster", () => {
  it("spreads its keys over every master, and reads, lists and deletes them across slots", async () => {
    const store = new RedisByteStore({ client: redis.client, prefix: "test:embeddings" });
    const pairs = Array.from(
      { length: 60 },
      (_, i) => [`key-${i}`, new Uint8Array([i, 255 - i])] as [string, Uint8Array],
    );
    await store.mset(pairs);
    const onEach = await Promise.all(
      cluster.nodes.slice(0, 3).map(async (n) => {
        const keys = await command<string[]>(n.port, ["KEYS", "test:embeddings:*"]);
        return keys.length;
      }),
    );
    for (const count of onEach) expect(count).toBeGreaterThan(5);
    expect(onEach.reduce((a, b) => a + b)).toBe(60);

    const values = await store.mget(pairs.map(([key]) => key).concat("missing"));
    expect(values.slice(0, 60).map((v) => [...(v as Uint8Array)])).toEqual(pairs.map(([, v]) => [...v]));
    expect(values[60]).toBeUndefined();
    const listed: string[] = [];
    for await (const key of store.yieldKeys("key-")) listed.push(key);
    expect(listed.sort()).toEqual(pairs.map(([key]) => key).sort());
    await store.mdelete(pairs.map(([key]) => key));
    expect((await store.mget(["key-1", "key-59"])).every((v) => v === undefined)).toBe(true);
  });
});

describe("a master killed under Counsel's cluster client", () => {
  it("fails its slots' commands at once, learns the promoted replica by itself, and keeps what was acknowledged", async () => {
    const embeddings = new LocalHashEmbeddings({ dimensions: 64 });
    const ns = tagged();
    const records = new RedisRecordManager({ client: redis.client, namespace: ns });
    const vectors = new RedisVectorSetStore(embeddings, {
      client: redis.client,
      key: `${ns}:vectors`,
      lexical: new RedisLexicalIndex({ client: redis.client, prefix: `${ns}:lexical` }),
    });
    const memo = new Document({
      pageContent: "There were 20,000 bottles of water, 10,000 blankets, and 200 laptops delivered.",
      metadata: { source: "memo.pdf" },
    });
    await vectors.addDocuments([memo], { ids: ["memo-1"] });
    await records.update(["memo-1"], { groupIds: ["memo.pdf"] });

    const master = await masterOf(cluster, `${ns}:vectors`);
    const replica = await replicated(cluster, master);
    // A key on another master, to show that the rest of the cluster is served meanwhile.
    let elsewhere = tagged();
    while ((await masterOf(cluster, elsewhere)).port === master.port) elsewhere = tagged();

    master.process.kill("SIGKILL");
    const started = performance.now();
    const during = await vectors.similaritySearch("laptops", 1).then(
      () => "answered",
      (error: unknown) => error,
    );
    expect(isRedisUnavailable(during), String(during)).toBe(true);
    expect(performance.now() - started).toBeLessThan(1_000);
    await until(async () => !watchdog.health().up, "mark Redis down", 2_000);
    expect(watchdog.health().reason).toMatch(new RegExp(`master 127.0.0.1:${master.port}`));

    // The replica takes over (cluster-node-timeout 2 s); the watchdog sees the new slot map and reconnects.
    await until(async () => (await roleOf(replica.port)) === "master", "promote the replica");
    await until(async () => watchdog.health().up, "come back up", 30_000);
    expect(masterClients(redis.client).length).toBe(3);

    // The same store objects, on the promoted replica: everything acknowledged before the kill is there.
    const [hit] = await vectors.similaritySearch("How many laptops were delivered?", 1);
    expect(hit?.pageContent).toContain("200 laptops");
    expect(await records.listKeys({ groupIds: ["memo.pdf"] })).toEqual(["memo-1"]);
    await vectors.addDocuments([new Document({ pageContent: "Three trucks were used." })], {
      ids: ["memo-2"],
    });
    expect(await vectors.countChunks()).toBe(2);
    await redis.client.set(`${elsewhere}:after`, "ok");
    expect(health).toEqual([expect.stringMatching(/^down: /), "up"]);
  }, 60_000);
});

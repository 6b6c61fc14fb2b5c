// The record-manager contract over every backend (the file-backed one, and Redis on the real Redis 8 the test run
// starts), then what only Redis promises: processes sharing records and one clock, namespaces kept apart,
// updates that never leave a key half-moved.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { FileRecordManager } from "../../src/store/file-record-manager.ts";
import type { RedisNode } from "../../src/store/redis-client.ts";
import { RedisRecordManager } from "../../src/store/redis-record-manager.ts";
import { useRedisClients } from "../helpers/redis.ts";
import { describeRecordManagerContract } from "./record-manager.contract.ts";

const uniqueNamespace = () => `test:rm:${randomUUID().slice(0, 8)}`;

describeRecordManagerContract("FileRecordManager", {
  create: async () => new FileRecordManager({ namespace: uniqueNamespace() }),
});

const redis = useRedisClients();
let client: RedisNode;
let other: RedisNode;
beforeAll(() => {
  ({ client, other } = redis);
});

async function dropNamespace(namespace: string) {
  for await (const key of client.scanIterator({ MATCH: `${namespace}:*`, COUNT: 500 })) await client.del(key);
}

describeRecordManagerContract("RedisRecordManager", {
  create: async () => new RedisRecordManager({ client, namespace: uniqueNamespace() }),
  destroy: async (rm) => dropNamespace((rm as RedisRecordManager).namespace),
});

describe("RedisRecordManager specifics", () => {
  it("keeps its records under <namespace>:records: in sorted sets, hashes and a set per group", async () => {
    const namespace = uniqueNamespace();
    const rm = new RedisRecordManager({ client, namespace });
    await rm.update(["k1", "k2"], { groupIds: ["doc", null], documents: { doc: { name: "doc.md" } } });
    const keys: string[] = [];
    for await (const key of client.scanIterator({ MATCH: `${namespace}:*` })) keys.push(key);
    expect(keys.sort()).toEqual(
      ["clock", "doc:doc", "docs", "g:doc", "group", "groups", "time"]
        .map((k) => `${namespace}:records:${k}`)
        .sort(),
    );
    expect(await client.zCard(`${namespace}:records:time`)).toBe(2);
    expect(await client.hGetAll(`${namespace}:records:group`)).toEqual({ k1: "doc" });
    expect(await client.sMembers(`${namespace}:records:g:doc`)).toEqual(["k1"]);
    expect(await client.zRangeWithScores(`${namespace}:records:docs`, 0, -1)).toEqual([
      { value: "doc", score: 0 },
    ]);
    const record = await client.hGetAll(`${namespace}:records:doc:doc`);
    expect(JSON.parse(record.info)).toEqual({ name: "doc.md" });
    expect(Number(record.updated)).toBe(Number(await client.zScore(`${namespace}:records:time`, "k1")));
    await rm.deleteKeys(["k1"]);
    expect(await client.exists([`${namespace}:records:docs`, `${namespace}:records:doc:doc`])).toBe(0);
    await dropNamespace(namespace);
  });

  it("shares records between two clients on one namespace, and one strictly increasing clock", async () => {
    const namespace = uniqueNamespace();
    const a = new RedisRecordManager({ client, namespace });
    const b = new RedisRecordManager({ client: other, namespace });
    await a.update(["from-a"], { groupIds: ["doc-a"] });
    await b.update(["from-b"], { groupIds: ["doc-b"] });
    expect(await b.exists(["from-a", "from-b"])).toEqual([true, true]);
    expect((await a.listGroupIds()).sort()).toEqual(["doc-a", "doc-b"]);
    await b.deleteKeys(["from-a"]);
    expect(await a.exists(["from-a"])).toEqual([false]);

    const times = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).getTime()));
    expect(new Set(times).size).toBe(times.length);
    // Whoever asks later gets a later time, whichever process it is.
    const first = await a.getTime();
    const second = await b.getTime();
    expect(second).toBeGreaterThan(first);
    await dropNamespace(namespace);
  });

  it("keeps namespaces apart", async () => {
    const [ns1, ns2] = [uniqueNamespace(), uniqueNamespace()];
    const tenant1 = new RedisRecordManager({ client, namespace: ns1 });
    const tenant2 = new RedisRecordManager({ client, namespace: ns2 });
    await tenant1.update(["shared-key"], { groupIds: ["doc"] });
    expect(await tenant2.exists(["shared-key"])).toEqual([false]);
    expect(await tenant2.listKeys()).toEqual([]);
    expect(await tenant2.listKeys({ groupIds: ["doc"] })).toEqual([]);
    expect(await tenant2.listGroupIds()).toEqual([]);
    await tenant2.deleteKeys(["shared-key"]);
    expect(await tenant1.exists(["shared-key"])).toEqual([true]);
    await Promise.all([dropNamespace(ns1), dropNamespace(ns2)]);
  });

  it("keeps time moving forward when the server's clock falls behind the last time handed out", async () => {
    const namespace = uniqueNamespace();
    const rm = new RedisRecordManager({ client, namespace });
    // As if another process had handed out a time an hour ahead (a server whose clock has since stepped back).
    const aheadUs = (Date.now() + 3_600_000) * 1000;
    await client.set(`${namespace}:records:clock`, String(aheadUs));
    const t1 = await rm.getTime();
    const t2 = await rm.getTime();
    expect(t1).toBe((aheadUs + 1) / 1000);
    expect(t2).toBeGreaterThan(t1);
    await rm.update(["k"]);
    expect(await rm.listKeys({ after: t2 })).toEqual(["k"]);
    await dropNamespace(namespace);
  });

  it("finds a key at exactly the time it was written (scores keep full precision)", async () => {
    const namespace = uniqueNamespace();
    const rm = new RedisRecordManager({ client, namespace });
    const before = await rm.getTime();
    await rm.update(["k"]);
    const after = await rm.getTime();
    const score = Number(await client.zScore(`${namespace}:records:time`, "k"));
    expect(score).toBeGreaterThan(before);
    expect(score).toBeLessThan(after);
    expect(await rm.listKeys({ after: score })).toEqual([]);
    expect(await rm.listKeys({ before: score })).toEqual([]);
    expect(await rm.listKeys({ after: before, before: after })).toEqual(["k"]);
    await dropNamespace(namespace);
  });

  it("leaves every key in exactly its group's set when two processes move keys concurrently", async () => {
    const namespace = uniqueNamespace();
    const managers = [client, other].map((c) => new RedisRecordManager({ client: c, namespace }));
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    await Promise.all(
      Array.from({ length: 60 }, (_, round) => {
        const rm = managers[round % 2];
        const group = `g${round % 3}`;
        const some = keys.filter((_, i) => (i + round) % 3 === 0);
        return round % 7 === 6 ? rm.deleteKeys(some) : rm.update(some, { groupIds: some.map(() => group) });
      }),
    );
    const owner = await client.hGetAll(`${namespace}:records:group`);
    const groups = await client.sMembers(`${namespace}:records:groups`);
    const members = new Map<string, string[]>();
    for (const group of groups) members.set(group, await client.sMembers(`${namespace}:records:g:${group}`));
    for (const [group, list] of members) {
      expect(list.length).toBeGreaterThan(0);
      for (const key of list) expect(owner[key]).toBe(group);
    }
    for (const [key, group] of Object.entries(owner)) expect(members.get(group)).toContain(key);
    expect((await managers[0].listKeys()).sort()).toEqual(Object.keys(owner).sort());
    // The documents index and records moved with the keys, in the same scripts.
    expect((await client.zRange(`${namespace}:records:docs`, 0, -1)).sort()).toEqual(groups.sort());
    const documents = await managers[1].listDocuments({ limit: 10 });
    expect(documents.map((d) => [d.source, d.chunks])).toEqual(
      [...members].map(([group, list]) => [group, list.length]).sort(),
    );
    for (const group of groups) expect(await client.exists(`${namespace}:records:doc:${group}`)).toBe(1);
    await dropNamespace(namespace);
  });

  it("keeps working after the server has forgotten its scripts", async () => {
    const namespace = uniqueNamespace();
    const rm = new RedisRecordManager({ client, namespace });
    await rm.update(["k1", "k2"], { groupIds: ["doc", "doc"] });
    await client.scriptFlush();
    const time = await rm.getTime();
    await rm.update(["k3"], { groupIds: ["doc"] });
    expect(await rm.listKeys({ groupIds: ["doc"], after: time })).toEqual(["k3"]);
    await client.scriptFlush();
    await rm.deleteKeys(["k1", "k2", "k3"]);
    expect(await rm.listGroupIds()).toEqual([]);
    await dropNamespace(namespace);
  });

  it("lists documents indexed before the documents index and records existed, and backfills them", async () => {
    const namespace = uniqueNamespace();
    const rm = new RedisRecordManager({ client, namespace });
    await rm.update(["a1", "a2", "b1"], { groupIds: ["a", "a", "b"] });
    // The layout an older Counsel left: keys, groups and their sets, no `docs` index and no `doc:` records.
    await client.del([
      `${namespace}:records:docs`,
      `${namespace}:records:doc:a`,
      `${namespace}:records:doc:b`,
    ]);
    const lastSeen = Number(await client.zScore(`${namespace}:records:time`, "b1"));

    const listed = await rm.listDocuments({ limit: 10 });
    expect(listed).toEqual([
      { source: "a", chunks: 2, updatedAt: expect.any(Number) },
      { source: "b", chunks: 1, updatedAt: lastSeen },
    ]);
    expect(await rm.documentsWithoutInfo()).toEqual(["a", "b"]);
    await rm.backfillInfo("b", { name: "b.txt" });
    expect((await rm.getDocument("b"))?.record).toEqual({
      source: "b",
      chunks: 1,
      updatedAt: lastSeen,
      info: { name: "b.txt" },
    });
    // Once rebuilt, the index follows every change again.
    await rm.deleteKeys(["b1"]);
    expect((await rm.listDocuments({ limit: 10 })).map((d) => d.source)).toEqual(["a"]);
    // A group added behind its back (an older Counsel still writing) is picked up on the next listing.
    await client.sAdd(`${namespace}:records:groups`, "c");
    await client.sAdd(`${namespace}:records:g:c`, "c1");
    expect((await rm.listDocuments({ limit: 10 })).map((d) => d.source)).toEqual(["a", "c"]);
    await dropNamespace(namespace);
  });

  it("answers a large update and listing in bounded script calls", async () => {
    const namespace = uniqueNamespace();
    const rm = new RedisRecordManager({ client, namespace });
    const keys = Array.from({ length: 2_500 }, (_, i) => `chunk-${i}`);
    await rm.update(keys, { groupIds: keys.map((_, i) => `doc-${i % 1_250}`) });
    expect(await rm.listKeys({ groupIds: ["doc-3"] })).toHaveLength(2);
    expect(await rm.listKeys({ limit: 1_000 })).toHaveLength(1_000);
    expect(new Set(await rm.documentsWithoutInfo()).size).toBe(1_250);
    await rm.deleteKeys(keys);
    expect(await rm.listGroupIds()).toEqual([]);
    await dropNamespace(namespace);
  });
});

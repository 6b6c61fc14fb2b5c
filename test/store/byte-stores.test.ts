// One byte-store contract (BaseStore<string, Uint8Array>, what CacheBackedEmbeddings.fromBytesStore needs) over
// LangChain's InMemoryStore, our RedisByteStore on the real Redis 8 and SealedByteStore (values sealed at rest);
// then what only Redis adds: the TTL.
import { randomBytes, randomUUID } from "node:crypto";
import type { BaseStore } from "@langchain/core/stores";
import { InMemoryStore } from "@langchain/core/stores";
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { SealedByteStore } from "../../src/store/at-rest/sealed-byte-store.ts";
import { sealedFiles } from "../../src/store/at-rest/sealed-files.ts";
import { RedisByteStore } from "../../src/store/redis-byte-store.ts";
import type { RedisNode } from "../../src/store/redis-client.ts";

let client: RedisNode;
beforeAll(async () => {
  client = createClient({ url: inject("redisUrl") });
  await client.connect();
});
afterAll(async () => client?.quit());

const uniquePrefix = () => `test:bytes:${randomUUID().slice(0, 8)}`;

async function dropPrefix(prefix: string) {
  for await (const key of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) await client.del(key);
}

const bytes = (...values: number[]) => new Uint8Array(values);

const backends: [string, () => { store: BaseStore<string, Uint8Array>; destroy(): Promise<void> }][] = [
  ["InMemoryStore", () => ({ store: new InMemoryStore<Uint8Array>(), destroy: async () => undefined })],
  [
    "RedisByteStore",
    () => {
      const prefix = uniquePrefix();
      return { store: new RedisByteStore({ client, prefix }), destroy: () => dropPrefix(prefix) };
    },
  ],
  [
    "SealedByteStore",
    () => ({
      store: new SealedByteStore({
        inner: new InMemoryStore<Uint8Array>(),
        files: sealedFiles(randomBytes(32)),
      }),
      destroy: async () => undefined,
    }),
  ],
];

describe.each(backends)("%s (byte store contract)", (_name, open) => {
  let store: BaseStore<string, Uint8Array>;
  let destroy: () => Promise<void>;
  beforeEach(() => {
    ({ store, destroy } = open());
  });
  afterEach(async () => destroy());

  it("returns stored bytes unchanged, and undefined for missing keys, in the order asked", async () => {
    // Not valid UTF-8 (0xff, a lone continuation byte) and a NUL: bytes must not pass through a string decode.
    const odd = bytes(0, 255, 128, 10, 13, 0);
    const json = new TextEncoder().encode(JSON.stringify([0.25, -1.5e-7]));
    await store.mset([
      ["odd", odd],
      ["json", json],
    ]);
    const [a, missing, b] = await store.mget(["odd", "missing", "json"]);
    expect(missing).toBeUndefined();
    expect(Buffer.from(a as Uint8Array).equals(Buffer.from(odd))).toBe(true);
    expect(JSON.parse(new TextDecoder().decode(b))).toEqual([0.25, -1.5e-7]);
    expect(await store.mget([])).toEqual([]);
  });

  it("stores a view of a larger buffer as just its own bytes", async () => {
    const whole = bytes(1, 2, 3, 4, 5, 6);
    await store.mset([["view", whole.subarray(2, 4)]]);
    const [value] = await store.mget(["view"]);
    expect([...(value as Uint8Array)]).toEqual([3, 4]);
  });

  it("overwrites and deletes", async () => {
    await store.mset([["k", bytes(1)]]);
    await store.mset([["k", bytes(2)]]);
    expect([...((await store.mget(["k"]))[0] as Uint8Array)]).toEqual([2]);
    await store.mdelete(["k", "never-there"]);
    expect(await store.mget(["k"])).toEqual([undefined]);
    await store.mdelete([]);
    await store.mset([]);
  });

  it("yields its keys, all or by prefix, taking glob characters literally", async () => {
    await store.mset(
      ["model-a:1", "model-a:2", "model-b:1", "star*:1", "starry:1"].map(
        (k) => [k, bytes(1)] as [string, Uint8Array],
      ),
    );
    const keys = async (prefix?: string) => {
      const out: string[] = [];
      for await (const key of store.yieldKeys(prefix)) out.push(key);
      return out.sort();
    };
    expect(await keys()).toEqual(["model-a:1", "model-a:2", "model-b:1", "star*:1", "starry:1"]);
    expect(await keys("model-a:")).toEqual(["model-a:1", "model-a:2"]);
    expect(await keys("star*")).toEqual(["star*:1"]);
    expect(await keys("nothing")).toEqual([]);
  });
});

describe("RedisByteStore specifics", () => {
  it("keeps values under <prefix>:<key>, expiring after ttlSeconds when given", async () => {
    const prefix = uniquePrefix();
    const lasting = new RedisByteStore({ client, prefix: `${prefix}:lasting` });
    const expiring = new RedisByteStore({ client, prefix: `${prefix}:expiring`, ttlSeconds: 60 });
    await lasting.mset([["k", bytes(1)]]);
    await expiring.mset([
      ["k", bytes(2)],
      ["j", bytes(3)],
    ]);
    expect(await client.ttl(`${prefix}:lasting:k`)).toBe(-1);
    const ttl = await client.ttl(`${prefix}:expiring:k`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
    expect(await client.ttl(`${prefix}:expiring:j`)).toBeGreaterThan(0);
    await dropPrefix(prefix);
  });

  it("refuses a TTL Redis cannot keep", () => {
    expect(() => new RedisByteStore({ client, prefix: "x", ttlSeconds: 0.5 })).toThrow(RangeError);
  });
});

// The LLM response cache on the real Redis 8 and in memory. FakeListChatModel answers its responses in turn, so
// a repeated answer to a repeated prompt can only have come from the cache.
import { randomUUID } from "node:crypto";
import type { BaseCache } from "@langchain/core/caches";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { llmCache } from "../../src/store/llm-cache.ts";
import type { RedisNode } from "../../src/store/redis-client.ts";
import { redisLlmCache } from "../../src/store/redis-llm-cache.ts";

let client: RedisNode;
beforeAll(async () => {
  client = createClient({ url: inject("redisUrl") });
  await client.connect();
});
afterAll(async () => client?.quit());

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) keys.push(key);
  return keys;
}

const model = (cache: BaseCache) =>
  new FakeListChatModel({ responses: ["200 laptops [1]", "a different answer"], cache });

describe.each<[string, () => { prefix: string; cache: BaseCache }]>([
  [
    "in Redis",
    () => {
      const prefix = `test:llm:${randomUUID().slice(0, 8)}`;
      return { prefix, cache: redisLlmCache({ client, prefix }) };
    },
  ],
  ["in memory", () => ({ prefix: "llm", cache: llmCache({ prefix: "llm" }) })],
])("llmCache %s", (name, options) => {
  it("answers a repeated prompt from the cache, and a new prompt from the model", async () => {
    const opts = options();
    const chat = model(opts.cache);
    expect((await chat.invoke("How many laptops were shipped?")).content).toBe("200 laptops [1]");
    expect((await chat.invoke("How many laptops were shipped?")).content).toBe("200 laptops [1]");
    expect((await chat.invoke("How many trucks were used?")).content).toBe("a different answer");
    if (name === "in Redis") {
      const keys = await keysUnder(opts.prefix);
      expect(keys).toHaveLength(2);
      for (const key of keys) expect(key).toMatch(new RegExp(`^${opts.prefix}:[0-9a-f]{64}$`));
      await client.del(keys);
    }
  });
});

describe("llmCache in Redis", () => {
  it("is shared by processes (another cache object on the same prefix answers)", async () => {
    const prefix = `test:llm:${randomUUID().slice(0, 8)}`;
    await model(redisLlmCache({ client, prefix })).invoke("How many laptops were shipped?");
    const otherProcess = model(redisLlmCache({ client, prefix }));
    otherProcess.i = 1; // would answer "a different answer" if it asked the model
    expect((await otherProcess.invoke("How many laptops were shipped?")).content).toBe("200 laptops [1]");
    await client.del(await keysUnder(prefix));
  });

  it("expires entries after ttlSeconds when given, and keeps them otherwise", async () => {
    const prefix = `test:llm:${randomUUID().slice(0, 8)}`;
    await model(redisLlmCache({ client, prefix: `${prefix}:ttl`, ttlSeconds: 120 })).invoke("hello");
    await model(redisLlmCache({ client, prefix: `${prefix}:forever` })).invoke("hello");
    const [expiring] = await keysUnder(`${prefix}:ttl`);
    const [lasting] = await keysUnder(`${prefix}:forever`);
    const ttl = await client.ttl(expiring);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(120);
    expect(await client.ttl(lasting)).toBe(-1);
    await client.del([expiring, lasting]);
  });
});

describe("llmCache in memory", () => {
  it("forgets entries older than ttlSeconds", async () => {
    const cache = llmCache({ prefix: "llm", ttlSeconds: 1 });
    await cache.update("prompt", "model", [{ text: "cached" }]);
    expect(await cache.lookup("prompt", "model")).toEqual([{ text: "cached" }]);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(await cache.lookup("prompt", "model")).toBeNull();
  });
});

// The model-response cache in Redis, shared by every process. @langchain/redis's RedisCache takes only a client:
// its keys are bare hashes and its values never expire, so a subclass adds the prefix (through BaseCache's key
// encoder) and the TTL (writing with SET EX). Apart from llm-cache.ts so that only the Redis stores load it.
import { type BaseCache, defaultHashKeyEncoder, serializeGeneration } from "@langchain/core/caches";
import type { Generation } from "@langchain/core/outputs";
import { RedisCache } from "@langchain/redis";
import type { CacheMeter } from "../models/cache-meter.ts";
import { assertCacheTtl, type LlmCacheOptions, metered } from "./llm-cache.ts";
import type { RedisClient } from "./redis-client.ts";

export interface RedisLlmCacheOptions extends Omit<LlmCacheOptions, "maxMemoryEntries"> {
  /** Cache in Redis on this client. */
  client: RedisClient;
}

export function redisLlmCache(options: RedisLlmCacheOptions): BaseCache {
  const { client, prefix, ttlSeconds, meter } = options;
  assertCacheTtl(ttlSeconds);
  return new PrefixedRedisCache(client, prefix, ttlSeconds, meter);
}

class PrefixedRedisCache extends RedisCache {
  constructor(
    private readonly client: RedisClient,
    prefix: string,
    private readonly ttlSeconds?: number,
    private readonly meter?: CacheMeter,
  ) {
    super(client);
    // RedisCache builds every key as keyEncoder(prompt, llmKey, index), in lookup and update alike.
    this.makeDefaultKeyEncoder((...parts: string[]) => `${prefix}:${defaultHashKeyEncoder(...parts)}`);
  }

  override async lookup(prompt: string, llmKey: string): Promise<Generation[] | null> {
    return metered(this.meter, await super.lookup(prompt, llmKey));
  }

  /** As RedisCache.update, plus the expiry, with all generations of one response in one transaction. */
  override async update(prompt: string, llmKey: string, value: Generation[]): Promise<void> {
    const multi = this.client.multi();
    value.forEach((generation, i) => {
      const key = this.keyEncoder(prompt, llmKey, String(i));
      const json = JSON.stringify(serializeGeneration(generation));
      if (this.ttlSeconds === undefined) multi.set(key, json);
      else multi.set(key, json, { EX: this.ttlSeconds });
    });
    await multi.exec();
  }
}

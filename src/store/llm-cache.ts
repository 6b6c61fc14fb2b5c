// The model-response cache, switched on per chain: in Redis (shared by every process) when a client is given,
// else in this process's memory, bounded. @langchain/redis's RedisCache takes only a client: its keys are bare
// hashes and its values never expire, so a subclass adds the prefix (through BaseCache's key encoder) and the
// TTL (writing with SET EX). Both count their lookups as hits and misses when given a meter.
import {
  type BaseCache,
  defaultHashKeyEncoder,
  InMemoryCache,
  serializeGeneration,
} from "@langchain/core/caches";
import type { Generation } from "@langchain/core/outputs";
import { RedisCache } from "@langchain/redis";
import type { CacheMeter } from "../models/cache-meter.ts";
import { LruMap } from "./lru-map.ts";
import type { RedisClient } from "./redis-client.ts";

export interface LlmCacheOptions {
  /** Cache in Redis on this client; in this process's memory when absent. */
  client?: RedisClient;
  /** Every Redis key is `<prefix>:<sha256 of prompt, model key and generation index>`. */
  prefix: string;
  /** How long a cached response is kept; for ever (Redis) or until evicted (memory) when absent. */
  ttlSeconds?: number;
  /** Responses kept in memory at most, least recently used out first. Default 1000. */
  maxMemoryEntries?: number;
  /** Counts every lookup as an "llm" hit (a cached response) or miss. */
  meter?: CacheMeter;
}

export const DEFAULT_MAX_MEMORY_ENTRIES = 1000;

export function llmCache(options: LlmCacheOptions): BaseCache {
  const { client, prefix, ttlSeconds, meter } = options;
  if (ttlSeconds !== undefined && !(Number.isInteger(ttlSeconds) && ttlSeconds > 0)) {
    throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`);
  }
  if (client) return new PrefixedRedisCache(client, prefix, ttlSeconds, meter);
  return new MeteredInMemoryCache(
    new LruMap<string, Generation[]>({
      maxSize: options.maxMemoryEntries ?? DEFAULT_MAX_MEMORY_ENTRIES,
      maxAgeMs: ttlSeconds === undefined ? undefined : ttlSeconds * 1000,
    }),
    meter,
  );
}

/** Counts a lookup's outcome: LangChain looks a prompt up once per call, and gets null when nothing is cached. */
function metered(meter: CacheMeter | undefined, value: Generation[] | null | undefined) {
  meter?.record("llm", value == null ? "miss" : "hit");
  return value ?? null;
}

class MeteredInMemoryCache extends InMemoryCache<Generation[]> {
  constructor(
    map: Map<string, Generation[]>,
    private readonly meter?: CacheMeter,
  ) {
    super(map);
  }

  override async lookup(prompt: string, llmKey: string): Promise<Generation[] | null> {
    return metered(this.meter, await super.lookup(prompt, llmKey));
  }
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

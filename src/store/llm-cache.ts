// The model-response cache, switched on per chain, in this process's memory, bounded; the one in Redis (shared by
// every process) is redis-llm-cache.ts, apart so that only the Redis stores load @langchain/redis. Both count
// their lookups as hits and misses when given a meter.
import { type BaseCache, InMemoryCache } from "@langchain/core/caches";
import type { Generation } from "@langchain/core/outputs";
import type { CacheMeter } from "../models/cache-meter.ts";
import { LruMap } from "./lru-map.ts";

export interface LlmCacheOptions {
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

/** Throws a RangeError unless `ttlSeconds` is absent or a positive integer (both caches check it). */
export function assertCacheTtl(ttlSeconds: number | undefined): void {
  if (ttlSeconds !== undefined && !(Number.isInteger(ttlSeconds) && ttlSeconds > 0)) {
    throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`);
  }
}

/** Responses in this process's memory; redisLlmCache (redis-llm-cache.ts) keeps them in Redis. */
export function llmCache(options: LlmCacheOptions): BaseCache {
  const { ttlSeconds, meter } = options;
  assertCacheTtl(ttlSeconds);
  return new MeteredInMemoryCache(
    new LruMap<string, Generation[]>({
      maxSize: options.maxMemoryEntries ?? DEFAULT_MAX_MEMORY_ENTRIES,
      maxAgeMs: ttlSeconds === undefined ? undefined : ttlSeconds * 1000,
    }),
    meter,
  );
}

/** Counts a lookup's outcome: LangChain looks a prompt up once per call, and gets null when nothing is cached. */
export function metered(meter: CacheMeter | undefined, value: Generation[] | null | undefined) {
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

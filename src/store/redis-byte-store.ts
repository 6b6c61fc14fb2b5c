// A LangChain byte store (BaseStore<string, Uint8Array>) in Redis, on the process's one node-redis client; the
// embedding cache keeps its vectors here. Written by hand because @langchain/redis has no byte store and the
// community one (RedisByteStore in @langchain/community/storage/ioredis) needs an ioredis client.
import { BaseStore } from "@langchain/core/stores";
import { commandOptions } from "redis";
import type { RedisClient } from "./redis-client.ts";

export interface RedisByteStoreOptions {
  client: RedisClient;
  /** Every key is `<prefix>:<key>`. */
  prefix: string;
  /** Expire each value this long after it was written; kept forever when absent. */
  ttlSeconds?: number;
}

export class RedisByteStore extends BaseStore<string, Uint8Array> {
  lc_namespace = ["counsel", "store", "redis_byte_store"];

  readonly prefix: string;
  private readonly client: RedisClient;
  private readonly ttlSeconds?: number;

  constructor(options: RedisByteStoreOptions) {
    super();
    if (
      options.ttlSeconds !== undefined &&
      !(Number.isInteger(options.ttlSeconds) && options.ttlSeconds > 0)
    ) {
      throw new RangeError(`ttlSeconds must be a positive integer, got ${options.ttlSeconds}`);
    }
    this.client = options.client;
    this.prefix = options.prefix;
    this.ttlSeconds = options.ttlSeconds;
  }

  async mget(keys: string[]): Promise<(Uint8Array | undefined)[]> {
    if (keys.length === 0) return [];
    // Buffers, not strings: the values are arbitrary bytes, which a UTF-8 decode would mangle.
    const values = await this.client.mGet(
      commandOptions({ returnBuffers: true }),
      keys.map((key) => this.redisKey(key)),
    );
    return values.map((value) => value ?? undefined);
  }

  async mset(keyValuePairs: [string, Uint8Array][]): Promise<void> {
    if (keyValuePairs.length === 0) return;
    // MSET has no expiry, so SET each in one transaction: all values of a call land together.
    const multi = this.client.multi();
    for (const [key, value] of keyValuePairs) {
      const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      if (this.ttlSeconds) multi.set(this.redisKey(key), bytes, { EX: this.ttlSeconds });
      else multi.set(this.redisKey(key), bytes);
    }
    await multi.exec();
  }

  async mdelete(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.client.del(keys.map((key) => this.redisKey(key)));
  }

  /**
   * Keys (without the store's prefix) that start with `prefix`, found with SCAN so that the server never blocks.
   * As SCAN guarantees, a key may come twice if the keyspace is resized meanwhile: remembering every key to
   * drop repeats would cost memory in proportion to the whole cache.
   */
  async *yieldKeys(prefix = ""): AsyncGenerator<string> {
    const match = `${escapeGlob(`${this.prefix}:${prefix}`)}*`;
    const strip = this.prefix.length + 1;
    for await (const key of this.client.scanIterator({ MATCH: match, COUNT: 1_000 })) yield key.slice(strip);
  }

  private redisKey(key: string): string {
    return `${this.prefix}:${key}`;
  }
}

/** Escapes SCAN MATCH glob characters so that a prefix matches only itself. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

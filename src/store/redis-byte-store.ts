// A LangChain byte store (BaseStore<string, Uint8Array>) in Redis, on the process's one node-redis client; the
// embedding cache keeps its vectors here. Written by hand because @langchain/redis has no byte store and the
// community one (RedisByteStore in @langchain/community/storage/ioredis) needs an ioredis client.
import { BaseStore } from "@langchain/core/stores";
import { commandOptions } from "redis";
import { escapeGlob, type RedisClient, scanKeys } from "./redis-client.ts";

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
    // Buffers, not strings: the values are arbitrary bytes, which a UTF-8 decode would mangle. One GET per key,
    // sent together (node-redis pipelines commands of one tick), rather than MGET: the keys of a shared cache
    // (the embeddings) spread over a cluster's slots, and MGET takes keys of one slot only.
    const options = commandOptions({ returnBuffers: true });
    const values = await Promise.all(keys.map((key) => this.client.get(options, this.redisKey(key))));
    return values.map((value) => value ?? undefined);
  }

  async mset(keyValuePairs: [string, Uint8Array][]): Promise<void> {
    if (keyValuePairs.length === 0) return;
    // One SET per key (MSET has no expiry), sent together; not a transaction, whose keys would have to share a
    // cluster slot. A cache loses nothing by a partial write: a missing value is computed again.
    const ex = this.ttlSeconds ? { EX: this.ttlSeconds } : undefined;
    await Promise.all(
      keyValuePairs.map(([key, value]) =>
        this.client.set(
          this.redisKey(key),
          Buffer.from(value.buffer, value.byteOffset, value.byteLength),
          ex,
        ),
      ),
    );
  }

  async mdelete(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    // One DEL per key: a DEL of many keys takes keys of one cluster slot only.
    await Promise.all(keys.map((key) => this.client.del(this.redisKey(key))));
  }

  /**
   * Keys (without the store's prefix) that start with `prefix`, found with SCAN so that the server never blocks.
   * As SCAN guarantees, a key may come twice if the keyspace is resized meanwhile: remembering every key to
   * drop repeats would cost memory in proportion to the whole cache.
   */
  async *yieldKeys(prefix = ""): AsyncGenerator<string> {
    const match = `${escapeGlob(`${this.prefix}:${prefix}`)}*`;
    const strip = this.prefix.length + 1;
    for await (const key of scanKeys(this.client, match)) yield key.slice(strip);
  }

  private redisKey(key: string): string {
    return `${this.prefix}:${key}`;
  }
}

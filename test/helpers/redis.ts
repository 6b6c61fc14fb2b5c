// Two clients on the test run's real Redis 8, as two service processes would have, for a describe block or a
// file; and a way to remove what a test wrote under its own prefix.
import { createClient } from "redis";
import { afterAll, beforeAll, inject } from "vitest";
import type { RedisNode } from "../../src/store/redis-client.ts";

export function useRedisClients(): { client: RedisNode; other: RedisNode } {
  const clients = {} as { client: RedisNode; other: RedisNode };
  beforeAll(async () => {
    clients.client = createClient({ url: inject("redisUrl") });
    clients.other = createClient({ url: inject("redisUrl") });
    await Promise.all([clients.client.connect(), clients.other.connect()]);
  });
  afterAll(async () => {
    await clients.client?.quit();
    await clients.other?.quit();
  });
  return clients;
}

/** Deletes every key under `prefix:`. */
export async function dropKeys(client: RedisNode, prefix: string): Promise<void> {
  for await (const key of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) await client.del(key);
}

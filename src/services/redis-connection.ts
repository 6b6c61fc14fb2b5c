// The process's Redis connection, as settings name it: one server, or a Redis Cluster (REDIS_CLUSTER=true), each
// with its watchdog. A part of the composition root; the stores only ever see the client.
import type { Settings } from "../config/settings.ts";
import type { Logger } from "../contracts/stores.ts";
import {
  connectRedis,
  createRedisClient,
  detectCapabilities,
  type RedisCapabilities,
  type RedisClient,
  redactUrl,
} from "../store/redis-client.ts";
import { openReplaceableCluster } from "../store/redis-cluster.ts";
import { watchCluster } from "../store/redis-cluster-watchdog.ts";
import { type RedisWatchdog, watchRedis } from "../store/redis-watchdog.ts";

export interface RedisConnection {
  client: RedisClient;
  capabilities: RedisCapabilities;
  watchdog: RedisWatchdog;
  close(): Promise<void>;
}

export async function openRedisConnection(
  redis: NonNullable<Settings["redis"]>,
  log: Logger,
): Promise<RedisConnection> {
  let down = false;
  const onError = (error: Error) => {
    if (!down) log.warn(`Redis unreachable (${error.message}); reconnecting, requests answer 503 meanwhile`);
    down = true;
  };
  const watch = {
    // PINGs a third as often as the deadline, so that a command sent just after a good PING waits at most about
    // the deadline plus a third of it before the watchdog fails it.
    intervalMs: Math.max(50, Math.round(redis.timeoutMs / 3)),
    timeoutMs: redis.timeoutMs,
    onDown: (reason: string) => log.warn(`${reason}; requests answer 503 until it does`),
    onUp: () => {
      down = false;
      log.info("Redis answers again");
    },
  };
  const where = `Redis at ${redactUrl(redis.url)}`;

  if (redis.cluster) {
    const cluster = await openReplaceableCluster(redis.url, redis.clusterNodes, onError);
    try {
      await connectRedis(cluster.client, redis.url);
    } catch (error) {
      throw new Error(
        `${error instanceof Error ? error.message : error}. REDIS_CLUSTER=true needs a server in cluster mode ` +
          "(cluster-enabled yes, or a MemoryDB / ElastiCache cluster-mode endpoint); unset REDIS_CLUSTER for a " +
          "single server.",
      );
    }
    const capabilities = await detectCapabilities(cluster.client);
    const watchdog = watchCluster(cluster, { ...watch, tls: redis.url.startsWith("rediss:") });
    return {
      client: cluster.client,
      capabilities,
      watchdog,
      async close() {
        watchdog.stop();
        await cluster.close();
      },
    };
  }

  const client = createRedisClient({
    url: redis.url,
    onError,
    onReady: () => {
      if (down) log.info("Redis is back");
      down = false;
    },
  });
  await connectRedis(client, redis.url);
  const capabilities = await detectCapabilities(client).catch(async (error: unknown) => {
    await client.disconnect().catch(() => undefined);
    throw error;
  });
  if (capabilities.cluster) {
    await client.disconnect().catch(() => undefined);
    throw new Error(
      `${where} is a node of a Redis Cluster: set REDIS_CLUSTER=true so that each key goes to its slot's master.`,
    );
  }
  const watchdog = watchRedis(client, watch);
  return {
    client,
    capabilities,
    watchdog,
    async close() {
      watchdog.stop();
      if (client.isOpen) await client.quit().catch(() => client.disconnect());
    },
  };
}

// The Redis a benchmark measures: the one at --redis-url, or a private Redis 8 started for the run
// (scripts/redis-server.sh on a free loopback port). close() removes the run's keys and stops a private server.
import { createRedisClient, type RedisNode } from "../src/store/redis-client.ts";
import { freePort, startRedis, stopRedis } from "../test/global-setup.ts";

export async function openBenchRedis(url: string | undefined, prefix: string) {
  let server: Awaited<ReturnType<typeof startRedis>> | undefined;
  if (!url) {
    const port = await freePort();
    server = await startRedis(port);
    url = `redis://127.0.0.1:${port}`;
  }
  const client: RedisNode = createRedisClient({ url });
  await client.connect();
  return {
    url,
    client,
    async close() {
      for await (const key of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1000 }))
        await client.del(key);
      await client.quit();
      if (server) await stopRedis(server);
    },
  };
}

// The Redis Cluster the cluster tests run on (test/helpers/redis-cluster.ts): six real Redis 8 processes form
// three masters with a replica each; node-redis's cluster client routes keys to their slots' masters; a killed
// master's replica is promoted and every write acknowledged before (appendfsync always, WAIT for the replica)
// is still there.
import { once } from "node:events";
import { createCluster } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  clusterInfo,
  command,
  type RedisCluster,
  roleOf,
  startRedisCluster,
  until,
} from "../helpers/redis-cluster.ts";

describe("a three-master Redis Cluster on loopback", () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 120_000);
  afterAll(async () => cluster?.stop());

  it("spreads keys over the masters, keeps a hash tag's keys on one slot, and survives a master's failure", async () => {
    const client = createCluster({
      rootNodes: cluster.rootNodes,
      defaults: { socket: { reconnectStrategy: 100 } },
    });
    client.on("error", () => undefined); // the killed master's connection
    await client.connect();
    try {
      for (let i = 0; i < 100; i++) await client.set(`key:${i}`, String(i));
      // Each master holds about a third of them.
      const sizes = await Promise.all(
        [0, 1, 2].map((i) => command<number>(cluster.nodes[i].port, ["DBSIZE"])),
      );
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(100);
      for (const size of sizes) expect(size).toBeGreaterThan(20);
      // Keys with one hash tag share a slot, so a transaction over them is allowed.
      const tx = await client.multi().set("{tenant:acme}:a", "1").set("{tenant:acme}:b", "2").exec();
      expect(tx).toEqual(["OK", "OK"]);

      // Acknowledged by a replica too: WAIT on each master's connection, which wrote every key of its slots.
      const slotOf = async (key: string) =>
        Number(await client.sendCommand(key, true, ["CLUSTER", "KEYSLOT", key]));
      const keys = Array.from({ length: 100 }, (_, i) => `key:${i}`);
      for (const [from, to] of [
        [0, 5460],
        [5461, 10922],
        [10923, 16383],
      ]) {
        let onMaster: string | undefined;
        for (const key of keys) {
          const slot = await slotOf(key);
          if (slot >= from && slot <= to) {
            onMaster = key;
            break;
          }
        }
        expect(await client.sendCommand(onMaster as string, false, ["WAIT", "1", "10000"])).toBe(1);
      }
      const master = cluster.nodes[0];
      master.process.kill("SIGKILL");
      await once(master.process, "exit");
      // Its replica is promoted once the others have seen the master fail (cluster-node-timeout 2 s).
      await until(
        async () => (await roleOf(cluster.nodes[3].port)) === "master",
        "promote the replica",
        30_000,
      );
      const alive = cluster.nodes.slice(1);
      await until(
        async () =>
          (await Promise.all(alive.map((n) => clusterInfo(n.port)))).every((i) => i.cluster_state === "ok"),
        "recover on every node",
        30_000,
      );
      // A client that starts now finds every key, the killed master's from its promoted replica.
      const after = createCluster({ rootNodes: cluster.rootNodes.slice(1) });
      after.on("error", () => undefined);
      await after.connect();
      try {
        for (let i = 0; i < 100; i++) expect(await after.get(`key:${i}`)).toBe(String(i));
        expect(await after.get("{tenant:acme}:b")).toBe("2");
      } finally {
        await after.disconnect();
      }
    } finally {
      await client.disconnect().catch(() => undefined);
    }
  }, 90_000);
});

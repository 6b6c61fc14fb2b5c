// The watchdog of a Redis Cluster client: what redis-watchdog.ts does for one server, for each master, plus
// keeping the client's slot map true. Every `intervalMs`:
// - each master's connection gets a PING; one unanswered after `timeoutMs` (a frozen or partitioned master)
//   is closed, so that the commands waiting on it fail and new ones for its slots fail at once (503), while the
//   other masters' slots are served as before;
// - a master's view of the slot map (CLUSTER SLOTS) is compared with the client's: after a failover (a replica
//   promoted in place of a dead or frozen master) they differ;
// - when a master is failing or the map has changed, and every master of the map answers again, the client is
//   replaced by one that has read the map (redis-cluster.ts). Redis is up again once the client agrees with the
//   map and every master answers.
import type { ClusterSlotsReply } from "@redis/client/dist/lib/commands/CLUSTER_SLOTS.js";
import type { RedisNode } from "./redis-client.ts";
import { agreesWith, answers, mastersOf, type ReplaceableCluster, slotsFrom } from "./redis-cluster.ts";
import {
  healthTracker,
  pings,
  type RedisWatchdog,
  type RedisWatchdogOptions,
  repeat,
} from "./redis-watchdog.ts";

export interface ClusterWatchdogOptions extends RedisWatchdogOptions {
  /** The nodes speak TLS (rediss://): the liveness probe must too. */
  tls: boolean;
  /** How often to compare slot maps while every master answers (a failover also shows as a failing master). */
  slotsEveryMs?: number;
}

export function watchCluster(cluster: ReplaceableCluster, options: ClusterWatchdogOptions): RedisWatchdog {
  const { health, setDown, setUp } = healthTracker(options);
  const slotsEveryMs = options.slotsEveryMs ?? 5_000;
  let slotsCheckedAt = Date.now();
  const unanswered = (addresses: string) =>
    `Redis Cluster master ${addresses} did not answer a PING within ${options.timeoutMs} ms`;

  const check = async () => {
    const client = cluster.current();
    const pinged = await Promise.all(
      client.masters.map(async (master) => {
        const address = `${master.host}:${master.port}`;
        const node = master.client instanceof Promise ? undefined : (master.client as RedisNode | undefined);
        // Not connected: node-redis reconnecting after a dropped connection, or closed by this watchdog.
        if (!node?.isReady) return { address };
        if (await pings(node, options.timeoutMs)) return { address, live: node };
        if (loop.stopped()) return { address };
        // Down before the close: a request failed by it must find /readyz saying so.
        setDown(unanswered(address));
        // Ready, so no connection attempt is pending: safe to close; what waits on it fails now.
        if (node.isReady) await node.disconnect().catch(() => undefined);
        return { address };
      }),
    );
    const failing = pinged.filter((p) => !p.live).map((p) => p.address);
    const live = pinged.flatMap((p) => (p.live ? [p.live] : []));
    if (loop.stopped()) return;

    let slots: ClusterSlotsReply | undefined;
    if (failing.length > 0 || Date.now() - slotsCheckedAt >= slotsEveryMs) {
      slotsCheckedAt = Date.now();
      for (const node of live) {
        slots = await slotsFrom(node, options.timeoutMs);
        if (slots) break;
      }
    }
    const moved = slots !== undefined && !agreesWith(client, slots);
    if (failing.length === 0 && !moved) return setUp();
    setDown(
      failing.length > 0
        ? unanswered(failing.join(", "))
        : "the Redis Cluster's slot map changed (a failover)",
    );
    // Every master of the map alive again (a failover done, or a frozen master thawed): a client that reads
    // the map anew, with a connection to each.
    const masters = slots ? mastersOf(slots) : failing;
    const alive = await Promise.all(masters.map((m) => answers(m, options.timeoutMs, options.tls)));
    if (!alive.every(Boolean) || loop.stopped()) return;
    try {
      await cluster.replace(slots ? masters : client.masters.map((m) => `${m.host}:${m.port}`), 5_000);
      setUp();
    } catch (error) {
      setDown(`reconnecting to the Redis Cluster failed: ${error instanceof Error ? error.message : error}`);
    }
  };
  const loop = repeat(check, options.intervalMs);
  return { health, stop: loop.stop };
}

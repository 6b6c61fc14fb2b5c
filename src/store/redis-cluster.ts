// A Redis Cluster client that can be replaced while the stores hold on to it. node-redis learns a new slot map
// only from a MOVED or ASK reply (node-redis#2806): after a master dies and its replica is promoted, the client
// keeps sending that master's slots to the dead address, and never gets a reply that would teach it otherwise.
// The cluster watchdog (redis-cluster-watchdog.ts) notices, and replaces the client with one that has read the
// new map; the stores hold this module's stand-in, which forwards every call to the client of the moment.
import net from "node:net";
import tls from "node:tls";
import type { ClusterSlotsReply } from "@redis/client/dist/lib/commands/CLUSTER_SLOTS.js";
import { createRedisCluster, type RedisClusterClient, type RedisNode } from "./redis-client.ts";

export interface ReplaceableCluster {
  /** What the stores hold: every property read goes to the current client. */
  client: RedisClusterClient;
  current(): RedisClusterClient;
  /**
   * Connects a new client from `addresses` (host:port of live nodes) and makes it the current one; the previous
   * one is closed, failing what it still had in flight. Rejects, leaving the current client, after `timeoutMs`.
   */
  replace(addresses: string[], timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * @param url the first node's URL: its scheme, credentials and TLS are those of every node.
 * @param seeds more nodes to start from (host:port), beside the URL's own.
 */
export async function openReplaceableCluster(
  url: string,
  seeds: string[],
  onError: (error: Error) => void,
): Promise<ReplaceableCluster> {
  const urlOf = (address: string) => {
    const u = new URL(url);
    const [host, port] = splitAddress(address);
    u.hostname = host;
    u.port = String(port);
    return u.toString();
  };
  let current = createRedisCluster([url, ...seeds.map(urlOf)], onError);
  const client = new Proxy({} as RedisClusterClient, {
    get(_, property) {
      const value = Reflect.get(current, property, current);
      return typeof value === "function" ? value.bind(current) : value;
    },
    has: (_, property) => property in current,
  });
  return {
    client,
    current: () => current,
    async replace(addresses, timeoutMs) {
      const next = createRedisCluster(addresses.map(urlOf), onError);
      const connecting = next.connect();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((resolve) => {
        timer = setTimeout(resolve, timeoutMs, "late");
      });
      const outcome = await Promise.race([connecting.then(() => "ok" as const), late]).finally(() =>
        clearTimeout(timer),
      );
      if (outcome === "late") {
        // node-redis does not survive disconnect() during connect(): close it once the attempt has settled.
        connecting.then(
          () => next.disconnect(),
          () => undefined,
        );
        throw new Error(`connecting to the cluster at ${addresses.join(", ")} took over ${timeoutMs} ms`);
      }
      const previous = current;
      current = next;
      await previous.disconnect().catch(() => undefined);
    },
    async close() {
      await current.quit().catch(() => current.disconnect().catch(() => undefined));
    },
  };
}

export function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(":");
  return [address.slice(0, at), Number(address.slice(at + 1))];
}

/** Whether `client` sends every slot of `slots` (a node's CLUSTER SLOTS) to the master that node names. */
export function agreesWith(client: RedisClusterClient, slots: ClusterSlotsReply): boolean {
  const addressOf = (slot: number) => {
    const master = client.slots[slot]?.master;
    return master && `${master.host}:${master.port}`;
  };
  return slots.every(({ from, to, master }) => {
    const address = `${master.ip}:${master.port}`;
    return addressOf(from) === address && addressOf(to) === address;
  });
}

/** The masters (host:port) a CLUSTER SLOTS reply names. */
export function mastersOf(slots: ClusterSlotsReply): string[] {
  return [...new Set(slots.map(({ master }) => `${master.ip}:${master.port}`))];
}

/**
 * Whether a server at `address` answers at all within `timeoutMs`: a PING on a connection of its own, closed
 * afterwards whatever happened. Any reply counts (an error for want of AUTH too): the question is whether the
 * process is alive, not whether it would serve us. A raw socket rather than a node-redis client, which cannot
 * be closed while its connection attempt waits on a frozen server.
 */
export function answers(address: string, timeoutMs: number, useTls: boolean): Promise<boolean> {
  const [host, port] = splitAddress(address);
  return new Promise((resolve) => {
    const socket = useTls ? tls.connect({ host, port, servername: host }) : net.connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once(useTls ? "secureConnect" : "connect", () => socket.write("PING\r\n"));
    socket.once("data", () => done(true));
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
  });
}

/** A node's view of the slot map, or undefined when it does not answer within `timeoutMs`. */
export async function slotsFrom(node: RedisNode, timeoutMs: number): Promise<ClusterSlotsReply | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, undefined);
  });
  try {
    return await Promise.race([node.clusterSlots().catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}

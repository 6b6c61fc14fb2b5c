// A Redis Cluster of real Redis 8 processes on loopback, as MemoryDB and ElastiCache run in cluster mode: three
// masters holding the 16,384 slots in thirds, each with one replica. Formed with the cluster commands themselves
// (CLUSTER ADDSLOTSRANGE, MEET, REPLICATE) over node-redis, so that redis-cli is not needed.
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient } from "redis";
import { freePort, startRedis } from "../global-setup.ts";

export interface ClusterNode {
  port: number;
  /** Its cluster bus (gossip) port. */
  busPort: number;
  process: ChildProcess;
  role: "master" | "replica";
}

export interface RedisCluster {
  nodes: ClusterNode[];
  /** `{ url }` per node, for node-redis createCluster's rootNodes. */
  rootNodes: { url: string }[];
  stop(): Promise<void>;
}

const SLOTS: [number, number][] = [
  [0, 5460],
  [5461, 10922],
  [10923, 16383],
];

/** Stops a node at once: its data is a test's, and a master would otherwise wait for its replica on SIGTERM. */
async function kill(node: ClusterNode): Promise<void> {
  if (node.process.exitCode !== null || node.process.signalCode !== null) return;
  node.process.kill("SIGKILL");
  await once(node.process, "exit");
}

/** One command to one node, over a connection of its own. */
export async function command<T>(port: number, args: string[]): Promise<T> {
  const client = createClient({ url: `redis://127.0.0.1:${port}` });
  await client.connect();
  try {
    return (await client.sendCommand(args)) as T;
  } finally {
    await client.quit();
  }
}

/** Polls `check` every 100 ms until it holds, or fails after `timeoutMs` naming `what`. */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`the cluster did not ${what} in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function clusterInfo(port: number): Promise<Record<string, string>> {
  const text = await command<string>(port, ["CLUSTER", "INFO"]);
  return Object.fromEntries(
    text
      .split(/\r?\n/)
      .filter(Boolean)
      .map((line) => line.split(":") as [string, string]),
  );
}

/** A node's role as it says: master or slave. */
export async function roleOf(port: number): Promise<string> {
  const [role] = await command<string[]>(port, ["ROLE"]);
  return String(role);
}

/**
 * Starts six processes, three masters and a replica of each, and waits until every node says the cluster is ok.
 * `modules`: paths of Redis modules every node loads (the Query Engine's, for its cluster test).
 */
export async function startRedisCluster(options: { modules?: string[] } = {}): Promise<RedisCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), "counsel-redis-cluster-"));
  const nodes: ClusterNode[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      const port = await freePort();
      // A free bus port of its own: the default (port + 10,000) may be taken, and the node then exits.
      const busPort = await freePort();
      // A folder of its own: in a shared one, the nodes' append-only files and the RDB a replica loads after a
      // full sync (written as dump.rdb, then read back by that name) are the same files.
      const nodeDir = path.join(dir, String(port));
      await mkdir(nodeDir);
      const args = [
        "--cluster-enabled",
        "yes",
        "--cluster-port",
        String(busPort),
        "--cluster-config-file",
        path.join(dir, `nodes-${port}.conf`),
        // A master that does not answer for 2 s is failed over: quick enough for a test.
        "--cluster-node-timeout",
        "2000",
        "--dir",
        nodeDir,
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        ...(options.modules ?? []).flatMap((module) => ["--loadmodule", module]),
      ];
      nodes.push({
        port,
        busPort,
        process: await startRedis(port, args),
        role: i < 3 ? "master" : "replica",
      });
    }
    const [first] = nodes;
    for (const [i, [from, to]] of SLOTS.entries()) {
      await command(nodes[i].port, ["CLUSTER", "ADDSLOTSRANGE", String(from), String(to)]);
    }
    for (const node of nodes.slice(1))
      await command(node.port, ["CLUSTER", "MEET", "127.0.0.1", String(first.port), String(first.busPort)]);
    await until(
      async () =>
        (await Promise.all(nodes.map((n) => clusterInfo(n.port)))).every(
          (info) => info.cluster_known_nodes === "6",
        ),
      "meet",
    );
    for (let i = 0; i < 3; i++) {
      const masterId = await command<string>(nodes[i].port, ["CLUSTER", "MYID"]);
      await command(nodes[i + 3].port, ["CLUSTER", "REPLICATE", masterId]);
    }
    await until(
      async () =>
        (await Promise.all(nodes.map((n) => clusterInfo(n.port)))).every(
          (info) => info.cluster_state === "ok",
        ),
      "become ok",
    );
  } catch (error) {
    await Promise.all(nodes.map(kill));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    nodes,
    rootNodes: nodes.map((n) => ({ url: `redis://127.0.0.1:${n.port}` })),
    async stop() {
      await Promise.all(nodes.map(kill));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The node (by port) that serves `key`'s slot as master now. */
export async function masterOf(cluster: RedisCluster, key: string): Promise<ClusterNode> {
  const alive = cluster.nodes.filter((n) => n.process.exitCode === null && n.process.signalCode === null);
  const ask = alive[0] as ClusterNode;
  const slot = await command<number>(ask.port, ["CLUSTER", "KEYSLOT", key]);
  const ranges = await command<[number, number, [string, number, string]][]>(ask.port, ["CLUSTER", "SLOTS"]);
  const range = ranges.find(([from, to]) => slot >= from && slot <= to);
  const node = cluster.nodes.find((n) => n.port === Number(range?.[2][1]));
  if (!node) throw new Error(`no master serves slot ${slot}`);
  return node;
}

/**
 * Waits until the replica of `master` has every write the master had when called: what a write acknowledged
 * with WAIT would guarantee. Redis replicates asynchronously; see docs/redis.md on failovers.
 */
export async function replicated(cluster: RedisCluster, master: ClusterNode): Promise<ClusterNode> {
  const offsetOf = async (port: number, field: string) => {
    const info = await command<string>(port, ["INFO", "replication"]);
    return Number(info.match(new RegExp(`${field}:(\\d+)`))?.[1] ?? -1);
  };
  const target = await offsetOf(master.port, "master_repl_offset");
  // A new cluster's master learns of its replica by gossip: it may not list it yet.
  const id = await myId(master.port);
  let replica: ClusterNode | undefined;
  await until(async () => {
    const replicaIds = await command<string>(master.port, ["CLUSTER", "REPLICAS", id]);
    const port = Number(String(replicaIds[0]).match(/:(\d+)@/)?.[1]);
    replica = cluster.nodes.find((n) => n.port === port);
    return replica !== undefined;
  }, `list a replica of master ${master.port}`);
  const port = (replica as ClusterNode).port;
  await until(async () => (await offsetOf(port, "slave_repl_offset")) >= target, "replicate");
  return replica as ClusterNode;
}

async function myId(port: number): Promise<string> {
  return command<string>(port, ["CLUSTER", "MYID"]);
}

// The node-redis client of a process: one server's client, or a Redis Cluster client (MemoryDB, ElastiCache in
// cluster mode, a self-run cluster). Either reconnects by itself with capped exponential backoff, and while
// disconnected its commands fail at once (no offline queue) so that requests answer 503 instead of hanging.
// The stores are written against both: the command methods are the same, and the few operations that differ
// (commands node-redis has no method for, scripts, SCAN, PING) go through the helpers here.
import { createClient, createCluster } from "redis";

/** A client of one Redis server. */
export type RedisNode = ReturnType<typeof createClient>;
/** A client of a Redis Cluster: each key's command goes to the master of the key's slot. */
export type RedisClusterClient = ReturnType<typeof createCluster>;
export type RedisClient = RedisNode | RedisClusterClient;
/** A MULTI of either kind of client. */
export type RedisMulti = ReturnType<RedisClient["multi"]>;

export function isCluster(client: RedisClient): client is RedisClusterClient {
  return "masters" in client;
}

export interface RedisClientOptions {
  url: string;
  /** Told about connection errors and reconnects; the client never throws them at the process. */
  onError?: (error: Error) => void;
  onReady?: () => void;
}

const socket = {
  connectTimeout: 5_000,
  // 100 ms, 200 ms, … capped at 5 s, with jitter so that many processes do not reconnect in lockstep.
  reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 5_000) * (0.75 + Math.random() * 0.5),
};

export function createRedisClient(options: RedisClientOptions): RedisNode {
  const client = createClient({ url: options.url, disableOfflineQueue: true, socket });
  // Without an error listener node-redis would crash the process on a dropped connection.
  client.on("error", (error: Error) => options.onError?.(error));
  client.on("ready", () => options.onReady?.());
  return client;
}

/**
 * A cluster client that starts from `rootNodes` (any nodes of the cluster; it asks one for the slot map). The
 * credentials and TLS of the first URL apply to every node it discovers, as MemoryDB and ElastiCache need.
 */
export function createRedisCluster(
  rootNodes: string[],
  onError?: (error: Error) => void,
): RedisClusterClient {
  const first = new URL(rootNodes[0] as string);
  const cluster = createCluster({
    rootNodes: rootNodes.map((url) => ({ url })),
    defaults: {
      disableOfflineQueue: true,
      socket: { ...socket, ...(first.protocol === "rediss:" ? { tls: true as const } : {}) },
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
    },
  });
  cluster.on("error", (error: Error) => onError?.(error));
  return cluster;
}

/** Connects, failing with a clear message (instead of retrying forever) when the first connection fails. */
export async function connectRedis(client: RedisClient, url: string): Promise<void> {
  let onError: ((error: Error) => void) | undefined;
  const firstError = new Promise<never>((_, reject) => {
    onError = (error: Error) =>
      reject(new Error(`Cannot connect to Redis at ${redactUrl(url)}: ${error.message}`));
    client.once("error", onError);
  });
  try {
    await Promise.race([client.connect(), firstError]);
  } catch (error) {
    await client.disconnect().catch(() => undefined);
    throw error;
  } finally {
    // The watchdog reconnects with this too: a listener left per attempt would pile up.
    if (onError) client.off("error", onError);
  }
}

/** The masters' own clients: one per server on a cluster (those connected so far), the client itself otherwise. */
export function masterClients(client: RedisClient): RedisNode[] {
  if (!isCluster(client)) return [client];
  const nodes: RedisNode[] = [];
  for (const master of client.masters) {
    // A promise while node-redis is still connecting to that node: not one to send to yet.
    if (master.client && !(master.client instanceof Promise)) nodes.push(master.client as RedisNode);
  }
  return nodes;
}

/** One client to ask about the server (INFO, COMMAND INFO): a master's on a cluster. */
function anyNode(client: RedisClient): RedisNode {
  const [node] = masterClients(client);
  if (!node) throw new Error("no Redis Cluster master is connected");
  return node;
}

/**
 * A command node-redis has no method for (VADD, VSIM, FT.SEARCH…), sent to the master of `key`'s slot on a
 * cluster. Read-only commands still go to the master: a replica may lag behind what was just acknowledged.
 */
export function sendRaw<T = unknown>(
  client: RedisClient,
  key: string,
  args: (string | Buffer)[],
): Promise<T> {
  if (isCluster(client)) return client.sendCommand(key, false, args) as Promise<T>;
  return client.sendCommand(args) as Promise<T>;
}

/** Queues such a command on a MULTI of `client` (every key of one MULTI shares a slot on a cluster). */
export function queueRaw(client: RedisClient, tx: RedisMulti, key: string, args: (string | Buffer)[]): void {
  if (isCluster(client)) (tx as ReturnType<RedisClusterClient["multi"]>).addCommand(key, args);
  else (tx as ReturnType<RedisNode["multi"]>).addCommand(args);
}

/** Keys matching a SCAN pattern (and type), from every master on a cluster; the server never blocks. */
export async function* scanKeys(
  client: RedisClient,
  match: string,
  count = 1_000,
  type?: string,
): AsyncGenerator<string> {
  for (const node of masterClients(client)) {
    for await (const key of node.scanIterator({
      MATCH: match,
      COUNT: count,
      ...(type ? { TYPE: type } : {}),
    }))
      yield key;
  }
}

/** Escapes SCAN MATCH glob characters so that a prefix matches only itself. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

export interface RedisCapabilities {
  version: string;
  /** The Redis Query Engine (FT.* commands): Redis Stack, Redis 8 with modules, MemoryDB, ElastiCache for Valkey. */
  search: boolean;
  /** Its vector fields: all but RediSearch before 2.4. */
  vectorSearch: boolean;
  /** Vector sets (VADD, VSIM): Redis 8. */
  vectorSets: boolean;
  /** The server runs in cluster mode (`cluster_enabled:1`). */
  cluster: boolean;
}

/** Probes commands rather than MODULE LIST, which managed services (MemoryDB, ElastiCache) may refuse. */
export async function detectCapabilities(client: RedisClient): Promise<RedisCapabilities> {
  const node = anyNode(client);
  const info = await node.info();
  const version = info.match(/(?:redis|valkey)_version:([^\r\n]+)/)?.[1] ?? "unknown";
  const has = async (command: string) => {
    const reply = (await node.sendCommand(["COMMAND", "INFO", command])) as unknown[];
    return Array.isArray(reply) && reply[0] !== null && reply[0] !== undefined;
  };
  const search = await has("FT.SEARCH");
  return {
    version,
    search,
    vectorSearch: search && (await searchModuleVersion(node)) !== "before vectors",
    vectorSets: await has("VADD"),
    cluster: /cluster_enabled:1/.test(info),
  };
}

/**
 * Whether the search module predates vector fields (RediSearch 2.4), from INFO modules (`name=search,ver=20208`).
 * Managed services that hide their modules, or name their version otherwise, have vector search.
 */
async function searchModuleVersion(node: RedisNode): Promise<"before vectors" | "with vectors"> {
  const modules = await node.info("modules").catch(() => "");
  const ver = /name=(?:search|ft),ver=(\d+)/i.exec(modules)?.[1];
  return ver !== undefined && Number(ver) < 20400 ? "before vectors" : "with vectors";
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(invalid URL)";
  }
}

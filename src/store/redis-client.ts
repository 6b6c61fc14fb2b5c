// The one node-redis client of a process: reconnects by itself with capped exponential backoff, and while it is
// disconnected commands fail at once (no offline queue) so that requests answer 503 instead of hanging.
import { createClient } from "redis";

export type RedisClient = ReturnType<typeof createClient>;

export interface RedisClientOptions {
  url: string;
  /** Told about connection errors and reconnects; the client never throws them at the process. */
  onError?: (error: Error) => void;
  onReady?: () => void;
}

export function createRedisClient(options: RedisClientOptions): RedisClient {
  const client = createClient({
    url: options.url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 5_000,
      // 100 ms, 200 ms, … capped at 5 s, with jitter so that many processes do not reconnect in lockstep.
      reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 5_000) * (0.75 + Math.random() * 0.5),
    },
  });
  // Without an error listener node-redis would crash the process on a dropped connection.
  client.on("error", (error: Error) => options.onError?.(error));
  client.on("ready", () => options.onReady?.());
  return client;
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

export interface RedisCapabilities {
  version: string;
  /** The Redis Query Engine (FT.* commands): Redis Stack, Redis 8 with modules, MemoryDB, ElastiCache for Valkey. */
  search: boolean;
  /** Vector sets (VADD, VSIM): Redis 8. */
  vectorSets: boolean;
}

/** Probes commands rather than MODULE LIST, which managed services (MemoryDB, ElastiCache) may refuse. */
export async function detectCapabilities(client: RedisClient): Promise<RedisCapabilities> {
  const info = await client.info("server");
  const version = info.match(/(?:redis|valkey)_version:([^\r\n]+)/)?.[1] ?? "unknown";
  const has = async (command: string) => {
    const reply = (await client.sendCommand(["COMMAND", "INFO", command])) as unknown[];
    return Array.isArray(reply) && reply[0] !== null && reply[0] !== undefined;
  };
  return { version, search: await has("FT.SEARCH"), vectorSets: await has("VADD") };
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

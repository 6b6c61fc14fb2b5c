// Lua scripts run through node-redis's own script support: EVALSHA by the script's SHA1, and EVAL with the
// source only when the server's script cache lacks it (first use, a server restart, SCRIPT FLUSH).
import { defineScript } from "redis";
import { isCluster, type RedisClient } from "./redis-client.ts";

/** A Lua script, run atomically on the server with its keys (any number of them) and arguments. */
export interface LuaScript {
  run(client: RedisClient, keys: string[], args: string[]): Promise<unknown>;
}

/**
 * Defines a script once, at module level, for any client to run.
 *
 * @example
 * const incrBy = defineLuaScript("return redis.call('INCRBY', KEYS[1], ARGV[1])");
 * await incrBy.run(client, ["counter"], ["2"]); // 2
 */
export function defineLuaScript(source: string): LuaScript {
  const script = defineScript({
    SCRIPT: source,
    // Where a cluster sends it: the master of its first key's slot (every key of a script shares that slot).
    FIRST_KEY_INDEX: (keys: string[]) => keys[0],
    transformArguments: (keys: string[], args: string[]) => [String(keys.length), ...keys, ...args],
  });
  // The executor is what node-redis itself calls for a script given to createClient's `scripts` option (spelt
  // scriptsExecuter on a client, scriptsExecutor on a cluster, which sends it to the master of its first key's
  // slot). That option would make every client (the service's, the tests', the benches') be created knowing
  // every store's scripts; calling the executor keeps the stores usable with a client created elsewhere.
  return {
    run: (client, keys, args) =>
      isCluster(client)
        ? client.scriptsExecutor(script, [keys, args])
        : client.scriptsExecuter(script, [keys, args]),
  };
}

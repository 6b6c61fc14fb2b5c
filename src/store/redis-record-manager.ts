// The record manager for LangChain's indexing API in Redis, so that every service process and ingestion worker
// shares one view of which chunk keys exist, when each was last seen and which document (group) owns it.
// Each update and delete is one Lua script, so a concurrent reader never sees a key half-moved between groups,
// and times come from the Redis server's clock so that processes on different machines agree.
import { type ListKeyOptions, RecordManager, type UpdateOptions } from "@langchain/core/indexing";
import type { RedisClient } from "./redis-client.ts";
import { defineLuaScript } from "./redis-script.ts";

export interface RedisRecordManagerOptions {
  client: RedisClient;
  /** Scopes the records by tenant, collection and embedding model, e.g. `counsel:default:default:local-hash-v1-1024`. */
  namespace: string;
}

// Keys per script call: bounds how long one script blocks the server on a very large update or delete.
const SCRIPT_BATCH = 1_000;

// Microseconds since the epoch from the server's TIME, never less than one past the last value handed out in this
// namespace: index() deletes keys updated *before* its start time, so two runs must never share a time, even
// across processes or if the server's clock steps back. Kept as an integer string: Lua's tostring would print
// only 14 significant digits. Returned as milliseconds with a fraction, the unit of FileRecordManager.
const CLOCK = `
local function tick(clock_key)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local last = tonumber(redis.call('GET', clock_key) or '0')
  if now <= last then now = last + 1 end
  local us = string.format('%.0f', now)
  redis.call('SET', clock_key, us)
  return string.sub(us, 1, -4) .. '.' .. string.sub(us, -3)
end
`;

// KEYS: clock, time zset, group hash, groups set. ARGV: group-set key prefix, timeAtLeast ('' for none),
// '1' when group ids are given, then (key, group) pairs where group is '-' for none or '+' .. groupId.
// Returns {1, ms} when written, {0, ms} when ms is before timeAtLeast (nothing written).
const UPDATE = `${CLOCK}
local ms = tick(KEYS[1])
if ARGV[2] ~= '' and tonumber(ms) < tonumber(ARGV[2]) then return {0, ms} end
local with_groups = ARGV[3] == '1'
for i = 4, #ARGV, 2 do
  local key = ARGV[i]
  local old = redis.call('HGET', KEYS[3], key)
  local new = old
  if with_groups then
    local g = ARGV[i + 1]
    if g == '-' then new = false else new = string.sub(g, 2) end
  end
  if old ~= new then
    if old then
      redis.call('SREM', ARGV[1] .. old, key)
      if redis.call('SCARD', ARGV[1] .. old) == 0 then redis.call('SREM', KEYS[4], old) end
    end
    if new then
      redis.call('HSET', KEYS[3], key, new)
      redis.call('SADD', ARGV[1] .. new, key)
      redis.call('SADD', KEYS[4], new)
    else
      redis.call('HDEL', KEYS[3], key)
    end
  end
  redis.call('ZADD', KEYS[2], ms, key)
end
return {1, ms}
`;

// KEYS: time zset, group hash, groups set. ARGV: group-set key prefix, then the keys to delete.
const DELETE = `
for i = 2, #ARGV do
  local key = ARGV[i]
  local g = redis.call('HGET', KEYS[2], key)
  if g then
    redis.call('SREM', ARGV[1] .. g, key)
    if redis.call('SCARD', ARGV[1] .. g) == 0 then redis.call('SREM', KEYS[3], g) end
    redis.call('HDEL', KEYS[2], key)
  end
  redis.call('ZREM', KEYS[1], key)
end
return #ARGV - 1
`;

// KEYS: time zset, then one set per group. ARGV: after, before ('' for unbounded, both exclusive), limit ('' for
// none). The keys of those groups inside the time window, oldest first, read in one atomic step.
const LIST_BY_GROUP = `
local after = ARGV[1] ~= '' and tonumber(ARGV[1]) or nil
local before = ARGV[2] ~= '' and tonumber(ARGV[2]) or nil
local limit = ARGV[3] ~= '' and tonumber(ARGV[3]) or nil
local seen, found = {}, {}
for i = 2, #KEYS do
  for _, key in ipairs(redis.call('SMEMBERS', KEYS[i])) do
    if not seen[key] then
      seen[key] = true
      local score = tonumber(redis.call('ZSCORE', KEYS[1], key))
      if score and (not after or score > after) and (not before or score < before) then
        found[#found + 1] = {key, score}
      end
    end
  end
end
table.sort(found, function(a, b) if a[2] == b[2] then return a[1] < b[1] end return a[2] < b[2] end)
local out = {}
for i = 1, (limit and math.min(limit, #found) or #found) do out[i] = found[i][1] end
return out
`;

const clockScript = defineLuaScript(`${CLOCK}\nreturn tick(KEYS[1])`);
const updateScript = defineLuaScript(UPDATE);
const deleteScript = defineLuaScript(DELETE);
const listByGroupScript = defineLuaScript(LIST_BY_GROUP);

/**
 * Keys, under `<namespace>:records:`:
 * - `time`: sorted set, chunk key → last update time (ms since the epoch, µs fraction), for before/after listing;
 * - `group`: hash, chunk key → group (document) id;
 * - `g:<groupId>`: set of the chunk keys of one group, for listing by group;
 * - `groups`: set of the group ids that have keys;
 * - `clock`: the last time handed out, in µs, so that times strictly increase across processes.
 */
export class RedisRecordManager extends RecordManager {
  override lc_namespace = ["counsel", "store", "redis_record_manager"];

  readonly namespace: string;
  private readonly client: RedisClient;
  private readonly keys: { clock: string; time: string; group: string; groups: string; groupPrefix: string };

  constructor(options: RedisRecordManagerOptions) {
    super();
    this.client = options.client;
    this.namespace = options.namespace;
    const base = `${options.namespace}:records`;
    this.keys = {
      clock: `${base}:clock`,
      time: `${base}:time`,
      group: `${base}:group`,
      groups: `${base}:groups`,
      groupPrefix: `${base}:g:`,
    };
  }

  /** Redis needs no schema: the keys appear with the first update. */
  async createSchema(): Promise<void> {}

  /** Strictly increasing milliseconds (with a µs fraction) from the Redis server's clock, shared by all processes. */
  async getTime(): Promise<number> {
    return Number(await clockScript.run(this.client, [this.keys.clock], []));
  }

  async update(keys: string[], options: UpdateOptions = {}): Promise<void> {
    const { groupIds, timeAtLeast } = options;
    if (groupIds && groupIds.length !== keys.length) {
      throw new Error(`update: ${keys.length} keys but ${groupIds.length} group ids`);
    }
    const { clock, time, group, groups, groupPrefix } = this.keys;
    for (let start = 0; start < keys.length; start += SCRIPT_BATCH) {
      const args = [groupPrefix, timeAtLeast === undefined ? "" : String(timeAtLeast), groupIds ? "1" : "0"];
      for (let i = start; i < Math.min(start + SCRIPT_BATCH, keys.length); i++) {
        const groupId = groupIds?.[i];
        args.push(keys[i], groupId === null || groupId === undefined ? "-" : `+${groupId}`);
      }
      const [written, ms] = (await updateScript.run(this.client, [clock, time, group, groups], args)) as [
        number,
        string,
      ];
      if (written !== 1) {
        throw new Error(
          `update: time ${ms} is before timeAtLeast ${timeAtLeast}; is the clock going backwards?`,
        );
      }
    }
  }

  async exists(keys: string[]): Promise<boolean[]> {
    if (keys.length === 0) return [];
    const scores = await this.client.zmScore(this.keys.time, keys);
    return scores.map((score) => score !== null);
  }

  /**
   * Keys updated after `after` and before `before` (both exclusive), of the given groups, oldest first.
   * A null among `groupIds` matches nothing, as in LangChain's SQL record managers (index() never asks for it).
   */
  async listKeys(options: ListKeyOptions = {}): Promise<string[]> {
    const { before, after, groupIds, limit } = options;
    if (groupIds) {
      const wanted = [...new Set(groupIds.filter((id): id is string => id !== null))];
      if (wanted.length === 0) return [];
      const reply = await listByGroupScript.run(
        this.client,
        [this.keys.time, ...wanted.map((id) => this.keys.groupPrefix + id)],
        [
          after === undefined ? "" : String(after),
          before === undefined ? "" : String(before),
          limitArg(limit),
        ],
      );
      return reply as string[];
    }
    return this.client.zRangeByScore(
      this.keys.time,
      after === undefined ? "-inf" : `(${after}`,
      before === undefined ? "+inf" : `(${before}`,
      limit === undefined ? undefined : { LIMIT: { offset: 0, count: limit } },
    );
  }

  async deleteKeys(keys: string[]): Promise<void> {
    const { time, group, groups, groupPrefix } = this.keys;
    for (let start = 0; start < keys.length; start += SCRIPT_BATCH) {
      const batch = keys.slice(start, start + SCRIPT_BATCH);
      await deleteScript.run(this.client, [time, group, groups], [groupPrefix, ...batch]);
    }
  }

  /** Every document (group) id that has records: the pipeline uses it to find documents that are gone. */
  async listGroupIds(): Promise<string[]> {
    return this.client.sMembers(this.keys.groups);
  }

  /** Nothing to do: every update is already in Redis. The pipeline calls it for FileRecordManager's sake. */
  async flush(): Promise<void> {}
}

function limitArg(limit: number | undefined): string {
  return limit === undefined ? "" : String(Math.max(0, Math.floor(limit)));
}

// The record manager for LangChain's indexing API in Redis, so that every service process and ingestion worker
// shares one view of which chunk keys exist, when each was last seen and which document (group) owns it, with
// a record per document (its info, when its chunks last changed) kept in the same scripts.
// Each update and delete is one Lua script, so a concurrent reader never sees a key half-moved between groups,
// and times come from the Redis server's clock so that processes on different machines agree.
import { type ListKeyOptions, RecordManager } from "@langchain/core/indexing";
import {
  compareSources,
  type DocumentInfo,
  type DocumentRecord,
  type DocumentRecords,
  type DocumentUpdateOptions,
} from "../contracts/documents.ts";
import type { RedisClient } from "./redis-client.ts";
import { defineLuaScript } from "./redis-script.ts";

export interface RedisRecordManagerOptions {
  client: RedisClient;
  /** Scopes the records by tenant, collection and embedding model, e.g. `counsel:{default}:default:local-hash-v1-1024`. */
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

// After keys joined or left groups (the `changed` table): a group left without keys loses its place in the
// groups set and the docs index, and its document record; any other changed group's record takes the time `ms`.
const SETTLE = `
local function settle(changed, ms, groups_key, docs_key, group_prefix, doc_prefix)
  for g in pairs(changed) do
    if redis.call('SCARD', group_prefix .. g) == 0 then
      redis.call('SREM', groups_key, g)
      redis.call('ZREM', docs_key, g)
      redis.call('DEL', doc_prefix .. g)
    else
      redis.call('SADD', groups_key, g)
      redis.call('ZADD', docs_key, 0, g)
      redis.call('HSET', doc_prefix .. g, 'updated', ms)
    end
  end
end
`;

// The last time any key of a group was indexed (its keys' greatest score), for a document without a record.
const LAST_SEEN = `
local function last_seen(time_key, group_key)
  local last = 0
  for _, key in ipairs(redis.call('SMEMBERS', group_key)) do
    local score = tonumber(redis.call('ZSCORE', time_key, key) or '0')
    if score > last then last = score end
  end
  return string.format('%.3f', last)
end
`;

// KEYS: clock, time zset, group hash, groups set, docs zset. ARGV: group-set key prefix, document-record key
// prefix, timeAtLeast ('' for none), '1' when group ids are given, the number n of document infos, n (group,
// info JSON) pairs, then (key, group) pairs where group is '-' for none or '+' .. groupId.
// Returns {1, ms} when written, {0, ms} when ms is before timeAtLeast (nothing written).
const UPDATE = `${CLOCK}${SETTLE}${LAST_SEEN}
local ms = tick(KEYS[1])
if ARGV[3] ~= '' and tonumber(ms) < tonumber(ARGV[3]) then return {0, ms} end
local group_prefix, doc_prefix = ARGV[1], ARGV[2]
local with_groups = ARGV[4] == '1'
local infos = tonumber(ARGV[5])
local changed = {}
for i = 6 + 2 * infos, #ARGV, 2 do
  local key = ARGV[i]
  local old = redis.call('HGET', KEYS[3], key)
  local new = old
  if with_groups then
    local g = ARGV[i + 1]
    if g == '-' then new = false else new = string.sub(g, 2) end
  end
  if old ~= new then
    if old then
      redis.call('SREM', group_prefix .. old, key)
      changed[old] = true
    end
    if new then
      redis.call('HSET', KEYS[3], key, new)
      redis.call('SADD', group_prefix .. new, key)
      changed[new] = true
    else
      redis.call('HDEL', KEYS[3], key)
    end
  end
  redis.call('ZADD', KEYS[2], ms, key)
end
settle(changed, ms, KEYS[4], KEYS[5], group_prefix, doc_prefix)
for i = 6, 5 + 2 * infos, 2 do
  local g = ARGV[i]
  if redis.call('SCARD', group_prefix .. g) > 0 then
    if redis.call('HEXISTS', doc_prefix .. g, 'updated') == 0 then
      redis.call('HSET', doc_prefix .. g, 'updated', last_seen(KEYS[2], group_prefix .. g))
    end
    redis.call('HSET', doc_prefix .. g, 'info', ARGV[i + 1])
  end
end
return {1, ms}
`;

// KEYS: clock, time zset, group hash, groups set, docs zset. ARGV: group-set key prefix, document-record key
// prefix, then the keys to delete.
const DELETE = `${CLOCK}${SETTLE}
local changed = {}
for i = 3, #ARGV do
  local key = ARGV[i]
  local g = redis.call('HGET', KEYS[3], key)
  if g then
    redis.call('SREM', ARGV[1] .. g, key)
    redis.call('HDEL', KEYS[3], key)
    changed[g] = true
  end
  redis.call('ZREM', KEYS[2], key)
end
if next(changed) then settle(changed, tick(KEYS[1]), KEYS[4], KEYS[5], ARGV[1], ARGV[2]) end
return #ARGV - 2
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

// The docs index (a sorted set of group ids, all scored 0, so ordered by bytes) holds exactly the groups set's
// members. Records written before the index existed, or by an older Counsel, lack it: when the two counts
// differ, the index is rebuilt from the groups set (O(documents), then never again while they agree).
const SYNC_DOCS = `
local function sync_docs(groups_key, docs_key)
  if redis.call('ZCARD', docs_key) == redis.call('SCARD', groups_key) then return end
  local wanted = {}
  for _, g in ipairs(redis.call('SMEMBERS', groups_key)) do
    wanted[g] = true
    redis.call('ZADD', docs_key, 0, g)
  end
  for _, g in ipairs(redis.call('ZRANGE', docs_key, 0, -1)) do
    if not wanted[g] then redis.call('ZREM', docs_key, g) end
  end
end
`;

// One document's row: {group, chunk count, updated ms, info JSON or ''}.
const DOCUMENT_ROW = `
local function document_row(g, time_key, group_prefix, doc_prefix)
  local record = redis.call('HMGET', doc_prefix .. g, 'updated', 'info')
  local updated = record[1] or last_seen(time_key, group_prefix .. g)
  return {g, redis.call('SCARD', group_prefix .. g), updated, record[2] or ''}
end
`;

// KEYS: docs zset, groups set, time zset. ARGV: group-set key prefix, document-record key prefix, the lower
// bound ('-', '[prefix' or '(after'), the prefix ('' for none), limit. A page of document rows in source order.
const LIST_DOCUMENTS = `${SYNC_DOCS}${LAST_SEEN}${DOCUMENT_ROW}
sync_docs(KEYS[2], KEYS[1])
local upper = ARGV[4] == '' and '+' or ('[' .. ARGV[4] .. '\\255')
local out = {}
for _, g in ipairs(redis.call('ZRANGE', KEYS[1], ARGV[3], upper, 'BYLEX', 'LIMIT', 0, tonumber(ARGV[5]))) do
  out[#out + 1] = document_row(g, KEYS[3], ARGV[1], ARGV[2])
end
return out
`;

// KEYS: time zset, the group's set. ARGV: group-set key prefix, document-record key prefix, the group id.
// {row, keys} for a group with keys, else false.
const GET_DOCUMENT = `${LAST_SEEN}${DOCUMENT_ROW}
if redis.call('SCARD', KEYS[2]) == 0 then return false end
return {document_row(ARGV[3], KEYS[1], ARGV[1], ARGV[2]), redis.call('SMEMBERS', KEYS[2])}
`;

// KEYS: docs zset, groups set. ARGV: document-record key prefix, the lower bound ('-' or '(after'), count.
// {last group of the page (or false at the end), groups of the page without info...}.
const WITHOUT_INFO = `${SYNC_DOCS}
sync_docs(KEYS[2], KEYS[1])
local page = redis.call('ZRANGE', KEYS[1], ARGV[2], '+', 'BYLEX', 'LIMIT', 0, tonumber(ARGV[3]))
local out = {page[#page] or false}
for _, g in ipairs(page) do
  if redis.call('HEXISTS', ARGV[1] .. g, 'info') == 0 then out[#out + 1] = g end
end
return out
`;

// KEYS: time zset, the group's set. ARGV: document-record key prefix, the group id, info JSON. Gives the info
// to a group that still has keys and no info yet; its time, if it has none, is when its keys were last indexed.
const BACKFILL_INFO = `${LAST_SEEN}
if redis.call('SCARD', KEYS[2]) == 0 then return 0 end
local record = ARGV[1] .. ARGV[2]
if redis.call('HEXISTS', record, 'info') == 1 then return 0 end
if redis.call('HEXISTS', record, 'updated') == 0 then
  redis.call('HSET', record, 'updated', last_seen(KEYS[1], KEYS[2]))
end
redis.call('HSET', record, 'info', ARGV[3])
return 1
`;

const clockScript = defineLuaScript(`${CLOCK}\nreturn tick(KEYS[1])`);
const updateScript = defineLuaScript(UPDATE);
const deleteScript = defineLuaScript(DELETE);
const listByGroupScript = defineLuaScript(LIST_BY_GROUP);
const listDocumentsScript = defineLuaScript(LIST_DOCUMENTS);
const getDocumentScript = defineLuaScript(GET_DOCUMENT);
const withoutInfoScript = defineLuaScript(WITHOUT_INFO);
const backfillInfoScript = defineLuaScript(BACKFILL_INFO);

/** Documents a backfill scan reads per script call. */
const SCAN_PAGE = 1_000;

type DocumentRow = [source: string, chunks: number, updated: string, info: string];

/**
 * Keys, under `<namespace>:records:`:
 * - `time`: sorted set, chunk key → last update time (ms since the epoch, µs fraction), for before/after listing;
 * - `group`: hash, chunk key → group (document) id;
 * - `g:<groupId>`: set of the chunk keys of one group, for listing by group;
 * - `groups`: set of the group ids that have keys;
 * - `docs`: sorted set of the same group ids, all scored 0 (so in byte order), for paging through documents;
 * - `doc:<groupId>`: hash, the document's record: `updated` (ms, when its group last gained or lost a key) and
 *   `info` (JSON: what ingestion said of it);
 * - `clock`: the last time handed out, in µs, so that times strictly increase across processes.
 */
export class RedisRecordManager extends RecordManager implements DocumentRecords {
  override lc_namespace = ["counsel", "store", "redis_record_manager"];

  readonly namespace: string;
  private readonly client: RedisClient;
  private readonly keys: {
    clock: string;
    time: string;
    group: string;
    groups: string;
    docs: string;
    groupPrefix: string;
    docPrefix: string;
  };

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
      docs: `${base}:docs`,
      groupPrefix: `${base}:g:`,
      docPrefix: `${base}:doc:`,
    };
  }

  /** Redis needs no schema: the keys appear with the first update. */
  async createSchema(): Promise<void> {}

  /** Strictly increasing milliseconds (with a µs fraction) from the Redis server's clock, shared by all processes. */
  async getTime(): Promise<number> {
    return Number(await clockScript.run(this.client, [this.keys.clock], []));
  }

  async update(keys: string[], options: DocumentUpdateOptions = {}): Promise<void> {
    const { groupIds, timeAtLeast } = options;
    if (groupIds && groupIds.length !== keys.length) {
      throw new Error(`update: ${keys.length} keys but ${groupIds.length} group ids`);
    }
    const { clock, time, group, groups, docs, groupPrefix, docPrefix } = this.keys;
    const infos = Object.entries(options.documents ?? {});
    for (let start = 0; start < keys.length; start += SCRIPT_BATCH) {
      const args = [
        groupPrefix,
        docPrefix,
        timeAtLeast === undefined ? "" : String(timeAtLeast),
        groupIds ? "1" : "0",
        String(infos.length),
      ];
      for (const [source, info] of infos) args.push(source, JSON.stringify(info));
      for (let i = start; i < Math.min(start + SCRIPT_BATCH, keys.length); i++) {
        const groupId = groupIds?.[i];
        args.push(keys[i], groupId === null || groupId === undefined ? "-" : `+${groupId}`);
      }
      const [written, ms] = (await updateScript.run(
        this.client,
        [clock, time, group, groups, docs],
        args,
      )) as [number, string];
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
    const { clock, time, group, groups, docs, groupPrefix, docPrefix } = this.keys;
    for (let start = 0; start < keys.length; start += SCRIPT_BATCH) {
      const batch = keys.slice(start, start + SCRIPT_BATCH);
      await deleteScript.run(
        this.client,
        [clock, time, group, groups, docs],
        [groupPrefix, docPrefix, ...batch],
      );
    }
  }

  /** Every document (group) id that has records: the pipeline uses it to find documents that are gone. */
  async listGroupIds(): Promise<string[]> {
    return this.client.sMembers(this.keys.groups);
  }

  async listDocuments(options: {
    prefix?: string;
    after?: string;
    limit: number;
  }): Promise<DocumentRecord[]> {
    const { prefix = "", after, limit } = options;
    // Which bound is higher is decided here, in code-point order (UTF-8 byte order, the sorted set's): Lua's
    // string comparison follows the server's locale.
    const lower =
      after !== undefined && compareSources(after, prefix) >= 0
        ? `(${after}`
        : prefix === ""
          ? "-"
          : `[${prefix}`;
    const { docs, groups, time, groupPrefix, docPrefix } = this.keys;
    const rows = (await listDocumentsScript.run(
      this.client,
      [docs, groups, time],
      [groupPrefix, docPrefix, lower, prefix, limitArg(limit)],
    )) as DocumentRow[];
    return rows.map(toRecord);
  }

  async getDocument(source: string): Promise<{ record: DocumentRecord; keys: string[] } | undefined> {
    const { time, groupPrefix, docPrefix } = this.keys;
    const reply = (await getDocumentScript.run(
      this.client,
      [time, groupPrefix + source],
      [groupPrefix, docPrefix, source],
    )) as [DocumentRow, string[]] | null;
    return reply ? { record: toRecord(reply[0]), keys: reply[1] } : undefined;
  }

  /** Pages through the documents a thousand at a time, so that no one script holds the server for long. */
  async documentsWithoutInfo(): Promise<string[]> {
    const { docs, groups, docPrefix } = this.keys;
    const missing: string[] = [];
    let lower = "-";
    for (;;) {
      const [last, ...page] = (await withoutInfoScript.run(
        this.client,
        [docs, groups],
        [docPrefix, lower, String(SCAN_PAGE)],
      )) as [string | null, ...string[]];
      missing.push(...page);
      if (last === null) return missing;
      lower = `(${last}`;
    }
  }

  async backfillInfo(source: string, info: DocumentInfo): Promise<void> {
    const { time, groupPrefix, docPrefix } = this.keys;
    await backfillInfoScript.run(
      this.client,
      [time, groupPrefix + source],
      [docPrefix, source, JSON.stringify(info)],
    );
  }

  /** Nothing to do: every update is already in Redis. The pipeline calls it for FileRecordManager's sake. */
  async flush(): Promise<void> {}
}

function toRecord([source, chunks, updated, info]: DocumentRow): DocumentRecord {
  return {
    source,
    chunks: Number(chunks),
    updatedAt: Number(updated),
    ...(info ? { info: JSON.parse(info) as DocumentInfo } : {}),
  };
}

function limitArg(limit: number | undefined): string {
  return limit === undefined ? "" : String(Math.max(0, Math.floor(limit)));
}

// The document status store in Redis, shared by every service process and ingestion worker: each document's
// ingestion under way or failed. Writes are Lua scripts, so that the rule of ownership (which job's entry a
// write may replace) is decided and applied in one atomic step, however many processes write at once.

import type { DocumentState, DocumentStatusStore } from "../contracts/document-status.ts";
import { compareSources } from "../contracts/documents.ts";
import type { RedisClient } from "./redis-client.ts";
import { defineLuaScript } from "./redis-script.ts";

export interface RedisDocumentStatusStoreOptions {
  client: RedisClient;
  /** Keys start `<prefix>:`, under the tenant's hash tag, e.g. `counsel:{acme}:default:local-hash-v1-1024:status`. */
  prefix: string;
}

// Entries per script call: bounds how long one script blocks the server on a job of many documents.
const SCRIPT_BATCH = 1_000;

// KEYS: sources zset, entries hash. ARGV: (source, job id or '', status, entry JSON) per entry. The rule of
// contracts/document-status.ts `supersedes`: queued always takes the entry, anything replaces a failure, and a
// job's write leaves another job's entry in flight alone.
const SET = `
local written = 0
for i = 1, #ARGV, 4 do
  local source, job, status = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local allowed = true
  if status ~= 'queued' and job ~= '' then
    local current = redis.call('HGET', KEYS[2], source)
    if current then
      local entry = cjson.decode(current)
      if entry.status ~= 'failed' and type(entry.jobId) == 'string' and entry.jobId ~= job then
        allowed = false
      end
    end
  end
  if allowed then
    redis.call('HSET', KEYS[2], source, ARGV[i + 3])
    redis.call('ZADD', KEYS[1], 0, source)
    written = written + 1
  end
end
return written
`;

// KEYS: sources zset, entries hash. ARGV: source, job id ('' for any). Removes the entry, with a job id only
// while it is that job's. Returns 1 when removed.
const CLEAR = `
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current then return 0 end
if ARGV[2] ~= '' and cjson.decode(current).jobId ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
`;

// KEYS: sources zset, entries hash. ARGV: the lower bound ('-', '[prefix' or '(after'), the prefix ('' for
// none), limit. Entry JSONs in source order, read in one step so that the order and the entries agree.
const LIST = `
local upper = ARGV[2] == '' and '+' or ('[' .. ARGV[2] .. '\\255')
local sources = redis.call('ZRANGE', KEYS[1], ARGV[1], upper, 'BYLEX', 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i, source in ipairs(sources) do out[i] = redis.call('HGET', KEYS[2], source) end
return out
`;

const setScript = defineLuaScript(SET);
const clearScript = defineLuaScript(CLEAR);
const listScript = defineLuaScript(LIST);

/**
 * Keys, under `<prefix>:`:
 * - `sources`: sorted set of the sources that have an entry, all scored 0 (so in byte order), for paging;
 * - `entries`: hash, source → the entry as JSON (DocumentState).
 */
export class RedisDocumentStatusStore implements DocumentStatusStore {
  readonly prefix: string;
  private readonly client: RedisClient;
  private readonly keys: [sources: string, entries: string];

  constructor(options: RedisDocumentStatusStoreOptions) {
    this.client = options.client;
    this.prefix = options.prefix;
    this.keys = [`${options.prefix}:sources`, `${options.prefix}:entries`];
  }

  set(state: DocumentState): Promise<void> {
    return this.setMany([state]);
  }

  async setMany(states: DocumentState[]): Promise<void> {
    for (let start = 0; start < states.length; start += SCRIPT_BATCH) {
      const args = states
        .slice(start, start + SCRIPT_BATCH)
        .flatMap((s) => [s.source, s.jobId ?? "", s.status, JSON.stringify(s)]);
      await setScript.run(this.client, this.keys, args);
    }
  }

  async get(source: string): Promise<DocumentState | undefined> {
    const json = await this.client.hGet(this.keys[1], source);
    return json ? (JSON.parse(json) as DocumentState) : undefined;
  }

  async list(options: { prefix?: string; after?: string; limit: number }): Promise<DocumentState[]> {
    const { prefix = "", after, limit } = options;
    // Which bound is higher is decided here, in code-point order (the sorted set's byte order): Lua compares
    // strings by the server's locale.
    const lower =
      after !== undefined && compareSources(after, prefix) >= 0
        ? `(${after}`
        : prefix === ""
          ? "-"
          : `[${prefix}`;
    const rows = (await listScript.run(this.client, this.keys, [
      lower,
      prefix,
      String(Math.max(0, Math.floor(limit))),
    ])) as (string | null)[];
    // null only for an entry removed by hand between its two keys: nothing to show of it.
    return rows.flatMap((json) => (json ? [JSON.parse(json) as DocumentState] : []));
  }

  async clear(source: string, jobId?: string): Promise<void> {
    await clearScript.run(this.client, this.keys, [source, jobId ?? ""]);
  }
}

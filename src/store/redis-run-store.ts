// Runs, feedback and per-variant aggregates (see run-store.ts) in Redis, shared by every process. Apart from
// run-store.ts so that only the Redis stores load node-redis (through redis-script.ts).
import type { PriceTable } from "../models/prices.ts";
import type { RedisClient } from "./redis-client.ts";
import { defineLuaScript } from "./redis-script.ts";
import {
  assertRun,
  assertScore,
  isRunId,
  modelTokens,
  type RunRecord,
  type RunStore,
  type RunStoreOptions,
  runStoreSettings,
  SCORE_SCALE,
  type StoredRun,
  signOf,
  summarize,
  type VariantStats,
  type VariantTotals,
} from "./run-store.ts";

export interface RedisRunStoreFactoryOptions
  extends Pick<RunStoreOptions, "prefix" | "ttlSeconds" | "prices" | "latencySamples"> {
  /** Keep runs in Redis on this client. */
  client: RedisClient;
}

export function createRedisRunStore(options: RedisRunStoreFactoryOptions): RunStore {
  const { ttlSeconds, prices, latencySamples } = runStoreSettings(options);
  return new RedisRunStore({
    client: options.client,
    prefix: options.prefix,
    ttlSeconds,
    prices,
    latencySamples,
  });
}

// KEYS: the run hash, the totals hash of its chain and variant. ARGV: score in millionths, score as given, time,
// '1' when a comment is given, the comment, the score's sign (up, down, none). Returns 0 for a run that is gone.
// Old score out and new one in happen in one step, so two processes replacing the same run's feedback at once
// cannot both count it as new. The run keeps the sign it was counted under (feedbackSign): feedback given before
// up/down were counted has none, so replacing it takes nothing off a counter that never had it.
const FEEDBACK = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local old = redis.call('HGET', KEYS[1], 'feedbackMicros')
local oldSign = redis.call('HGET', KEYS[1], 'feedbackSign')
redis.call('HSET', KEYS[1], 'feedbackMicros', ARGV[1], 'feedbackScore', ARGV[2], 'feedbackAt', ARGV[3],
  'feedbackSign', ARGV[6])
if oldSign == 'up' then redis.call('HINCRBY', KEYS[2], 'feedbackUp', -1) end
if oldSign == 'down' then redis.call('HINCRBY', KEYS[2], 'feedbackDown', -1) end
if ARGV[6] == 'up' then redis.call('HINCRBY', KEYS[2], 'feedbackUp', 1) end
if ARGV[6] == 'down' then redis.call('HINCRBY', KEYS[2], 'feedbackDown', 1) end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'feedbackComment', ARGV[5])
else
  redis.call('HDEL', KEYS[1], 'feedbackComment')
end
if old then
  redis.call('HINCRBY', KEYS[2], 'feedbackSumMicros', string.format('%d', tonumber(ARGV[1]) - tonumber(old)))
else
  redis.call('HINCRBY', KEYS[2], 'feedbackCount', 1)
  redis.call('HINCRBY', KEYS[2], 'feedbackSumMicros', ARGV[1])
end
return 1
`;
const feedbackScript = defineLuaScript(FEEDBACK);

interface RedisRunStoreOptions {
  client: RedisClient;
  prefix: string;
  ttlSeconds: number;
  prices: PriceTable;
  latencySamples: number;
}

/**
 * Keys, under `<prefix>:` (chain and variant names URI-encoded, so that a `:` in one cannot alias another key):
 * - `run:<runId>`: hash, the run and its latest feedback; expires `ttlSeconds` after the run's `at`;
 * - `variants:<chain>`: set of the chain's variants that have runs;
 * - `totals:<chain>:<variant>`: hash of counters (requests, tokens, tokens per model as `in:<model>` and
 *   `out:<model>`, feedback count and sum) and the latest configHash; kept without expiry (a few fields);
 * - `latency:<chain>:<variant>`: list of the latest `latencySamples` latencies, newest first.
 */
export class RedisRunStore implements RunStore {
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly ttlSeconds: number;
  private readonly prices: PriceTable;
  private readonly latencySamples: number;

  constructor(options: RedisRunStoreOptions) {
    this.client = options.client;
    this.prefix = options.prefix;
    this.ttlSeconds = options.ttlSeconds;
    this.prices = options.prices;
    this.latencySamples = options.latencySamples;
  }

  async record(run: RunRecord): Promise<void> {
    assertRun(run);
    const runKey = this.runKey(run.runId);
    const totals = this.totalsKey(run.chain, run.variant);
    const latency = this.latencyKey(run.chain, run.variant);
    // Every counter is an increment, so processes recording at once need no lock and lose no update; one
    // transaction, so that stats never see a request without its tokens or latency.
    await this.client
      .multi()
      .hSet(runKey, runFields(run))
      .pExpireAt(runKey, Date.parse(run.at) + this.ttlSeconds * 1000)
      .sAdd(this.variantsKey(run.chain), run.variant)
      .hIncrBy(totals, "requests", 1)
      .hIncrBy(totals, "inputTokens", run.inputTokens)
      .hIncrBy(totals, "outputTokens", run.outputTokens)
      .hIncrBy(totals, `in:${run.model}`, run.inputTokens)
      .hIncrBy(totals, `out:${run.model}`, run.outputTokens)
      .hSet(totals, "configHash", run.configHash)
      .lPush(latency, String(run.latencyMs))
      .lTrim(latency, 0, this.latencySamples - 1)
      .exec();
  }

  async get(runId: string): Promise<StoredRun | undefined> {
    if (!isRunId(runId)) return undefined;
    const fields = await this.client.hGetAll(this.runKey(runId));
    return fields.runId === undefined ? undefined : parseRun(fields);
  }

  async feedback(
    runId: string,
    feedback: { score: number; comment?: string },
  ): Promise<"recorded" | "unknown_run"> {
    assertScore(feedback.score);
    if (!isRunId(runId)) return "unknown_run";
    const runKey = this.runKey(runId);
    // Lua rather than WATCH/MULTI: WATCH is state of a connection, and this process shares one client among all
    // its requests, so it would need a connection of its own per call and retries under contention; a script is
    // one round trip, atomic on the server. A run's chain and variant never change, so reading them first (to
    // name the totals key, as a script must declare its keys) cannot race.
    const [chain, variant] = (await this.client.hmGet(runKey, ["chain", "variant"])) as (string | null)[];
    if (chain === null || variant === null) return "unknown_run";
    const keys = [runKey, this.totalsKey(chain, variant)];
    const args = [
      String(Math.round(feedback.score * SCORE_SCALE)),
      String(feedback.score),
      new Date().toISOString(),
      feedback.comment === undefined ? "0" : "1",
      feedback.comment ?? "",
      signOf(feedback.score),
    ];
    const done = await feedbackScript.run(this.client, keys, args);
    return done === 1 ? "recorded" : "unknown_run";
  }

  async stats(chain: string): Promise<VariantStats[]> {
    const variants = (await this.client.sMembers(this.variantsKey(chain))).sort();
    if (variants.length === 0) return [];
    // One transaction: counters and samples of every variant as of one moment.
    const multi = this.client.multi();
    for (const variant of variants) {
      multi.hGetAll(this.totalsKey(chain, variant)).lRange(this.latencyKey(chain, variant), 0, -1);
    }
    const replies = (await multi.exec()) as unknown[];
    return variants.map((variant, i) =>
      summarize(
        variant,
        parseTotals(replies[2 * i] as Record<string, string>),
        (replies[2 * i + 1] as string[]).map(Number),
        this.prices,
      ),
    );
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}

  private runKey(runId: string): string {
    return `${this.prefix}:run:${runId}`;
  }

  private variantsKey(chain: string): string {
    return `${this.prefix}:variants:${encodeURIComponent(chain)}`;
  }

  private totalsKey(chain: string, variant: string): string {
    return `${this.prefix}:totals:${encodeURIComponent(chain)}:${encodeURIComponent(variant)}`;
  }

  private latencyKey(chain: string, variant: string): string {
    return `${this.prefix}:latency:${encodeURIComponent(chain)}:${encodeURIComponent(variant)}`;
  }
}

function runFields(run: RunRecord): Record<string, string> {
  return {
    runId: run.runId,
    chain: run.chain,
    variant: run.variant,
    configHash: run.configHash,
    promptHash: run.promptHash,
    model: run.model,
    latencyMs: String(run.latencyMs),
    inputTokens: String(run.inputTokens),
    outputTokens: String(run.outputTokens),
    at: run.at,
  };
}

function parseRun(fields: Record<string, string>): StoredRun {
  const run: StoredRun = {
    runId: fields.runId,
    chain: fields.chain,
    variant: fields.variant,
    configHash: fields.configHash,
    promptHash: fields.promptHash,
    model: fields.model,
    latencyMs: Number(fields.latencyMs),
    inputTokens: Number(fields.inputTokens),
    outputTokens: Number(fields.outputTokens),
    at: fields.at,
  };
  if (fields.feedbackScore !== undefined) {
    run.feedback = { score: Number(fields.feedbackScore), at: fields.feedbackAt };
    if (fields.feedbackComment !== undefined) run.feedback.comment = fields.feedbackComment;
  }
  return run;
}

function parseTotals(fields: Record<string, string>): VariantTotals {
  const byModel: VariantTotals["byModel"] = {};
  for (const [field, value] of Object.entries(fields)) {
    const match = /^(in|out):(.*)$/s.exec(field);
    if (!match) continue;
    const tokens = modelTokens(byModel, match[2]);
    if (match[1] === "in") tokens.input = Number(value);
    else tokens.output = Number(value);
  }
  return {
    configHash: fields.configHash ?? "",
    requests: Number(fields.requests ?? 0),
    inputTokens: Number(fields.inputTokens ?? 0),
    outputTokens: Number(fields.outputTokens ?? 0),
    feedbackCount: Number(fields.feedbackCount ?? 0),
    feedbackSumMicros: Number(fields.feedbackSumMicros ?? 0),
    feedbackUp: Number(fields.feedbackUp ?? 0),
    feedbackDown: Number(fields.feedbackDown ?? 0),
    byModel,
  };
}

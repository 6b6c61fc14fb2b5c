// Runs of the qa chains (one per answer: chain, variant, config and prompt hashes, model, latency, tokens), the
// feedback users give on them, and per chain and variant the aggregates GET /chains/:name/stats shows. In Redis
// (shared by every process) when a client is given, else in this process, persisted to the data folder.
import { randomUUID } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { costFor, PRICES, type PriceTable } from "../models/prices.ts";
import { writeFileAtomic } from "./atomic-file.ts";
import { LruMap } from "./lru-map.ts";
import type { RedisClient } from "./redis-client.ts";
import { defineLuaScript } from "./redis-script.ts";

export interface RunRecord {
  runId: string;
  chain: string;
  variant: string;
  configHash: string;
  promptHash: string;
  /** As the chain reports it: "extractive", or "<provider>:<model id>". */
  model: string;
  latencyMs: number;
  inputTokens: number;
  outputTokens: number;
  /** ISO 8601; the run is kept `ttlSeconds` after it. */
  at: string;
}

export interface RunFeedback {
  /** -1 (bad) to 1 (good). */
  score: number;
  comment?: string;
  /** ISO 8601, when it was given. */
  at: string;
}

export interface StoredRun extends RunRecord {
  /** The latest feedback on the run; a new one replaces it. */
  feedback?: RunFeedback;
}

export interface VariantStats {
  variant: string;
  /** Of the latest run recorded. */
  configHash: string;
  requests: number;
  /**
   * Runs with feedback and their mean score (null without any); of those, `up` scored above 0 (thumbs up) and
   * `down` below it, and `positiveShare` = up / (up + down), null without either (a 0 counts in neither).
   */
  feedback: { count: number; mean: number | null; up: number; down: number; positiveShare: number | null };
  /** Over the latest `latencySamples` runs (nearest-rank percentiles); null without runs. */
  latencyMs: { p50: number | null; p95: number | null };
  tokens: { input: number; output: number };
  /** From the price table; null when a model that used tokens has no price. */
  estimatedCostUsd: number | null;
}

export interface RunStore {
  record(run: RunRecord): Promise<void>;
  /** undefined for an unknown, expired, evicted or malformed id. */
  get(runId: string): Promise<StoredRun | undefined>;
  /** Replaces the run's earlier feedback, if any. Throws a RangeError for a score outside [-1, 1]. */
  feedback(runId: string, feedback: { score: number; comment?: string }): Promise<"recorded" | "unknown_run">;
  /** One entry per variant that has runs, by variant name; [] for a chain without runs. */
  stats(chain: string): Promise<VariantStats[]>;
  /** Writes pending changes (the file store); nothing to do in Redis. */
  flush(): Promise<void>;
  /** Flushes; the store takes no more runs or feedback. Leaves a Redis client open: its owner closes it. */
  close(): Promise<void>;
}

export interface RunStoreOptions {
  /** Keep runs in Redis on this client; in this process (persisted under `dataDir`) when absent. */
  client?: RedisClient;
  /** Redis keys start `<prefix>:`, with the tenant in it (`counsel:{default}:runs`); names the file otherwise. */
  prefix: string;
  /** The file store persists to `<dataDir>/runs/<prefix>.json`; in memory only when absent. */
  dataDir?: string;
  /** How long a run (and so feedback on it) is kept after its `at`. Default 30 days. Aggregates are kept. */
  ttlSeconds?: number;
  /** USD per 1,000 tokens by model; default PRICES. */
  prices?: PriceTable;
  /** The most recent latencies kept per variant, for the percentiles. Default 1000. */
  latencySamples?: number;
  /** File store: runs kept at most, least recently used out first. Default 100,000. */
  maxRuns?: number;
  /** File store: a change is written this long after it, together with the changes that follow. Default 1 s. */
  flushDelayMs?: number;
  /** File store: told about a failed background write (it is retried with the next change or flush). */
  onError?: (error: unknown) => void;
}

export const DEFAULT_RUN_TTL_SECONDS = 30 * 24 * 3600;
export const DEFAULT_LATENCY_SAMPLES = 1_000;
export const DEFAULT_MAX_RUNS = 100_000;

// Scores are summed as integer millionths: HINCRBY and plain addition are exact, so replacing a score many times
// over never leaves a drift (floating sums would), and both stores add up to the same mean.
const SCORE_SCALE = 1_000_000;

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A new random run id (a v4 UUID: 122 random bits, so feedback cannot be aimed at guessed runs). */
export function newRunId(): string {
  return randomUUID();
}

export function isRunId(id: unknown): id is string {
  return typeof id === "string" && RUN_ID.test(id);
}

export function createRunStore(options: RunStoreOptions): RunStore {
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_RUN_TTL_SECONDS;
  const latencySamples = options.latencySamples ?? DEFAULT_LATENCY_SAMPLES;
  assertPositiveInteger("ttlSeconds", ttlSeconds);
  assertPositiveInteger("latencySamples", latencySamples);
  const prices = options.prices ?? PRICES;
  if (options.client) {
    return new RedisRunStore({
      client: options.client,
      prefix: options.prefix,
      ttlSeconds,
      prices,
      latencySamples,
    });
  }
  return new FileRunStore({
    file: options.dataDir
      ? path.join(options.dataDir, "runs", `${encodeURIComponent(options.prefix)}.json`)
      : undefined,
    ttlSeconds,
    prices,
    latencySamples,
    maxRuns: options.maxRuns,
    flushDelayMs: options.flushDelayMs,
    onError: options.onError,
  });
}

/** What both stores keep per chain and variant; stats are worked out from it on read. */
interface VariantTotals {
  configHash: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  feedbackCount: number;
  feedbackSumMicros: number;
  /** Runs whose latest score is above 0, and below it. */
  feedbackUp: number;
  feedbackDown: number;
  /** Tokens per model, so that the cost follows the price table in force when stats are read. */
  byModel: Record<string, { input: number; output: number }>;
}

type FeedbackSign = "up" | "down" | "none";

/** Which thumb a score counts as: only its sign matters, so 0.2 is a (lukewarm) thumbs up. */
function signOf(score: number): FeedbackSign {
  return score > 0 ? "up" : score < 0 ? "down" : "none";
}

function modelTokens(byModel: VariantTotals["byModel"], model: string): { input: number; output: number } {
  byModel[model] ??= { input: 0, output: 0 };
  return byModel[model];
}

function summarize(
  variant: string,
  totals: VariantTotals,
  latencies: number[],
  prices: PriceTable,
): VariantStats {
  const sorted = [...latencies].sort((a, b) => a - b);
  let cost: number | null = 0;
  for (const [model, tokens] of Object.entries(totals.byModel)) {
    // Tokens cost nothing whatever the model: only an unpriced model that used some makes the cost unknown.
    if (tokens.input === 0 && tokens.output === 0) continue;
    const c = costFor(model, tokens.input, tokens.output, prices);
    if (c === null) {
      cost = null;
      break;
    }
    cost += c;
  }
  const { feedbackCount: count, feedbackSumMicros: sum, feedbackUp: up, feedbackDown: down } = totals;
  return {
    variant,
    configHash: totals.configHash,
    requests: totals.requests,
    // One division, so that the mean is the double nearest the exact one (0.5, not 0.49999…).
    feedback: {
      count,
      mean: count === 0 ? null : sum / (count * SCORE_SCALE),
      up,
      down,
      positiveShare: up + down === 0 ? null : up / (up + down),
    },
    latencyMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95) },
    tokens: { input: totals.inputTokens, output: totals.outputTokens },
    // Rounded to a millionth of a cent: past that, float noise (0.00084000000000000001).
    estimatedCostUsd: cost === null ? null : Math.round(cost * 1e8) / 1e8,
  };
}

/** Nearest rank: the smallest sample with at least p% of the samples at or below it; always a real latency. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  // Integer arithmetic first: 0.95 * 20 in floating point could land just above 19 and take the wrong rank.
  return sorted[Math.max(0, Math.ceil((p * sorted.length) / 100) - 1)];
}

// ---------------------------------------------------------------------------------------------------------------
// Redis

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

// ---------------------------------------------------------------------------------------------------------------
// In process, persisted to a file

interface FileTotals extends VariantTotals {
  /** The latest latencies, oldest first. */
  latencies: number[];
}

interface PersistedRuns {
  version: 1;
  /** Least recently used first, so that a reload keeps the eviction order. */
  runs: StoredRun[];
  totals: Record<string, Record<string, FileTotals>>;
}

interface FileRunStoreOptions {
  /** Where to persist; in memory only when absent. */
  file?: string;
  ttlSeconds: number;
  prices: PriceTable;
  latencySamples: number;
  maxRuns?: number;
  flushDelayMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Runs in a bounded LRU map and the same totals and latency windows as in Redis, in one JSON file written
 * atomically: runs and totals always agree on disk, so a reload can never count a replaced score twice.
 * Changes are written after `flushDelayMs`, so that a burst of answers costs one write.
 */
export class FileRunStore implements RunStore {
  readonly file?: string;
  private readonly ttlMs: number;
  private readonly prices: PriceTable;
  private readonly latencySamples: number;
  private readonly flushDelayMs: number;
  private readonly onError: (error: unknown) => void;
  private readonly runs: LruMap<string, StoredRun>;
  private readonly totals = new Map<string, Map<string, FileTotals>>();
  private loading?: Promise<void>;
  private dirty = false;
  private closed = false;
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();

  constructor(options: FileRunStoreOptions) {
    this.file = options.file;
    this.ttlMs = options.ttlSeconds * 1000;
    this.prices = options.prices;
    this.latencySamples = options.latencySamples;
    this.flushDelayMs = options.flushDelayMs ?? 1_000;
    // A background write has no caller to reject; without a listener, say so on stderr rather than nowhere.
    this.onError = options.onError ?? ((error) => process.emitWarning(error as Error));
    this.runs = new LruMap({ maxSize: options.maxRuns ?? DEFAULT_MAX_RUNS });
  }

  /**
   * Loads the persisted runs. Every method waits for it, so calling it is optional; a composition root can
   * await it to fail at start-up on a damaged file rather than at the first request.
   */
  open(): Promise<void> {
    this.loading ??= this.load();
    return this.loading;
  }

  async record(run: RunRecord): Promise<void> {
    assertRun(run);
    await this.open();
    this.assertOpen();
    this.runs.set(run.runId, structuredClone(run));
    const byVariant = this.totals.get(run.chain) ?? new Map<string, FileTotals>();
    this.totals.set(run.chain, byVariant);
    const totals = byVariant.get(run.variant) ?? emptyTotals();
    byVariant.set(run.variant, totals);
    totals.configHash = run.configHash;
    totals.requests += 1;
    totals.inputTokens += run.inputTokens;
    totals.outputTokens += run.outputTokens;
    const tokens = modelTokens(totals.byModel, run.model);
    tokens.input += run.inputTokens;
    tokens.output += run.outputTokens;
    totals.latencies.push(run.latencyMs);
    if (totals.latencies.length > this.latencySamples) {
      totals.latencies.splice(0, totals.latencies.length - this.latencySamples);
    }
    this.changed();
  }

  async get(runId: string): Promise<StoredRun | undefined> {
    await this.open();
    const run = this.live(runId);
    return run && structuredClone(run);
  }

  async feedback(
    runId: string,
    feedback: { score: number; comment?: string },
  ): Promise<"recorded" | "unknown_run"> {
    assertScore(feedback.score);
    await this.open();
    this.assertOpen();
    const run = this.live(runId);
    if (!run) return "unknown_run";
    const totals = this.totals.get(run.chain)?.get(run.variant);
    if (!totals) throw new Error(`Run ${runId} has no totals for ${run.chain}/${run.variant}`);
    if (run.feedback) {
      totals.feedbackSumMicros -= Math.round(run.feedback.score * SCORE_SCALE);
      countSign(totals, run.feedback.score, -1);
    } else totals.feedbackCount += 1;
    totals.feedbackSumMicros += Math.round(feedback.score * SCORE_SCALE);
    countSign(totals, feedback.score, 1);
    run.feedback = { score: feedback.score, at: new Date().toISOString() };
    if (feedback.comment !== undefined) run.feedback.comment = feedback.comment;
    this.changed();
    return "recorded";
  }

  async stats(chain: string): Promise<VariantStats[]> {
    await this.open();
    const byVariant = this.totals.get(chain);
    if (!byVariant) return [];
    return [...byVariant.keys()].sort().map((variant) => {
      const totals = byVariant.get(variant) as FileTotals;
      return summarize(variant, totals, totals.latencies, this.prices);
    });
  }

  /** Writes pending changes now; one write at a time, in order. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    // After the write in progress, whether it failed or not (its own caller has its error).
    this.writing = this.writing.then(
      () => this.write(),
      () => this.write(),
    );
    return this.writing;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private async load(): Promise<void> {
    if (!this.file) return;
    let raw: string;
    try {
      raw = await readFile(this.file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    let data: PersistedRuns;
    try {
      data = JSON.parse(raw) as PersistedRuns;
    } catch (error) {
      throw new Error(`${this.file} is not valid JSON: ${(error as Error).message}`);
    }
    if (data.version !== 1) throw new Error(`${this.file}: unknown runs file version ${data.version}`);
    for (const run of data.runs) if (!this.expired(run)) this.runs.set(run.runId, run);
    const uncounted = new Set<FileTotals>();
    for (const [chain, byVariant] of Object.entries(data.totals)) {
      this.totals.set(chain, new Map(Object.entries(byVariant)));
      for (const totals of Object.values(byVariant)) {
        if (totals.feedbackUp !== undefined) continue;
        totals.feedbackUp = 0;
        totals.feedbackDown = 0;
        uncounted.add(totals);
      }
    }
    // A file written before up/down were counted: count them over the runs it still holds, the only ones whose
    // feedback can be replaced (and so taken off a counter) from now on.
    for (const run of this.runs.values()) {
      const totals = this.totals.get(run.chain)?.get(run.variant);
      if (run.feedback && totals && uncounted.has(totals)) countSign(totals, run.feedback.score, 1);
    }
  }

  private async write(): Promise<void> {
    if (!this.dirty || !this.file) return;
    this.dirty = false;
    const data: PersistedRuns = {
      version: 1,
      runs: [...this.runs.values()].filter((run) => !this.expired(run)),
      totals: Object.fromEntries(
        [...this.totals].map(([chain, byVariant]) => [chain, Object.fromEntries(byVariant)]),
      ),
    };
    // Serialised now, so that changes made while the file is being written wait for the next write.
    const json = JSON.stringify(data);
    try {
      await mkdir(path.dirname(this.file), { recursive: true });
      await writeFileAtomic(this.file, json);
    } catch (error) {
      this.dirty = true;
      throw error;
    }
  }

  private changed(): void {
    this.dirty = true;
    if (!this.file || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(this.onError);
    }, this.flushDelayMs);
    // A pending write must not keep the process alive; close() writes whatever is left.
    this.timer.unref();
  }

  /** The run, if it is known and younger than the TTL; reading it counts as a use for the LRU order. */
  private live(runId: string): StoredRun | undefined {
    if (!isRunId(runId)) return undefined;
    const run = this.runs.get(runId);
    if (!run) return undefined;
    if (this.expired(run)) {
      this.runs.delete(runId);
      return undefined;
    }
    return run;
  }

  private expired(run: RunRecord): boolean {
    return Date.parse(run.at) + this.ttlMs <= Date.now();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("The run store is closed.");
  }
}

function emptyTotals(): FileTotals {
  return {
    configHash: "",
    requests: 0,
    inputTokens: 0,
    outputTokens: 0,
    feedbackCount: 0,
    feedbackSumMicros: 0,
    feedbackUp: 0,
    feedbackDown: 0,
    byModel: {},
    latencies: [],
  };
}

function countSign(totals: VariantTotals, score: number, by: 1 | -1): void {
  const sign = signOf(score);
  if (sign === "up") totals.feedbackUp += by;
  else if (sign === "down") totals.feedbackDown += by;
}

// ---------------------------------------------------------------------------------------------------------------
// Checks shared by both stores

function assertRun(run: RunRecord): void {
  // A record under an id that get() and feedback() refuse could never receive feedback: the caller's bug.
  if (!isRunId(run.runId)) throw new Error(`Not a run id (use newRunId()): ${JSON.stringify(run.runId)}`);
  for (const field of ["chain", "variant", "configHash", "promptHash", "model"] as const) {
    if (typeof run[field] !== "string" || run[field] === "") {
      throw new TypeError(`run.${field} must be a non-empty string`);
    }
  }
  if (!(Number.isFinite(run.latencyMs) && run.latencyMs >= 0)) {
    throw new RangeError(`run.latencyMs must be a finite number >= 0, got ${run.latencyMs}`);
  }
  for (const field of ["inputTokens", "outputTokens"] as const) {
    // Integers: Redis counts them with HINCRBY.
    if (!(Number.isSafeInteger(run[field]) && run[field] >= 0)) {
      throw new RangeError(`run.${field} must be an integer >= 0, got ${run[field]}`);
    }
  }
  if (Number.isNaN(Date.parse(run.at)))
    throw new RangeError(`run.at is not a date: ${JSON.stringify(run.at)}`);
}

function assertScore(score: number): void {
  if (!(typeof score === "number" && score >= -1 && score <= 1)) {
    throw new RangeError(`A feedback score is a number from -1 to 1, got ${score}`);
  }
}

function assertPositiveInteger(name: string, value: number): void {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

// Runs of the qa chains (one per answer: chain, variant, config and prompt hashes, model, latency, tokens), the
// feedback users give on them, and per chain and variant the aggregates GET /chains/:name/stats shows. Here: the
// store in this process, persisted to the data folder, and what it shares with the one in Redis (shared by every
// process: redis-run-store.ts, which only the Redis stores import, so that the offline start never loads redis).
import { randomUUID } from "node:crypto";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { costFor, PRICES, type PriceTable } from "../models/prices.ts";
import type { DataFiles } from "./at-rest/data-files.ts";
import { plainFiles } from "./at-rest/plain-files.ts";
import { LruMap } from "./lru-map.ts";

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
  /** File store: how its file is read and written; plainly by default, or sealed (DATA_KMS_KEY_ID). */
  files?: DataFiles;
}

export const DEFAULT_RUN_TTL_SECONDS = 30 * 24 * 3600;
export const DEFAULT_LATENCY_SAMPLES = 1_000;
export const DEFAULT_MAX_RUNS = 100_000;

// Scores are summed as integer millionths: HINCRBY and plain addition are exact, so replacing a score many times
// over never leaves a drift (floating sums would), and both stores add up to the same mean.
export const SCORE_SCALE = 1_000_000;

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A new random run id (a v4 UUID: 122 random bits, so feedback cannot be aimed at guessed runs). */
export function newRunId(): string {
  return randomUUID();
}

export function isRunId(id: unknown): id is string {
  return typeof id === "string" && RUN_ID.test(id);
}

/** The options both stores share, defaults filled in and checked (a RangeError for a bad number). */
export function runStoreSettings(
  options: Pick<RunStoreOptions, "ttlSeconds" | "prices" | "latencySamples">,
): {
  ttlSeconds: number;
  prices: PriceTable;
  latencySamples: number;
} {
  const ttlSeconds = options.ttlSeconds ?? DEFAULT_RUN_TTL_SECONDS;
  const latencySamples = options.latencySamples ?? DEFAULT_LATENCY_SAMPLES;
  assertPositiveInteger("ttlSeconds", ttlSeconds);
  assertPositiveInteger("latencySamples", latencySamples);
  return { ttlSeconds, prices: options.prices ?? PRICES, latencySamples };
}

/** Runs in this process, persisted under `dataDir`; createRedisRunStore (redis-run-store.ts) keeps them in Redis. */
export function createRunStore(options: RunStoreOptions): RunStore {
  const { ttlSeconds, prices, latencySamples } = runStoreSettings(options);
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
    files: options.files,
  });
}

/** What both stores keep per chain and variant; stats are worked out from it on read. */
export interface VariantTotals {
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
export function signOf(score: number): FeedbackSign {
  return score > 0 ? "up" : score < 0 ? "down" : "none";
}

export function modelTokens(
  byModel: VariantTotals["byModel"],
  model: string,
): { input: number; output: number } {
  byModel[model] ??= { input: 0, output: 0 };
  return byModel[model];
}

export function summarize(
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
  files?: DataFiles;
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
  private readonly files: DataFiles;
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
    this.files = options.files ?? plainFiles;
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
      raw = (await this.files.readFile(this.file)).toString("utf8");
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
      await this.files.writeFileAtomic(this.file, json);
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

export function assertRun(run: RunRecord): void {
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

export function assertScore(score: number): void {
  if (!(typeof score === "number" && score >= -1 && score <= 1)) {
    throw new RangeError(`A feedback score is a number from -1 to 1, got ${score}`);
  }
}

function assertPositiveInteger(name: string, value: number): void {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

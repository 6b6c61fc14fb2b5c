// The run store's contract over both backends (the in-process store persisted to a temporary data folder, plain
// or sealed, and Redis on the real Redis 8 the test run starts), with stats checked against figures worked out by
// hand; then what only each promises: the file survives a reopen (sealed at rest when asked), Redis expires run
// hashes; and the price table's matching.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { costFor, PRICES, priceFor } from "../../src/models/prices.ts";
import { SealedFileError, sealedFiles } from "../../src/store/at-rest/sealed-files.ts";
import type { RedisNode } from "../../src/store/redis-client.ts";
import { createRedisRunStore } from "../../src/store/redis-run-store.ts";
import {
  createRunStore,
  DEFAULT_RUN_TTL_SECONDS,
  type FileRunStore,
  newRunId,
  type RunRecord,
  type RunStore,
  type RunStoreOptions,
} from "../../src/store/run-store.ts";
import { useRedisClients } from "../helpers/redis.ts";

const redis = useRedisClients();
let client: RedisNode;
let other: RedisNode;
beforeAll(() => {
  ({ client, other } = redis);
});

async function dropPrefix(prefix: string) {
  for await (const key of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 500 })) await client.del(key);
}

type Options = Omit<RunStoreOptions, "client" | "prefix" | "dataDir">;

/** Two handles on one store: two Redis clients (as two processes would have), or the file store twice. */
interface Opened {
  a: RunStore;
  b: RunStore;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "counsel-runs-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const backends: [string, (options?: Options) => Promise<Opened>][] = [
  [
    "file store",
    async (options = {}) => {
      const store = createRunStore({ prefix: "runs", dataDir: await tempDir(), ...options });
      cleanups.unshift(() => store.close());
      return { a: store, b: store };
    },
  ],
  [
    "file store with sealed files",
    async (options = {}) => {
      const files = sealedFiles(randomBytes(32));
      const store = createRunStore({ prefix: "runs", dataDir: await tempDir(), files, ...options });
      cleanups.unshift(() => store.close());
      return { a: store, b: store };
    },
  ],
  [
    "Redis store",
    async (options = {}) => {
      const prefix = `test:runs:${randomUUID().slice(0, 8)}`;
      cleanups.push(() => dropPrefix(prefix));
      return {
        a: createRedisRunStore({ client, prefix, ...options }),
        b: createRedisRunStore({ client: other, prefix, ...options }),
      };
    },
  ],
];

let sequence = 0;
function aRun(overrides: Partial<RunRecord> = {}): RunRecord {
  sequence += 1;
  return {
    runId: newRunId(),
    chain: "qa",
    variant: "baseline",
    configHash: "cfg-1",
    promptHash: "prompt-1",
    model: "extractive",
    latencyMs: 100,
    inputTokens: 0,
    outputTokens: 0,
    at: new Date(Date.now() - 1_000 + sequence).toISOString(),
    ...overrides,
  };
}

describe.each(backends)("%s (run store contract)", (_name, open) => {
  it("returns a recorded run as it was recorded, and undefined for an unknown or malformed id", async () => {
    const { a, b } = await open();
    const run = aRun({
      model: "bedrock:us.amazon.nova-micro-v1:0",
      latencyMs: 1234.5,
      inputTokens: 812,
      outputTokens: 96,
    });
    await a.record(run);
    expect(await a.get(run.runId)).toEqual(run);
    expect(await b.get(run.runId)).toEqual(run);
    expect(await a.get(newRunId())).toBeUndefined();
    expect(await a.get("not-a-run")).toBeUndefined();
    expect(await a.get(`${run.runId}*`)).toBeUndefined();
  });

  it("answers unknown_run to feedback on a run it never recorded, counting nothing", async () => {
    const { a } = await open();
    await a.record(aRun());
    expect(await a.feedback(newRunId(), { score: 1 })).toBe("unknown_run");
    expect(await a.feedback("00000000-0000-0000-0000-000000000000", { score: 1 })).toBe("unknown_run");
    const [stats] = await a.stats("qa");
    expect(stats.feedback).toEqual({ count: 0, mean: null, up: 0, down: 0, positiveShare: null });
  });

  it("replaces a run's earlier feedback instead of adding to it", async () => {
    const { a, b } = await open();
    const [r1, r2] = [aRun(), aRun()];
    await a.record(r1);
    await a.record(r2);
    expect(await a.feedback(r1.runId, { score: -1, comment: "wrong figure" })).toBe("recorded");
    expect(await b.feedback(r1.runId, { score: 1, comment: "right after all" })).toBe("recorded");
    expect(await a.feedback(r2.runId, { score: 0 })).toBe("recorded");
    // r1 counts once, with its latest score: (1 + 0) / 2 = 0.5. Added, it would be (-1 + 1 + 0) / 3 = 0.
    expect((await a.stats("qa"))[0].feedback).toEqual({
      count: 2,
      mean: 0.5,
      up: 1,
      down: 0,
      positiveShare: 1,
    });
    expect((await a.get(r1.runId))?.feedback).toMatchObject({ score: 1, comment: "right after all" });

    // A replacement without a comment leaves none behind; the mean is now (0.25 + 0) / 2 = 0.125.
    await b.feedback(r1.runId, { score: 0.25 });
    const feedback = (await a.get(r1.runId))?.feedback;
    expect(feedback?.score).toBe(0.25);
    expect(feedback?.comment).toBeUndefined();
    expect(Number.isNaN(Date.parse(feedback?.at ?? ""))).toBe(false);
    expect((await a.stats("qa"))[0].feedback).toEqual({
      count: 2,
      mean: 0.125,
      up: 1,
      down: 0,
      positiveShare: 1,
    });
  });

  it("refuses a score outside [-1, 1] with a RangeError and records nothing, taking -1 and 1 themselves", async () => {
    const { a } = await open();
    const run = aRun();
    await a.record(run);
    for (const score of [1.5, -1.01, 2, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(a.feedback(run.runId, { score })).rejects.toThrow(RangeError);
    }
    // Refused before the run is looked up: a bad score is the caller's fault whatever the run.
    await expect(a.feedback(newRunId(), { score: 7 })).rejects.toThrow(RangeError);
    expect((await a.stats("qa"))[0].feedback).toEqual({
      count: 0,
      mean: null,
      up: 0,
      down: 0,
      positiveShare: null,
    });
    expect(await a.feedback(run.runId, { score: -1 })).toBe("recorded");
    expect(await a.feedback(run.runId, { score: 1 })).toBe("recorded");
    expect((await a.stats("qa"))[0].feedback).toEqual({
      count: 1,
      mean: 1,
      up: 1,
      down: 0,
      positiveShare: 1,
    });
  });

  it("sums requests and tokens, averages feedback, and takes p50/p95 and cost per variant as worked by hand", async () => {
    const { a, b } = await open();
    // baseline: 10 runs on Nova Micro (via a us. inference profile), the last one after a config change.
    const latencies = [120, 80, 200, 95, 150, 110, 300, 90, 130, 100];
    const baseline = latencies.map((latencyMs, i) =>
      aRun({
        variant: "baseline",
        configHash: i === 9 ? "cfg-2" : "cfg-1",
        model: "bedrock:us.amazon.nova-micro-v1:0",
        latencyMs,
        inputTokens: 1000 + 100 * i,
        outputTokens: 200,
      }),
    );
    // concise: two Claude Sonnet 4.5 runs (global profile, dated id) and one extractive run.
    const sonnet = "bedrock:global.anthropic.claude-sonnet-4-5-20250929-v1:0";
    const concise = [
      aRun({ variant: "concise", model: sonnet, latencyMs: 900, inputTokens: 2000, outputTokens: 500 }),
      aRun({ variant: "concise", model: sonnet, latencyMs: 1500, inputTokens: 2000, outputTokens: 500 }),
      aRun({ variant: "concise", model: "extractive", latencyMs: 40 }),
    ];
    // mystery: a model the price table does not know.
    const mystery = aRun({
      variant: "mystery",
      model: "bedrock:acme.mystery-v1:0",
      latencyMs: 70,
      inputTokens: 10,
      outputTokens: 5,
    });
    for (const [i, run] of [...baseline, ...concise, mystery].entries()) await (i % 2 ? a : b).record(run);
    // Another chain's runs stay out of this one's stats.
    await a.record(aRun({ chain: "qa-other", variant: "baseline", latencyMs: 5_000, inputTokens: 99 }));

    await a.feedback(baseline[0].runId, { score: -1 });
    await b.feedback(baseline[0].runId, { score: 1 }); // replaces the -1
    await a.feedback(baseline[1].runId, { score: 0.5 });
    await b.feedback(baseline[2].runId, { score: -0.5 });
    await a.feedback(baseline[3].runId, { score: 0 });
    await b.feedback(mystery.runId, { score: -1 });

    expect(await b.stats("qa")).toEqual([
      {
        variant: "baseline",
        configHash: "cfg-2", // of the latest run
        requests: 10,
        // 1 + 0.5 - 0.5 + 0 = 1 over 4 runs with feedback = 0.25; thumbs: 1 and 0.5 up, -0.5 down, 0 neither.
        feedback: { count: 4, mean: 0.25, up: 2, down: 1, positiveShare: 2 / 3 },
        // Sorted: 80 90 95 100 110 120 130 150 200 300. Nearest rank: p50 is the ceil(0.50 × 10) = 5th, 110;
        // p95 the ceil(0.95 × 10) = 10th, 300.
        latencyMs: { p50: 110, p95: 300 },
        // Input: 10 × 1000 + 100 × (0 + 1 + … + 9) = 10000 + 4500 = 14500. Output: 10 × 200 = 2000.
        tokens: { input: 14_500, output: 2_000 },
        // Nova Micro, $0.000035 in / $0.00014 out per 1k: 14.5 × 0.000035 + 2 × 0.00014 = 0.0005075 + 0.00028.
        estimatedCostUsd: 0.0007875,
      },
      {
        variant: "concise",
        configHash: "cfg-1",
        requests: 3,
        feedback: { count: 0, mean: null, up: 0, down: 0, positiveShare: null },
        // Sorted: 40 900 1500. p50: ceil(1.5) = 2nd, 900; p95: ceil(2.85) = 3rd, 1500.
        latencyMs: { p50: 900, p95: 1500 },
        tokens: { input: 4_000, output: 1_000 },
        // Sonnet 4.5, $0.003 in / $0.015 out per 1k: 4 × 0.003 + 1 × 0.015 = 0.027; the extractive run is free.
        estimatedCostUsd: 0.027,
      },
      {
        variant: "mystery",
        configHash: "cfg-1",
        requests: 1,
        feedback: { count: 1, mean: -1, up: 0, down: 1, positiveShare: 0 },
        latencyMs: { p50: 70, p95: 70 },
        tokens: { input: 10, output: 5 },
        // No price for acme.mystery: no cost rather than a made-up one.
        estimatedCostUsd: null,
      },
    ]);
    expect((await a.stats("qa-other")).map((s) => [s.variant, s.requests, s.tokens.input])).toEqual([
      ["baseline", 1, 99],
    ]);
  });

  it("counts 50 runs and their feedback exactly when two clients record and score them at once", async () => {
    const { a, b } = await open();
    const runs = Array.from({ length: 50 }, (_, i) =>
      aRun({ latencyMs: i + 1, inputTokens: i, outputTokens: 2 * i, model: "bedrock:amazon.nova-lite-v1:0" }),
    );
    await Promise.all(runs.map((run, i) => (i % 2 ? a : b).record(run)));
    // Each run scored by both clients at once (-1 from one, 1 from the other): whichever lands last stays, and
    // each run counts once.
    const outcomes = await Promise.all(
      runs.flatMap((run) => [a.feedback(run.runId, { score: -1 }), b.feedback(run.runId, { score: 1 })]),
    );
    expect(outcomes.every((o) => o === "recorded")).toBe(true);
    const finals = await Promise.all(runs.map(async (run) => (await a.get(run.runId))?.feedback?.score));
    expect(finals.every((score) => score === -1 || score === 1)).toBe(true);
    const finalSum = finals.reduce((sum: number, s) => sum + (s ?? 0), 0);

    const [stats] = await b.stats("qa");
    expect(stats.requests).toBe(50);
    // Input 0 + 1 + … + 49 = 1225; output twice that, 2450.
    expect(stats.tokens).toEqual({ input: 1225, output: 2450 });
    expect(stats.feedback.count).toBe(50);
    expect(stats.feedback.mean).toBe(finalSum / 50);
    const ups = finals.filter((score) => score === 1).length;
    expect(stats.feedback).toMatchObject({ up: ups, down: 50 - ups, positiveShare: ups / 50 });
    // Latencies 1 … 50: p50 the 25th, 25; p95 the ceil(47.5) = 48th, 48.
    expect(stats.latencyMs).toEqual({ p50: 25, p95: 48 });
    // Nova Lite, $0.00006 in / $0.00024 out per 1k: 1.225 × 0.00006 + 2.45 × 0.00024 = 0.0000735 + 0.000588.
    expect(stats.estimatedCostUsd).toBeCloseTo(0.0006615, 12);
  });

  it("forgets a run older than its TTL (no get, no feedback) but keeps it in the stats", async () => {
    const { a } = await open({ ttlSeconds: 3600 });
    const old = aRun({ at: new Date(Date.now() - 2 * 3600 * 1000).toISOString(), latencyMs: 42 });
    await a.record(old);
    expect(await a.get(old.runId)).toBeUndefined();
    expect(await a.feedback(old.runId, { score: 1 })).toBe("unknown_run");
    const [stats] = await a.stats("qa");
    expect(stats).toMatchObject({ requests: 1, feedback: { count: 0 }, latencyMs: { p50: 42 } });
  });

  it("takes latency percentiles over the latest latencySamples runs only", async () => {
    const { a } = await open({ latencySamples: 4 });
    for (const latencyMs of [1000, 1000, 10, 20, 30, 40]) await a.record(aRun({ latencyMs }));
    // The window holds 10 20 30 40: p50 the ceil(2) = 2nd, 20; p95 the ceil(3.8) = 4th, 40.
    const [stats] = await a.stats("qa");
    expect(stats.requests).toBe(6);
    expect(stats.latencyMs).toEqual({ p50: 20, p95: 40 });
  });

  it("prices tokens from the table it is given", async () => {
    const { a } = await open({ prices: { "acme.model": { inputPer1k: 1, outputPer1k: 2 } } });
    await a.record(aRun({ model: "bedrock:eu.acme.model-v2:0", inputTokens: 500, outputTokens: 250 }));
    // 0.5 × $1 + 0.25 × $2 = $1.
    expect((await a.stats("qa"))[0].estimatedCostUsd).toBe(1);
  });

  it("answers [] for a chain without runs", async () => {
    const { a } = await open();
    expect(await a.stats("no-such-chain")).toEqual([]);
  });

  it("refuses a run whose id or numbers it could not store faithfully", async () => {
    const { a } = await open();
    await expect(a.record(aRun({ runId: "run-1" }))).rejects.toThrow(/newRunId/);
    await expect(a.record(aRun({ inputTokens: 1.5 }))).rejects.toThrow(RangeError);
    await expect(a.record(aRun({ latencyMs: -1 }))).rejects.toThrow(RangeError);
    await expect(a.record(aRun({ at: "yesterday" }))).rejects.toThrow(RangeError);
    expect(await a.stats("qa")).toEqual([]);
  });
});

describe("file store specifics", () => {
  const summary = (store: RunStore) => store.stats("qa");

  it("persists runs, feedback and stats to <dataDir>/runs/<prefix>.json, the same after a reopen", async () => {
    const dir = await tempDir();
    const first = createRunStore({ prefix: "runs", dataDir: dir });
    const runs = [
      aRun({ latencyMs: 10 }),
      aRun({ latencyMs: 30, variant: "concise" }),
      aRun({ latencyMs: 20 }),
    ];
    for (const run of runs) await first.record(run);
    await first.feedback(runs[0].runId, { score: 0.5, comment: "ok" });
    const before = await summary(first);
    await first.flush();
    expect((await stat(path.join(dir, "runs", "runs.json"))).isFile()).toBe(true);
    await first.close();
    await expect(first.record(aRun())).rejects.toThrow(/closed/);

    const second = createRunStore({ prefix: "runs", dataDir: dir });
    cleanups.unshift(() => second.close());
    expect(await summary(second)).toEqual(before);
    expect(await second.get(runs[0].runId)).toMatchObject({
      ...runs[0],
      feedback: { score: 0.5, comment: "ok" },
    });
    // A replacement after the reopen still replaces: (−0.5) over 1 run, not (0.5 − 0.5) over 2.
    await second.feedback(runs[0].runId, { score: -0.5 });
    expect((await summary(second))[0].feedback).toEqual({
      count: 1,
      mean: -0.5,
      up: 0,
      down: 1,
      positiveShare: 0,
    });
  });

  it("writes by itself flushDelayMs after a change", async () => {
    const dir = await tempDir();
    const store = createRunStore({ prefix: "runs", dataDir: dir, flushDelayMs: 20 });
    cleanups.unshift(() => store.close());
    const run = aRun();
    await store.record(run);
    const file = path.join(dir, "runs", "runs.json");
    await expect.poll(() => readFile(file, "utf8").catch(() => ""), { timeout: 2_000 }).toContain(run.runId);
  });

  it("evicts the least recently used run past maxRuns, keeping what it added to the stats", async () => {
    const store = createRunStore({ prefix: "runs", maxRuns: 2 }); // no dataDir: memory only
    const [r1, r2, r3] = [aRun(), aRun(), aRun()];
    await store.record(r1);
    await store.record(r2);
    await store.get(r1.runId); // r1 is now more recent than r2
    await store.record(r3);
    expect(await store.get(r2.runId)).toBeUndefined();
    expect(await store.feedback(r2.runId, { score: 1 })).toBe("unknown_run");
    expect(await store.feedback(r1.runId, { score: 1 })).toBe("recorded");
    expect((await store.stats("qa"))[0]).toMatchObject({ requests: 3, feedback: { count: 1, mean: 1 } });
  });

  it("counts thumbs up and down from the runs it holds when its file was written before it counted them", async () => {
    const dir = await tempDir();
    const [liked, disliked] = [aRun(), aRun()];
    // A file as the store wrote it before up/down were counted: feedback count and sum only. A third run with
    // feedback (score -1) has since expired: it is in the count and mean, and can no longer be replaced.
    const legacy = {
      version: 1,
      runs: [
        { ...liked, feedback: { score: 1, at: liked.at } },
        { ...disliked, feedback: { score: -0.5, at: disliked.at } },
      ],
      totals: {
        qa: {
          baseline: {
            configHash: "cfg-1",
            requests: 3,
            inputTokens: 0,
            outputTokens: 0,
            feedbackCount: 3,
            feedbackSumMicros: -500_000,
            byModel: { extractive: { input: 0, output: 0 } },
            latencies: [100, 100, 100],
          },
        },
      },
    };
    await mkdir(path.join(dir, "runs"));
    await writeFile(path.join(dir, "runs", "runs.json"), JSON.stringify(legacy));
    const store = createRunStore({ prefix: "runs", dataDir: dir });
    cleanups.unshift(() => store.close());
    expect((await store.stats("qa"))[0].feedback).toEqual({
      count: 3,
      mean: -0.5 / 3,
      up: 1,
      down: 1,
      positiveShare: 0.5,
    });
    // Replacing a counted score moves it from one thumb to the other, never below zero.
    await store.feedback(liked.runId, { score: -1 });
    expect((await store.stats("qa"))[0].feedback).toMatchObject({ up: 0, down: 2, positiveShare: 0 });
  });

  it("refuses a damaged file, naming it, rather than starting afresh", async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, "runs"));
    await writeFile(path.join(dir, "runs", "runs.json"), '{"version":1,"runs":[{"runId"');
    const store = createRunStore({ prefix: "runs", dataDir: dir }) as FileRunStore;
    await expect(store.open()).rejects.toThrow(/runs\.json is not valid JSON/);
    await expect(store.stats("qa")).rejects.toThrow(/runs\.json/);
  });
});

describe("file store with sealed files", () => {
  it("writes its file sealed, naming no run, and a store with the same key reads the same back", async () => {
    const dir = await tempDir();
    const files = sealedFiles(randomBytes(32));
    const first = createRunStore({ prefix: "runs", dataDir: dir, files });
    const run = aRun({ latencyMs: 40 });
    await first.record(run);
    await first.feedback(run.runId, { score: 1, comment: "cited the right clause" });
    const before = await first.stats("qa");
    await first.close();
    const onDisk = await readFile(path.join(dir, "runs", "runs.json"));
    expect(onDisk.includes(run.runId)).toBe(false);
    expect(onDisk.includes("cited the right clause")).toBe(false);

    const second = createRunStore({ prefix: "runs", dataDir: dir, files });
    cleanups.unshift(() => second.close());
    expect(await second.stats("qa")).toEqual(before);
    expect(await second.get(run.runId)).toMatchObject({
      ...run,
      feedback: { comment: "cited the right clause" },
    });
  });

  it("refuses its file when opened with another data key, rather than starting afresh", async () => {
    const dir = await tempDir();
    const first = createRunStore({ prefix: "runs", dataDir: dir, files: sealedFiles(randomBytes(32)) });
    await first.record(aRun());
    await first.close();
    const other = createRunStore({ prefix: "runs", dataDir: dir, files: sealedFiles(randomBytes(32)) });
    await expect((other as FileRunStore).open()).rejects.toThrow(SealedFileError);
  });
});

describe("Redis store specifics", () => {
  const uniquePrefix = () => {
    const prefix = `test:runs:${randomUUID().slice(0, 8)}`;
    cleanups.push(() => dropPrefix(prefix));
    return prefix;
  };

  it("keeps a run as a hash expiring ttlSeconds after the run, and aggregates in a set, a hash and a list", async () => {
    const prefix = uniquePrefix();
    const store = createRedisRunStore({ client, prefix });
    const run = aRun({ at: new Date().toISOString() });
    await store.record(run);
    const keys: string[] = [];
    for await (const key of client.scanIterator({ MATCH: `${prefix}:*` })) keys.push(key);
    expect(keys.sort()).toEqual(
      [`run:${run.runId}`, "variants:qa", "totals:qa:baseline", "latency:qa:baseline"]
        .map((k) => `${prefix}:${k}`)
        .sort(),
    );
    expect(await client.type(`${prefix}:run:${run.runId}`)).toBe("hash");
    // Default 30 days, give or take the moments the test took.
    const ttl = await client.ttl(`${prefix}:run:${run.runId}`);
    expect(ttl).toBeLessThanOrEqual(DEFAULT_RUN_TTL_SECONDS);
    expect(ttl).toBeGreaterThan(DEFAULT_RUN_TTL_SECONDS - 60);
    expect(await client.ttl(`${prefix}:totals:qa:baseline`)).toBe(-1); // aggregates outlive the runs

    const short = createRedisRunStore({ client, prefix, ttlSeconds: 3600 });
    const other = aRun({ at: new Date().toISOString() });
    await short.record(other);
    const shortTtl = await client.ttl(`${prefix}:run:${other.runId}`);
    expect(shortTtl).toBeLessThanOrEqual(3600);
    expect(shortTtl).toBeGreaterThan(3540);
  });

  it("keeps feedback working after the server has forgotten its script", async () => {
    const store = createRedisRunStore({ client, prefix: uniquePrefix() });
    const run = aRun();
    await store.record(run);
    await client.scriptFlush();
    expect(await store.feedback(run.runId, { score: 0.5 })).toBe("recorded");
    expect(await store.feedback(run.runId, { score: 1 })).toBe("recorded");
    expect((await store.stats("qa"))[0].feedback).toEqual({
      count: 1,
      mean: 1,
      up: 1,
      down: 0,
      positiveShare: 1,
    });
  });

  it("takes nothing off up or down when replacing feedback given before it counted them", async () => {
    const prefix = uniquePrefix();
    const store = createRedisRunStore({ client, prefix });
    const run = aRun();
    await store.record(run);
    // Feedback as the store recorded it before up/down: a score in the run and the totals, no feedbackSign.
    await client.hSet(`${prefix}:run:${run.runId}`, { feedbackMicros: "1000000", feedbackScore: "1" });
    await client.hSet(`${prefix}:totals:qa:baseline`, { feedbackCount: "1", feedbackSumMicros: "1000000" });
    expect((await store.stats("qa"))[0].feedback).toMatchObject({ count: 1, up: 0, down: 0 });
    await store.feedback(run.runId, { score: -1 });
    expect((await store.stats("qa"))[0].feedback).toEqual({
      count: 1,
      mean: -1,
      up: 0,
      down: 1,
      positiveShare: 0,
    });
    await store.feedback(run.runId, { score: 0.5 });
    expect((await store.stats("qa"))[0].feedback).toMatchObject({ up: 1, down: 0, positiveShare: 1 });
  });

  it("shares runs between processes: one records, the other scores and reads the stats", async () => {
    const prefix = uniquePrefix();
    const [one, two] = [
      createRedisRunStore({ client, prefix }),
      createRedisRunStore({ client: other, prefix }),
    ];
    const run = aRun({ variant: "v2" });
    await one.record(run);
    expect(await two.feedback(run.runId, { score: 1 })).toBe("recorded");
    expect((await one.stats("qa")).map((s) => [s.variant, s.requests, s.feedback.mean])).toEqual([
      ["v2", 1, 1],
    ]);
  });
});

describe("priceFor", () => {
  it("matches Bedrock ids loosely: provider, inference-profile prefix, date and version suffixes", () => {
    const micro = PRICES["amazon.nova-micro"];
    for (const id of [
      "amazon.nova-micro-v1:0",
      "us.amazon.nova-micro-v1:0",
      "bedrock:eu.amazon.nova-micro-v1:0",
      "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-micro-v1:0",
      "amazon.nova-micro",
    ]) {
      expect(priceFor(id), id).toBe(micro);
    }
    expect(priceFor("amazon.titan-embed-text-v2:0")).toBe(PRICES["amazon.titan-embed-text-v2"]);
    expect(priceFor("cohere.embed-v4:0")).toBe(PRICES["cohere.embed-v4"]);
    expect(priceFor("us.anthropic.claude-sonnet-4-20250514-v1:0")).toBe(PRICES["anthropic.claude-sonnet-4"]);
    expect(priceFor("global.anthropic.claude-haiku-4-5-20251001-v1:0")).toBe(
      PRICES["anthropic.claude-haiku-4-5"],
    );
  });

  it("never prices one model as another whose id it starts with", () => {
    expect(priceFor("anthropic.claude-sonnet-4-5-20250929-v1:0")).toBe(PRICES["anthropic.claude-sonnet-4-5"]);
    expect(priceFor("amazon.nova-premier-v1:0")).toBeNull();
    expect(priceFor("amazon.nova-pro-max-v1:0")).toBeNull();
  });

  it("prices local and extractive models at zero and unknown ones at null", () => {
    expect(priceFor("extractive")).toEqual({ inputPer1k: 0, outputPer1k: 0 });
    expect(priceFor("local-hash-v1-1024")).toEqual({ inputPer1k: 0, outputPer1k: 0 });
    expect(priceFor("meta.llama3-70b-instruct-v1:0")).toBeNull();
    expect(costFor("meta.llama3-70b-instruct-v1:0", 1000, 1000)).toBeNull();
    // Titan v2, $0.00002 per 1k input tokens: 50,000 tokens cost 50 × 0.00002 = $0.001.
    expect(costFor("amazon.titan-embed-text-v2:0", 50_000, 0)).toBeCloseTo(0.001, 12);
  });
});

// `counsel worker` processes on the test run's real Redis 8, as a deployment runs them: a worker killed mid-job
// (SIGKILL) loses the job to another once its lock lapses, and nothing is indexed twice or lost; two workers
// running two jobs on the same documents never interleave their writes, and the later job's version wins whole;
// a worker stopped with SIGTERM finishes its job first. Embeddings are Bedrock's, on the emulator, slowed per
// call so that a job lasts long enough to be interrupted.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { JobView } from "../../src/jobs/queue.ts";
import { createServices, type Services } from "../../src/services/services.ts";
import type { Tenant } from "../../src/tenants/tenant.ts";
import { useBedrockEmulator } from "../helpers/bedrock.ts";
import { quiet, ROOT, tempDataDir, testSettings } from "../helpers/services.ts";

const DOCS = 120;
const documents = (version: string) =>
  Array.from({ length: DOCS }, (_, i) => ({
    text: `${version}: report ${i} on the delivery of ${i * 7} laptops to the northern depot. `.repeat(4),
    metadata: { doc_id: `report-${i}` },
  }));

describe("ingestion workers on Redis", () => {
  const bedrock = useBedrockEmulator({ invokeDelayMs: 50 });
  const prefix = `w${Math.random().toString(36).slice(2, 10)}`;
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let services: Services;
  let env: Record<string, string>;
  const workers: { child: ChildProcess; output: () => string }[] = [];

  beforeAll(async () => {
    data = await tempDataDir();
    env = {
      DATA_DIR: path.join(data.dir, "state"),
      REDIS_URL: inject("redisUrl"),
      REDIS_PREFIX: prefix,
      EMBEDDINGS_PROVIDER: "bedrock",
      EMBEDDINGS_DIMENSIONS: "256",
      INGEST_WORKERS: "0",
      // One embedding call at a time, of 50 ms: a job of 120 documents lasts about 6 s.
      EMBEDDINGS_CONCURRENCY: "1",
      INGEST_JOB_LOCK_MS: "1500",
      INGEST_JOB_BACKOFF_MS: "100",
      LOAD_EXAMPLES: "false",
    };
    services = await createServices(testSettings(env.DATA_DIR, env), quiet);
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => stop(w.child, "SIGKILL")));
    await services?.close();
    await data?.remove();
  });

  /** A `counsel worker` process, resolved once it takes jobs. */
  async function startWorker(concurrency = 1, extraEnv: Record<string, string> = {}) {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "src/cli.ts", "worker", "--concurrency", String(concurrency), "--grace", "20"],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          ...env,
          ...extraEnv,
          AWS_ENDPOINT_URL_BEDROCK_RUNTIME: process.env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME,
        } as Record<string, string>,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout?.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr?.on("data", (chunk) => {
      output += chunk;
    });
    const worker = { child, output: () => output };
    workers.push(worker);
    await until(async () => output.includes("taking ingestion jobs"), `a worker to start:\n${output}`);
    return worker;
  }

  const tenant = (id: string): Promise<Tenant> => services.tenant(id);
  const queue = () => services.jobs.queue;
  const view = async (tenantId: string, id: string) => (await queue().get(tenantId, id)) as JobView;
  const ended = (tenantId: string, id: string) =>
    until(
      async () => ["completed", "failed", "cancelled"].includes((await view(tenantId, id)).state),
      `job ${id}`,
      60_000,
    );

  /** Every chunk of the tenant's documents, by document: their texts (from the store) in order. */
  async function chunksByDocument(t: Tenant): Promise<Map<string, string[]>> {
    const byDoc = new Map<string, string[]>();
    for (let i = 0; i < DOCS; i++) {
      const detail = await t.documents.get(`report-${i}`);
      byDoc.set(`report-${i}`, detail?.chunks.map((c) => c.text) ?? []);
    }
    return byDoc;
  }

  it("gives a killed worker's job to another, which indexes every document once", async () => {
    const pair = [await startWorker(), await startWorker()];
    const { id } = await queue().submit({
      tenant: "acme",
      items: [{ kind: "texts", documents: documents("v1") }],
    });
    // Whichever worker took the job says so in its log; it is killed part-way.
    const takes = (w: (typeof pair)[number]) =>
      w.output().includes(`ingestion job ${id} (tenant acme, attempt 1)`);
    await until(async () => pair.some(takes), "a worker to take the job");
    const holder = pair.find(takes) as (typeof pair)[number];
    await until(
      async () => (await view("acme", id)).progress.documents.done > 0,
      "the job's first documents",
    );
    const before = await view("acme", id);
    expect(before.state).toBe("running");
    expect(before.progress.documents.done).toBeLessThan(DOCS);
    holder.child.kill("SIGKILL");
    await ended("acme", id);
    const done = await view("acme", id);
    expect(done.state).toBe("completed");
    expect(done.attempts, JSON.stringify(done)).toBeGreaterThanOrEqual(2);
    // The reference, after (so that the embedding cache did not speed the job up): the same documents at once.
    const reference = await tenant("reference");
    await reference.pipeline.ingestTexts(documents("v1"));
    const acme = await tenant("acme");
    expect(await acme.index.countChunks()).toBe(await reference.index.countChunks());
    const chunks = await chunksByDocument(acme);
    for (const [doc, texts] of chunks) expect(texts.length, doc).toBeGreaterThan(0);
    const list = await acme.documents.list({ limit: 500 });
    expect(list.documents).toHaveLength(DOCS);
    expect(list.documents.every((d) => d.status === "indexed")).toBe(true);
  }, 120_000);

  it("runs two jobs on the same documents without interleaving: the later job's version wins whole", async () => {
    await startWorker();
    const older = await queue().submit({
      tenant: "globex",
      items: [{ kind: "texts", documents: documents("v1") }],
    });
    const newer = await queue().submit({
      tenant: "globex",
      items: [{ kind: "texts", documents: documents("v2") }],
    });
    await ended("globex", older.id);
    await ended("globex", newer.id);
    const chunks = await chunksByDocument(await tenant("globex"));
    for (const [doc, texts] of chunks) {
      expect(texts.length, doc).toBeGreaterThan(0);
      for (const text of texts) expect(text.startsWith("v2"), `${doc}: ${text}`).toBe(true);
    }
    const reference = await tenant("reference-v2");
    await reference.pipeline.ingestTexts(documents("v2"));
    expect(await (await tenant("globex")).index.countChunks()).toBe(await reference.index.countChunks());
  }, 120_000);

  it("finishes its running job before it stops on SIGTERM, and writes its metrics (EMF) as it stops", async () => {
    for (const w of workers) await stop(w.child, "SIGKILL");
    const worker = await startWorker(1, { METRICS_FORMAT: "emf" });
    const { id } = await queue().submit({
      tenant: "initech",
      items: [{ kind: "texts", documents: documents("v1") }],
    });
    await until(async () => (await view("initech", id)).state === "running", "the job to start");
    await stop(worker.child, "SIGTERM");
    expect(worker.child.exitCode).toBe(0);
    expect(await view("initech", id)).toMatchObject({ state: "completed", attempts: 1 });
    expect(bedrock.requests.length).toBeGreaterThan(0);
    // No HTTP app, but the same CloudWatch metrics of what it did, written on its way out.
    const emfDocuments = worker
      .output()
      .split("\n")
      .filter((line) => line.startsWith('{"') && line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(emfDocuments).toContainEqual(
      expect.objectContaining({ Status: "added", DocumentsIngested: DOCS }),
    );
    // Its embedding-cache lookups (hits, once earlier tests embedded the same texts; misses otherwise).
    expect(emfDocuments).toContainEqual(
      expect.objectContaining({ Cache: "embeddings", CacheHitRate: expect.any(Number) }),
    );
  }, 120_000);
});

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  await once(child, "exit");
}

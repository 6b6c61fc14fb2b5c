// Ingestion as jobs over HTTP, on both queues (in-process under DATA_DIR, BullMQ on the test run's real Redis 8):
// POST /ingest?async=true answers 202 with a job that a worker runs to completion; progress as SSE; documents
// `queued` until a worker takes them; a cancelled job never runs; a job survives a restart; requests past
// INGEST_ASYNC_BYTES run as jobs unasked; uploads leave their stash when their job ends; bad ids are 4xx.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { JobView } from "../../src/jobs/queue.ts";
import { appOptions, buildApp } from "../../src/server/app.ts";
import { createServices, type Services } from "../../src/services/services.ts";
import type { RedisNode } from "../../src/store/redis-client.ts";
import { useBedrockEmulator } from "../helpers/bedrock.ts";
import { FIXTURES, quiet, tempDataDir, testSettings } from "../helpers/services.ts";

const text = (id: string, words: string) => ({ text: words, metadata: { doc_id: id } });

const BACKENDS = [
  { backend: "the in-process queue", redis: false },
  { backend: "BullMQ on Redis", redis: true },
];

/** A service per test file section, restartable, on its own data folder (and Redis prefix), with job helpers. */
function useJobService(redis: boolean, base: Record<string, string> = {}) {
  const prefix = `t${Math.random().toString(36).slice(2, 10)}`;
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let service: { services: Services; url: string; stop(): Promise<void> } | undefined;

  /** A service on the test's data folder; `workers` jobs at once (0: none, jobs wait). */
  async function start(workers: number, env: Record<string, string> = {}) {
    const settings = testSettings(path.join(data.dir, "state"), {
      ...(redis ? { REDIS_URL: inject("redisUrl"), REDIS_PREFIX: prefix } : {}),
      INGEST_JOB_BACKOFF_MS: "100",
      ...base,
      ...env,
    });
    const services = await createServices(settings, quiet);
    const app = await buildApp(services, appOptions(settings, services));
    await app.listen({ port: 0, host: "127.0.0.1" });
    const address = app.server.address();
    if (!address || typeof address === "string") throw new Error("no port");
    if (workers > 0) await services.jobs.startWorker(workers);
    service = {
      services,
      url: `http://127.0.0.1:${address.port}`,
      async stop() {
        await app.close();
        await services.close();
      },
    };
    return service;
  }
  async function restart(workers: number, env: Record<string, string> = {}) {
    await service?.stop();
    return start(workers, env);
  }
  const url = () => service?.url as string;
  const post = (route: string, body: unknown) =>
    fetch(`${url()}${route}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const job = async (id: string) => (await (await fetch(`${url()}/ingest/jobs/${id}`)).json()) as JobView;
  async function ended(id: string, timeoutMs = 20_000): Promise<JobView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await job(id);
      if (["completed", "failed", "cancelled"].includes(view.state)) return view;
      if (Date.now() > deadline) throw new Error(`job ${id} still ${view.state}: ${JSON.stringify(view)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const statusOf = async (source: string) => {
    const res = await fetch(`${url()}/documents/${encodeURIComponent(source)}`);
    if (res.status === 404) return "none";
    return ((await res.json()) as { document: { status: string } }).document.status;
  };

  beforeAll(async () => {
    data = await tempDataDir();
  });
  afterAll(async () => {
    await service?.stop();
    await data?.remove();
  });
  return {
    start,
    restart,
    url,
    post,
    job,
    ended,
    statusOf,
    services: () => service?.services as Services,
    dataDir: () => data.dir,
    /** How many uploads wait in the job stash: files under DATA_DIR, or keys in Redis. */
    async stashed(): Promise<number> {
      const redisClient = service?.services.stores.redis;
      if (!redis || !redisClient) {
        return (await readdir(path.join(data.dir, "state/jobs/uploads")).catch(() => [])).length;
      }
      let n = 0;
      for await (const keys of (redisClient as RedisNode).scanIterator({ MATCH: `${prefix}:jobs:upload:*` }))
        n += Array.isArray(keys) ? keys.length : 1;
      return n;
    },
  };
}

describe.each(BACKENDS)("ingestion jobs on $backend", ({ redis }) => {
  const { start, restart, url, post, job, ended, statusOf, services, stashed } = useJobService(redis);

  it("answers 202 with a job at once, which a worker runs to an indexed document and a report", async () => {
    await start(1);
    const res = await post("/ingest?async=true", {
      documents: [text("memo-1", "Laptops were delivered in January."), text("memo-2", "Blankets shipped.")],
    });
    expect(res.status).toBe(202);
    const submitted = (await res.json()) as JobView;
    // Counted at submission: a client can draw a determinate bar before any document is done.
    expect(submitted).toMatchObject({
      state: "queued",
      tenant: "default",
      attempts: 0,
      progress: { documents: { total: 2, done: 0 } },
    });
    expect(res.headers.get("location")).toBe(`/ingest/jobs/${submitted.id}`);
    const done = await ended(submitted.id);
    expect(done).toMatchObject({
      state: "completed",
      attempts: 1,
      progress: { documents: { total: 2, done: 2, failed: 0 } },
      report: { added: 2, failed: [] },
    });
    expect(done.progress.chunks.added).toBeGreaterThan(0);
    expect(await statusOf("memo-1")).toBe("indexed");
    const list = (await (await fetch(`${url()}/ingest/jobs?state=completed`)).json()) as { jobs: JobView[] };
    expect(list.jobs.map((j) => j.id)).toContain(submitted.id);
    // The job's documents are counted once it ends, as a request's are when it answers.
    const metrics = await (await fetch(`${url()}/metrics`)).text();
    expect(metrics).toMatch(/^counsel_ingested_documents_total\{status="added"\} 2$/m);
  });

  it("streams a job's progress as SSE until it ends", async () => {
    const res = await post("/ingest?async=true", {
      documents: Array.from({ length: 5 }, (_, i) => text(`note-${i}`, `Note ${i} about shipments.`)),
    });
    const { id } = (await res.json()) as JobView;
    const events = await fetch(`${url()}/ingest/jobs/${id}/events`, {
      headers: { accept: "text/event-stream" },
    });
    expect(events.headers.get("content-type")).toContain("text/event-stream");
    const body = await events.text(); // the stream ends with the job
    const views = body
      .split("\n")
      .filter((line) => line.startsWith("data: "))
      .map((line) => JSON.parse(line.slice(6)) as JobView);
    expect(views.at(-1)).toMatchObject({ id, state: "completed", progress: { documents: { done: 5 } } });
    // The worker's taking the job is an event of its own, before any document is done.
    expect(views.some((v) => v.state === "running" && v.progress.documents.done === 0)).toBe(true);
    expect(body).toContain("event: job");
  });

  it("keeps a job's documents queued until a worker takes it, and a cancelled job never runs", async () => {
    await restart(0);
    const res = await post("/ingest?async=true", {
      documents: [text("waiting-1", "Trucks left the depot.")],
    });
    const { id } = (await res.json()) as JobView;
    expect(await statusOf("waiting-1")).toBe("queued");
    const cancel = await fetch(`${url()}/ingest/jobs/${id}`, { method: "DELETE" });
    expect(cancel.status).toBe(202);
    expect(await job(id)).toMatchObject({ state: "cancelled", error: { code: "cancelled" } });
    expect(await statusOf("waiting-1")).toBe("none");
    const again = await fetch(`${url()}/ingest/jobs/${id}`, { method: "DELETE" });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ status: 409, code: "conflict" });
    await restart(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await statusOf("waiting-1")).toBe("none");
    expect((await job(id)).state).toBe("cancelled");
  });

  it("runs after a restart a job submitted before it", async () => {
    await restart(0);
    const res = await post("/ingest?async=true", {
      documents: [text("restart-1", "Ferries resumed in May.")],
    });
    const { id } = (await res.json()) as JobView;
    await restart(1);
    expect(await ended(id)).toMatchObject({ state: "completed", report: { added: 1 } });
    expect(await statusOf("restart-1")).toBe("indexed");
  });

  it("runs uploads as a job past INGEST_ASYNC_BYTES, unasked, and removes them from the stash after", async () => {
    await restart(1, { INGEST_ASYNC_BYTES: "1024" });
    const form = new FormData();
    form.append("files", new Blob([await readFile(path.join(FIXTURES, "fake-memo.pdf"))]), "fake-memo.pdf");
    const res = await fetch(`${url()}/ingest`, { method: "POST", body: form });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as JobView;
    expect(await ended(id)).toMatchObject({ state: "completed", report: { added: 1 } });
    expect(await statusOf("upload:fake-memo.pdf")).toBe("indexed");
    await expect.poll(stashed).toBe(0);
    // A small request is still answered with its report.
    const small = await post("/ingest", { documents: [text("small-1", "Short.")] });
    expect(small.status).toBe(200);
  });

  it("stashes uploads as they arrive once past INGEST_ASYNC_BYTES, and drops them when a later part is refused", async () => {
    await restart(0, { INGEST_ASYNC_BYTES: "1024" });
    const memo = await readFile(path.join(FIXTURES, "fake-memo.pdf"));
    const form = new FormData();
    form.append("files", new Blob([memo]), "first.pdf");
    form.append("files", new Blob([memo]), "second.pdf");
    form.append("notes", "not a file");
    const refused = await fetch(`${url()}/ingest`, { method: "POST", body: form });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ status: 400, detail: expect.stringMatching(/notes/) });
    await expect.poll(stashed).toBe(0);
    expect((await services().jobs.queue.list("default", { limit: 50 })).map((j) => j.state)).not.toContain(
      "queued",
    );

    const batch = new FormData();
    for (const name of ["a.pdf", "b.pdf", "c.pdf"]) batch.append("files", new Blob([memo]), name);
    const accepted = await fetch(`${url()}/ingest`, { method: "POST", body: batch });
    expect(accepted.status).toBe(202);
    expect(await stashed()).toBe(3);
    await restart(1);
    const { id } = (await accepted.json()) as JobView;
    expect(await ended(id)).toMatchObject({ state: "completed", report: { added: 3 } });
    await expect.poll(stashed).toBe(0);
  });

  it("answers 404 for a job it does not know, or another tenant's, and 400 for a bad state", async () => {
    const unknown = await fetch(`${url()}/ingest/jobs/j999999`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ status: 404, code: "not_found" });
    expect((await fetch(`${url()}/ingest/jobs/j999999`, { method: "DELETE" })).status).toBe(404);
    expect((await fetch(`${url()}/ingest/jobs/j999999/events`)).status).toBe(404);
    expect((await fetch(`${url()}/ingest/jobs?state=lost`)).status).toBe(400);
    const res = await post("/ingest?async=true", { documents: [text("mine-1", "Mine.")] });
    const { id } = (await res.json()) as JobView;
    const queue = services().jobs.queue;
    expect(await queue.get("globex", id)).toBeUndefined();
    expect(await queue.cancel("globex", id)).toBeUndefined();
    expect((await queue.list("globex", { limit: 50 })).map((j) => j.id)).not.toContain(id);
    await ended(id);
  });
});

describe.each(BACKENDS)("retries of ingestion jobs on $backend", ({ redis }) => {
  // Bedrock embeddings on the emulator, which answers ThrottlingException while told to.
  const bedrock = useBedrockEmulator();
  const { start, restart, post, ended, statusOf, url } = useJobService(redis, {
    EMBEDDINGS_PROVIDER: "bedrock",
    EMBEDDINGS_DIMENSIONS: "256",
    INGEST_JOB_ATTEMPTS: "2",
  });
  beforeAll(async () => {
    await start(1);
  });

  it("tries a job again after a throttled embedding, and completes it", async () => {
    // As many as the SDK's own attempts of one call (src/models/bedrock-client.ts): the job's first run fails.
    bedrock.throttleNext = 5;
    const res = await post("/ingest?async=true", {
      documents: [text("throttled-1", "Pallets of rice arrived.")],
    });
    const done = await ended(((await res.json()) as JobView).id, 60_000);
    expect(done).toMatchObject({ state: "completed", report: { added: 1, failed: [] } });
    expect(done.attempts).toBeGreaterThan(1);
    expect(await statusOf("throttled-1")).toBe("indexed");
  }, 90_000);

  it("fails a job whose service keeps failing after its last attempt: a dead letter, its document failed", async () => {
    // One attempt only, so that the SDK's own backoff (adaptive, slower with every throttle) is paid once.
    await restart(1, { INGEST_JOB_ATTEMPTS: "1" });
    bedrock.throttleNext = 5;
    const res = await post("/ingest?async=true", {
      documents: [text("throttled-2", "Tents were requested.")],
    });
    const { id } = (await res.json()) as JobView;
    const done = await ended(id, 60_000);
    expect(done).toMatchObject({
      state: "failed",
      attempts: 1,
      report: { failed: [{ name: "throttled-2" }] },
    });
    const dead = (await (await fetch(`${url()}/ingest/jobs?state=failed`)).json()) as { jobs: JobView[] };
    expect(dead.jobs.map((j) => j.id)).toContain(id);
    expect(await statusOf("throttled-2")).toBe("failed");
  }, 90_000);

  it("does not try again a job whose documents failed for their own reason", async () => {
    const form = new FormData();
    form.append("files", new Blob([Buffer.from("%PDF-1.7 broken")]), "broken.pdf");
    const res = await fetch(`${url()}/ingest?async=true`, { method: "POST", body: form });
    const done = await ended(((await res.json()) as JobView).id);
    expect(done).toMatchObject({ state: "completed", attempts: 1, report: { added: 0 } });
    expect(done.report?.failed).toHaveLength(1);
    expect(done.report?.failed[0].status).toBeLessThan(500);
    expect(await statusOf("upload:broken.pdf")).toBe("failed");
  });
});

// Where each document's ingestion stands, as the pipeline tells the status store and the catalog shows it, on
// both stores: queued (by a job) → extracting → embedding → indexed; failed with the step and the reason
// (a file that cannot be read, an embedding service that refuses); an unchanged re-ingestion skipped unread and
// left indexed; a changed recipe re-processing; a job's writes leaving a later job's entry alone; deletion.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { DocumentState, DocumentStatusStore } from "../../src/contracts/document-status.ts";
import type { DocumentSummary } from "../../src/contracts/documents.ts";
import { IngestPipeline, type IngestPipelineOptions } from "../../src/ingest/pipeline.ts";
import { defineRecipe } from "../../src/ingest/recipe.ts";
import type { SourceBlob } from "../../src/ingest/sources/blob.ts";
import { OPENAI_MAX_RETRIES } from "../../src/models/openai-server.ts";
import { createServices, type Services } from "../../src/services/services.ts";
import type { TenantStores } from "../../src/services/tenant-stores.ts";
import { fixtureText } from "../helpers/corpus.ts";
import { useOpenAIEmulator } from "../helpers/openai.ts";
import { FIXTURES, quiet, tempDataDir, testSettings } from "../helpers/services.ts";

const backends = [
  { name: "local store", env: () => ({}) },
  {
    name: "Redis vector sets",
    env: () => ({
      REDIS_URL: inject("redisUrl"),
      REDIS_PREFIX: `t${Math.random().toString(36).slice(2, 10)}`,
    }),
  },
];

const MEMO = "upload:fake-memo.pdf";

async function memoBlob(): Promise<SourceBlob> {
  return { name: "fake-memo.pdf", source: MEMO, data: await readFile(path.join(FIXTURES, "fake-memo.pdf")) };
}

/**
 * The real status store, reporting after each write the status the catalog then shows: the trail a reader
 * polling GET /documents/:source would see, without the timing.
 */
function observed(stores: TenantStores, trail: string[]): DocumentStatusStore {
  const { statuses, documents } = stores;
  const after = async (source: string) => {
    trail.push((await documents.get(source))?.document.status ?? "unknown");
  };
  return {
    set: async (state) => {
      await statuses.set(state);
      await after(state.source);
    },
    setMany: (states) => statuses.setMany(states),
    get: (source) => statuses.get(source),
    list: (options) => statuses.list(options),
    clear: async (source, jobId) => {
      await statuses.clear(source, jobId);
      await after(source);
    },
  };
}

describe.each(backends)("document statuses through the pipeline on the $name", ({ env }) => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let services: Services;
  let stores: TenantStores;
  let trail: string[];

  const pipeline = (options: Partial<IngestPipelineOptions> = {}) =>
    new IngestPipeline({
      vectorStore: stores.vectorStore,
      recordManager: stores.recordManager,
      recipe: services.recipe,
      statuses: observed(stores, trail),
      // The tenant's lock, which the catalog asks whether an in-progress entry is being worked on.
      documentLock: stores.documentLock,
      ...options,
    });
  const summary = async (source: string) => (await stores.documents.get(source))?.document as DocumentSummary;

  beforeEach(async () => {
    data = await tempDataDir();
    services = await createServices(testSettings(path.join(data.dir, "state"), env()), quiet);
    stores = await services.stores.openTenant("observed");
    trail = [];
  });
  afterEach(async () => {
    await stores.close();
    await services.close();
    await data.remove();
  });

  it("moves a queued document through extracting and embedding to indexed, the catalog showing each", async () => {
    const blob = await memoBlob();
    // What a job does when it accepts documents: each enters queued, found though it has no chunks yet.
    await stores.statuses.setMany([
      { source: MEMO, status: "queued", updatedAt: Date.now(), jobId: "job-1" },
    ]);
    expect(await summary(MEMO)).toMatchObject({ status: "queued", jobId: "job-1", chunks: 0 });

    const report = await pipeline().ingest([blob], { jobId: "job-1" });
    expect(report).toMatchObject({ added: 1, failed: [] });
    expect(trail).toEqual(["extracting", "embedding", "indexed"]);
    const indexed = await summary(MEMO);
    expect(indexed).toMatchObject({
      status: "indexed",
      name: "fake-memo.pdf",
      type: "pdf",
      checksum: createHash("sha256").update(blob.data).digest("hex"),
      recipe: "default",
    });
    expect(indexed.chunks).toBeGreaterThan(0);
    expect(indexed).not.toHaveProperty("error");
    expect(indexed).not.toHaveProperty("jobId");
    expect(await stores.statuses.get(MEMO)).toBeUndefined();
  });

  it("keeps a document that cannot be read as failed while extracting, with the reason the report gives", async () => {
    const blob = await memoBlob();
    const truncated = { ...blob, data: blob.data.subarray(0, 400) };
    const report = await pipeline().ingest([truncated], { jobId: "job-1" });
    expect(trail).toEqual(["extracting", "failed"]);
    const [failure] = report.failed;
    const failed = await summary(MEMO);
    expect(failed).toMatchObject({
      status: "failed",
      chunks: 0,
      jobId: "job-1",
      name: "fake-memo.pdf",
      error: { step: "extracting", code: failure.code, status: failure.status, message: failure.error },
    });
    expect(failure.status).toBe(400);
    expect(failure.error).toMatch(/fake-memo\.pdf/);

    // The next attempt (the whole file) supersedes the failure.
    expect(await pipeline().ingest([blob])).toMatchObject({ added: 1 });
    expect(await summary(MEMO)).toMatchObject({ status: "indexed" });
    expect(await summary(MEMO)).not.toHaveProperty("error");
  });

  it("shows an indexed document whose re-ingestion failed as failed, with its chunks still there", async () => {
    const blob = await memoBlob();
    await pipeline().ingest([blob]);
    const chunks = (await summary(MEMO)).chunks;
    await pipeline().ingest([{ ...blob, data: blob.data.subarray(0, 400) }]);
    expect(await summary(MEMO)).toMatchObject({ status: "failed", chunks, error: { step: "extracting" } });
  });

  it("skips an unchanged document unread: it stays indexed, its chunks and updatedAt untouched", async () => {
    const blob = await memoBlob();
    await pipeline().ingest([blob]);
    const before = await summary(MEMO);
    trail.length = 0;

    const again = await pipeline().ingest([await memoBlob()], { jobId: "job-2" });
    expect(again).toMatchObject({ added: 0, updated: 0, skipped: 1 });
    expect(again.chunks).toEqual({ added: 0, deleted: 0, skipped: before.chunks });
    // Never extracting or embedding: the only write is the (empty) settling of its entry.
    expect(trail).toEqual(["indexed"]);
    expect(await summary(MEMO)).toEqual(before);
  });

  it("processes a document again when its recipe's settings or its metadata changed, though its bytes did not", async () => {
    const blob = await memoBlob();
    await pipeline().ingest([blob]);
    trail.length = 0;
    const smaller = defineRecipe({ name: "default", splitter: { chunkSize: 200, chunkOverlap: 20 } });
    const rechunked = await pipeline({ recipe: smaller }).ingest([blob]);
    expect(rechunked).toMatchObject({ updated: 1, skipped: 0 });
    expect(trail).toEqual(["extracting", "embedding", "indexed"]);

    trail.length = 0;
    const tagged = await pipeline({ recipe: smaller }).ingest([{ ...blob, metadata: { team: "legal" } }]);
    expect(tagged).toMatchObject({ updated: 1 });
    expect(await summary(MEMO)).toMatchObject({ status: "indexed", metadata: { team: "legal" } });
  });

  it("keeps the caller's metadata, doc_id and the fields ingestion stamps aside, for listing to filter on", async () => {
    await pipeline().ingestTexts([
      {
        text: fixtureText("handbook-1p.txt"),
        metadata: { doc_id: "handbook", team: "people", year: 2024, draft: false, name: "Handbook" },
      },
    ]);
    expect(await summary("handbook")).toMatchObject({
      name: "Handbook",
      metadata: { team: "people", year: 2024, draft: false },
    });
    expect((await summary("handbook")).metadata).not.toHaveProperty("doc_id");
    const { documents } = await stores.documents.list({ metadata: { year: "2024", draft: "false" } });
    expect(documents.map((d) => d.source)).toEqual(["handbook"]);
    expect((await stores.documents.list({ metadata: { team: "legal" } })).documents).toEqual([]);
  });

  it("leaves a later job's entry alone while an earlier job ingests the same document", async () => {
    const blob = await memoBlob();
    await stores.statuses.setMany([
      { source: MEMO, status: "queued", updatedAt: Date.now(), jobId: "job-2" },
    ]);
    await pipeline().ingest([blob], { jobId: "job-1" });
    // Indexed by job-1, and still queued for job-2, which owns it now.
    expect(await summary(MEMO)).toMatchObject({ status: "queued", jobId: "job-2" });
    expect((await summary(MEMO)).chunks).toBeGreaterThan(0);
  });

  it("keeps a later job's version when an earlier job reaches the document after it; a run without an order writes", async () => {
    const ingest = pipeline();
    const version = (v: string) => [
      { text: `${v}: the depot's delivery report.`, metadata: { doc_id: "report" } },
    ];
    const texts = async () => (await stores.documents.get("report"))?.chunks.map((c) => c.text);

    expect(await ingest.ingestTexts(version("v2"), { jobId: "j2", order: 2 })).toMatchObject({ added: 1 });
    const superseded = await ingest.ingestTexts(version("v1"), { jobId: "j1", order: 1 });
    expect(superseded).toMatchObject({ added: 0, updated: 0, skipped: 1, failed: [] });
    expect(await texts()).toEqual([expect.stringMatching(/^v2:/)]);
    expect(await stores.documentLock.lastOrder("report")).toBe(2);

    expect(await ingest.ingestTexts(version("v3"), { jobId: "j3", order: 3 })).toMatchObject({ updated: 1 });
    expect(await ingest.ingestTexts(version("v4"))).toMatchObject({ updated: 1 });
    expect(await texts()).toEqual([expect.stringMatching(/^v4:/)]);
    // Deleting the document forgets its order: a job submitted before the deletion may write it again.
    await ingest.deleteDocument("report");
    expect(await stores.documentLock.lastOrder("report")).toBeUndefined();
    expect(await ingest.ingestTexts(version("v1"), { jobId: "j1", order: 1 })).toMatchObject({ added: 1 });
  });

  it("shows a document left extracting by a process that died as failed (interrupted), not extracting for ever", async () => {
    // What a service killed mid-ingestion leaves: an in-progress entry, and nobody holding the document.
    await stores.statuses.set({
      source: MEMO,
      status: "embedding",
      updatedAt: Date.now(),
      name: "fake-memo.pdf",
    });
    expect(await summary(MEMO)).toMatchObject({
      status: "failed",
      error: {
        step: "embedding",
        code: "interrupted",
        status: 503,
        message: expect.stringMatching(/ingest it again/),
      },
    });
    const { documents } = await stores.documents.list({ status: "failed" });
    expect(documents.map((d) => d.source)).toEqual([MEMO]);
    // While someone writes the document, its entry is what it says.
    await stores.documentLock.withLock(MEMO, async () => {
      expect(await summary(MEMO)).toMatchObject({ status: "embedding" });
      expect((await stores.documents.list({ status: "embedding" })).documents).toHaveLength(1);
    });
    // Ingesting it again mends it.
    expect(await pipeline().ingest([await memoBlob()])).toMatchObject({
      added: 1,
    });
    expect(await summary(MEMO)).toMatchObject({ status: "indexed" });
  });

  it("clears a document's entry when it is deleted, and deletes a document that only failed", async () => {
    const ingest = pipeline();
    const blob = await memoBlob();
    await ingest.ingest([{ ...blob, data: blob.data.subarray(0, 400) }]);
    expect(await summary(MEMO)).toMatchObject({ status: "failed" });
    expect(await ingest.deleteDocument(MEMO)).toEqual({ chunks: 0, found: true });
    expect(await stores.documents.get(MEMO)).toBeUndefined();
    expect(await ingest.deleteDocument(MEMO)).toEqual({ chunks: 0, found: false });

    await ingest.ingest([blob]);
    await stores.statuses.set({ source: MEMO, status: "queued", updatedAt: Date.now(), jobId: "job-3" });
    const deleted = await ingest.deleteDocument(MEMO);
    expect(deleted.chunks).toBeGreaterThan(0);
    expect(await stores.documents.get(MEMO)).toBeUndefined();
    expect(await stores.statuses.get(MEMO)).toBeUndefined();
  });
});

describe("a document whose embedding fails", () => {
  const server = useOpenAIEmulator();
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let services: Services;

  beforeAll(async () => {
    data = await tempDataDir();
    services = await createServices(
      testSettings(path.join(data.dir, "state"), {
        OPENAI_BASE_URL: server.url,
        EMBEDDINGS_PROVIDER: "openai",
        EMBEDDINGS_MODEL: "nomic-embed-text",
      }),
      quiet,
    );
  });
  afterAll(async () => {
    await services?.close();
    await data?.remove();
  });

  it("is failed while embedding, with the service's reason, and indexed once the service embeds again", async () => {
    const tenant = await services.tenant("acme");
    // An exhausted quota on every attempt the client makes.
    server.emulator.embeddingFaults.push(...Array(OPENAI_MAX_RETRIES + 1).fill("quota"));
    const text = { text: fixtureText("fake-memo.txt"), metadata: { doc_id: "memo" } };
    const report = await tenant.pipeline.ingestTexts([text], { jobId: "job-9" });
    expect(report.failed).toEqual([
      expect.objectContaining({ code: "model_error", status: 502, error: expect.stringMatching(/quota/) }),
    ]);
    const [failed] = (await tenant.documents.list({ status: "failed" })).documents;
    expect(failed).toMatchObject({
      source: "memo",
      status: "failed",
      chunks: 0,
      jobId: "job-9",
      error: {
        step: "embedding",
        code: "model_error",
        status: 502,
        message: expect.stringMatching(/The model service failed: .*exceeded your current quota/),
      },
    } satisfies Partial<DocumentSummary> & { error: Partial<DocumentState["error"]> });

    expect(await tenant.pipeline.ingestTexts([text], { jobId: "job-10" })).toMatchObject({ added: 1 });
    expect((await tenant.documents.get("memo"))?.document).toMatchObject({ status: "indexed" });
    expect((await tenant.documents.list({ status: "failed" })).documents).toEqual([]);
  });
});

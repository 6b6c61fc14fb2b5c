// The ingestion pipeline over LangChain's index() on the real local store: idempotent re-runs, replaced
// documents, cleanup of files that are gone, and failures that touch nothing else.
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { DocumentInterface } from "@langchain/core/documents";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { filesystemSource } from "../../src/ingest/sources/filesystem.ts";
import { createServices, type Services } from "../../src/services/services.ts";
import type { Tenant } from "../../src/tenants/tenant.ts";
import { redisSearchUrl, sayWhySearchIsSkipped } from "../helpers/redis-search.ts";
import { defaultTenant, FIXTURES, quiet, tempDataDir, testSettings } from "../helpers/services.ts";

// The same behaviour on the embedded store, on the real Redis 8 that the test run starts, and on the Redis Query
// Engine when REDIS_SEARCH_URL names one.
const backends: { name: string; env: () => Record<string, string> }[] = [
  { name: "local store", env: () => ({}) },
  {
    name: "Redis vector sets",
    env: () => ({
      REDIS_URL: inject("redisUrl"),
      REDIS_PREFIX: `t${Math.random().toString(36).slice(2, 10)}`,
    }),
  },
];
if (redisSearchUrl) {
  backends.push({
    name: "Redis Query Engine",
    env: () => ({
      REDIS_URL: redisSearchUrl as string,
      VECTOR_STORE: "redis-search",
      REDIS_PREFIX: `t${Math.random().toString(36).slice(2, 10)}`,
    }),
  });
}
sayWhySearchIsSkipped("IngestPipeline");

describe.each(backends)("IngestPipeline on the $name", ({ env }) => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let services: Services;
  let tenant: Tenant;
  let docs: string;

  beforeEach(async () => {
    data = await tempDataDir();
    docs = path.join(data.dir, "docs");
    await mkdir(docs);
    for (const file of ["fake-memo.pdf", "handbook-1p.docx", "bitcoin.pdf"]) {
      await copyFile(path.join(FIXTURES, file), path.join(docs, file));
    }
    services = await createServices(testSettings(path.join(data.dir, "state"), env()), quiet);
    tenant = await defaultTenant(services);
  });
  afterEach(async () => {
    await services.close();
    await data.remove();
  });

  const ingest = (options = {}) => tenant.pipeline.ingest(filesystemSource(docs), options);

  it("indexes a folder once: a second run skips every document and adds no chunk", async () => {
    const first = await ingest();
    expect(first).toMatchObject({ added: 3, skipped: 0, failed: [] });
    const count = await tenant.index.countChunks();
    expect(count).toBe(first.chunks.added);

    const second = await ingest();
    expect(second).toMatchObject({ added: 0, updated: 0, skipped: 3, deleted: 0 });
    expect(second.chunks).toEqual({ added: 0, deleted: 0, skipped: count });
    expect(await tenant.index.countChunks()).toBe(count);
  });

  it("replaces the chunks of a file that changed, and only those", async () => {
    await ingest();
    const notes = path.join(docs, "notes.md");
    await writeFile(notes, "# Parking\n\nVisitors park in lot B.\n");
    await ingest();
    const count = await tenant.index.countChunks();

    await writeFile(notes, "# Parking\n\nVisitors park in lot C, next to the loading dock.\n");
    const report = await ingest();
    expect(report).toMatchObject({ added: 0, updated: 1, skipped: 3 });
    expect(await tenant.index.countChunks()).toBe(count);
    const hits = await tenant.index.similaritySearch("Where do visitors park?", 10);
    const texts = hits.map((d: DocumentInterface) => d.pageContent).join("\n");
    expect(texts).toContain("lot C");
    expect(texts).not.toContain("lot B");
  });

  it("removes documents whose files are gone only with cleanup, and only under the given folder", async () => {
    await ingest();
    await tenant.pipeline.ingestTexts([
      { text: "Elsewhere: the library closes at noon.", metadata: { doc_id: "lib" } },
    ]);
    await rm(path.join(docs, "bitcoin.pdf"));

    const without = await ingest();
    expect(without.deleted).toBe(0);

    const withCleanup = await ingest({ cleanup: { scope: (id: string) => id.startsWith(docs + path.sep) } });
    expect(withCleanup).toMatchObject({ deleted: 1, skipped: 2 });
    const hits = await tenant.index.similaritySearch("proof-of-work chain of blocks", 50);
    expect(hits.some((d: DocumentInterface) => String(d.metadata.source).endsWith("bitcoin.pdf"))).toBe(
      false,
    );
    const library = await tenant.index.similaritySearch("When does the library close?", 5, {
      doc_id: "lib",
    });
    expect(library).toHaveLength(1);
  });

  it("reports a corrupt file without touching its chunks that were already indexed", async () => {
    await ingest();
    const count = await tenant.index.countChunks();
    const memo = path.join(docs, "fake-memo.pdf");
    const bytes = await readFile(memo);
    await writeFile(memo, bytes.subarray(0, 400)); // truncated mid-stream
    const report = await ingest();
    expect(report.failed).toEqual([
      expect.objectContaining({ name: expect.stringContaining("fake-memo.pdf") }),
    ]);
    expect(report.skipped).toBe(2);
    expect(await tenant.index.countChunks()).toBe(count);
    const hits = await tenant.index.similaritySearch("How many laptops?", 3);
    expect(hits.some((d: DocumentInterface) => d.pageContent.includes("laptops"))).toBe(true);
  });

  it("serialises two ingestions of one document id", async () => {
    const a = { text: "Version A of the policy: badges are blue.", metadata: { doc_id: "policy" } };
    const b = { text: "Version B of the policy: badges are green.", metadata: { doc_id: "policy" } };
    await Promise.all([tenant.pipeline.ingestTexts([a]), tenant.pipeline.ingestTexts([b])]);
    const hits = await tenant.index.similaritySearch("badge colour policy", 10, {
      doc_id: "policy",
    });
    expect(hits).toHaveLength(1);
  });
});

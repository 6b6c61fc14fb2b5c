// The document catalog on both stores, through real ingestion of the fixtures: what it lists after an ingest, a
// re-ingest (unchanged, changed) and a cleanup; paging and prefixes; tenants kept apart; and a store written
// before the catalog existed, which must show its documents as soon as it is opened.
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import type { DocumentSummary } from "../../src/contracts/documents.ts";
import { filesystemSource } from "../../src/ingest/sources/filesystem.ts";
import { createServices, type Services } from "../../src/services/services.ts";
import type { Tenant } from "../../src/tenants/tenant.ts";
import { fixtureText } from "../helpers/corpus.ts";
import { defaultTenant, FIXTURES, quiet, tempDataDir, testSettings } from "../helpers/services.ts";

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

const FILES = ["bitcoin.pdf", "fake-memo.pdf", "handbook-1p.docx", "what-is-rustdoc.html"];

describe.each(backends)("DocumentCatalog on the $name", ({ name, env }) => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let settingsEnv: Record<string, string>;
  let services: Services;
  let tenant: Tenant;
  let docs: string;

  const open = async () => {
    services = await createServices(testSettings(path.join(data.dir, "state"), settingsEnv), quiet);
    tenant = await defaultTenant(services);
  };

  beforeEach(async () => {
    data = await tempDataDir();
    docs = path.join(data.dir, "docs");
    await mkdir(docs);
    for (const file of FILES) await copyFile(path.join(FIXTURES, file), path.join(docs, file));
    settingsEnv = env();
    await open();
  });
  afterEach(async () => {
    await services.close();
    await data.remove();
  });

  const ingest = (options = {}) => tenant.pipeline.ingest(filesystemSource(docs), options);
  const all = async () => (await tenant.documents.list({ limit: 500 })).documents;
  /** How many chunks of a document the vector store holds (a filtered search that asks for all of them). */
  const storedChunks = async (docId: string) =>
    (await tenant.index.similaritySearch("fastify", 10_000, { doc_id: docId })).length;
  const summary = async (file: string) =>
    (await all()).find((d) => d.source === path.join(docs, file)) as DocumentSummary;

  it("lists every ingested document once, by source, with its chunk count and what ingestion knew", async () => {
    const report = await ingest();
    expect(report.added).toBe(FILES.length);
    const documents = await all();
    expect(documents.map((d) => d.source)).toEqual(FILES.map((f) => path.join(docs, f)).sort());
    expect(documents.reduce((sum, d) => sum + d.chunks, 0)).toBe(await tenant.index.countChunks());
    for (const d of documents) {
      expect(d.chunks).toBeGreaterThan(0);
      expect(new Date(d.updatedAt).toISOString()).toBe(d.updatedAt);
      expect(d.bytes).toBe((await stat(d.source)).size);
      expect(d.name).toBe(path.basename(d.source));
    }
    expect(await summary("bitcoin.pdf")).toMatchObject({ type: "pdf", pages: 9 });
    expect(await summary("handbook-1p.docx")).toMatchObject({ type: "docx" });
    expect((await summary("handbook-1p.docx")).pages).toBeUndefined();
    expect(await summary("what-is-rustdoc.html")).toMatchObject({
      type: "html",
      title: "What is rustdoc? - The rustdoc book",
    });
  });

  it("gives a document's chunks in order, with their pages and the text the store holds", async () => {
    await ingest();
    const source = path.join(docs, "bitcoin.pdf");
    const detail = await tenant.documents.get(source);
    expect(detail?.document).toEqual(await summary("bitcoin.pdf"));
    const chunks = detail?.chunks ?? [];
    expect(chunks).toHaveLength(detail?.document.chunks as number);
    expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => i));
    const pages = chunks.map((c) => c.page as number);
    expect(pages[0]).toBe(1);
    expect(pages.at(-1)).toBe(9);
    expect([...pages].sort((a, b) => a - b)).toEqual(pages);
    expect(chunks[0].text).toContain("Bitcoin: A Peer-to-Peer Electronic Cash System");
    const stored = await tenant.index.getByIds([chunks[3].id]);
    expect(stored[0].pageContent).toBe(chunks[3].text);

    expect(await tenant.documents.get(path.join(docs, "no-such.pdf"))).toBeUndefined();
  });

  it("shows the same catalog after an unchanged re-ingestion", async () => {
    await ingest();
    const before = await all();
    expect(await ingest()).toMatchObject({ skipped: FILES.length, added: 0, updated: 0 });
    expect(await all()).toEqual(before);
  });

  it("shows a changed document's new chunk count and a later updatedAt, and leaves the others alone", async () => {
    const guide = path.join(docs, "guide.md");
    const text = fixtureText("fastify-getting-started.md");
    await writeFile(guide, text.slice(0, 1500));
    await ingest();
    const before = await all();
    const short = await summary("guide.md");
    expect(short).toMatchObject({ chunks: await storedChunks(guide), type: "markdown", bytes: 1500 });

    await writeFile(guide, text);
    expect(await ingest()).toMatchObject({ updated: 1, skipped: FILES.length });
    const long = await summary("guide.md");
    expect(long.chunks).toBe(await storedChunks(guide));
    expect(long.chunks).toBeGreaterThan(short.chunks);
    expect(long.bytes).toBe(Buffer.byteLength(text));
    expect(Date.parse(long.updatedAt)).toBeGreaterThan(Date.parse(short.updatedAt));
    const others = (await all()).filter((d) => d.source !== guide);
    expect(others).toEqual(before.filter((d) => d.source !== guide));
    expect((await tenant.documents.get(guide))?.chunks).toHaveLength(long.chunks);
  });

  it("drops a document that cleanup removed, chunks and all", async () => {
    await ingest();
    await tenant.pipeline.ingestTexts([
      { text: fixtureText("fake-memo.txt"), metadata: { doc_id: "memo-as-text" } },
    ]);
    await rm(path.join(docs, "bitcoin.pdf"));
    const report = await ingest({ cleanup: { scope: (id: string) => id.startsWith(docs + path.sep) } });
    expect(report.deleted).toBe(1);
    const sources = (await all()).map((d) => d.source);
    expect(sources).not.toContain(path.join(docs, "bitcoin.pdf"));
    expect(sources).toContain("memo-as-text");
    expect(sources).toHaveLength(FILES.length);
    expect(await tenant.documents.get(path.join(docs, "bitcoin.pdf"))).toBeUndefined();
    expect((await all()).reduce((sum, d) => sum + d.chunks, 0)).toBe(await tenant.index.countChunks());
  });

  it("pages with a cursor, and filters by prefix", async () => {
    // The handbook by paragraph (test/fixtures/handbook-1p.txt), one document each.
    const paragraphs = fixtureText("handbook-1p.txt")
      .split(/\n\s*\n/)
      .filter((p) => p.trim().length > 40);
    expect(paragraphs.length).toBeGreaterThan(7);
    await tenant.pipeline.ingestTexts(
      paragraphs.map((text, i) => ({
        text,
        metadata: { doc_id: `handbook/p${String(i).padStart(2, "0")}` },
      })),
    );
    await tenant.pipeline.ingestTexts([{ text: fixtureText("fake-memo.txt"), metadata: { doc_id: "memo" } }]);

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await tenant.documents.list({ limit: 3, cursor });
      expect(page.documents.length).toBeLessThanOrEqual(3);
      seen.push(...page.documents.map((d) => d.source));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    const expected = [...paragraphs.map((_, i) => `handbook/p${String(i).padStart(2, "0")}`), "memo"];
    expect(seen).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 3));

    const prefixed = await tenant.documents.list({ prefix: "handbook/", limit: 2 });
    expect(prefixed.documents.map((d) => d.source)).toEqual(["handbook/p00", "handbook/p01"]);
    const next = await tenant.documents.list({
      prefix: "handbook/",
      limit: 500,
      cursor: prefixed.nextCursor,
    });
    expect(next.documents.map((d) => d.source)).toEqual(expected.slice(2, -1));
    expect(next.nextCursor).toBeUndefined();
    expect((await tenant.documents.list({ prefix: "nothing/" })).documents).toEqual([]);

    await expect(tenant.documents.list({ cursor: "not a cursor!" })).rejects.toMatchObject({ status: 400 });
    await expect(tenant.documents.list({ limit: 0 })).rejects.toMatchObject({ status: 400 });
    await expect(tenant.documents.list({ limit: 501 })).rejects.toMatchObject({ status: 400 });
  });

  it("keeps tenants apart, even under the same document id", async () => {
    const acme = await services.tenant("acme");
    const globex = await services.tenant("globex");
    await acme.pipeline.ingestTexts([{ text: fixtureText("fake-memo.txt"), metadata: { doc_id: "policy" } }]);
    await globex.pipeline.ingestTexts([
      { text: fixtureText("handbook-1p.txt"), metadata: { doc_id: "policy" } },
      { text: fixtureText("bitcoin.txt"), metadata: { doc_id: "whitepaper" } },
    ]);
    expect((await acme.documents.list()).documents.map((d) => d.source)).toEqual(["policy"]);
    expect((await globex.documents.list()).documents.map((d) => d.source)).toEqual(["policy", "whitepaper"]);
    expect((await acme.documents.get("policy"))?.chunks.map((c) => c.text).join(" ")).toContain("laptops");
    expect(await acme.documents.get("whitepaper")).toBeUndefined();
    expect((await tenant.documents.list()).documents).toEqual([]);
  });

  it("shows the documents of a store indexed before the catalog existed, described from their chunks", async () => {
    await ingest();
    const fresh = await all();
    await services.close();
    await forgetDocumentRecords(name, data.dir, settingsEnv);
    await open();

    const upgraded = await all();
    // Everything but the size, checksum and recipe, which only ingestion knows.
    expect(upgraded).toEqual(fresh.map(({ bytes: _, checksum: __, recipe: ___, ...rest }) => rest));
    // The next ingestion (unchanged) fills in the rest and moves nothing else.
    expect(await ingest()).toMatchObject({ skipped: FILES.length });
    expect(await all()).toEqual(fresh);
  });
});

/** Takes a store back to how it was before record managers kept document records. */
async function forgetDocumentRecords(backend: string, dataDir: string, env: Record<string, string>) {
  if (backend === "local store") {
    const root = path.join(dataDir, "state", "local", "default", "default");
    const [model] = await readdir(root);
    const file = path.join(root, model, "records.json");
    const { documents: _, ...before } = JSON.parse(await readFile(file, "utf8"));
    await writeFile(file, JSON.stringify(before));
    return;
  }
  const { createClient } = await import("redis");
  const client = createClient({ url: env.REDIS_URL });
  await client.connect();
  for await (const key of client.scanIterator({ MATCH: `${env.REDIS_PREFIX}:*:records:doc*` }))
    await client.del(key);
  await client.quit();
}

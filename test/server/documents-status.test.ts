// Documents with their status over HTTP, with API keys, on both stores: GET /documents merging indexed documents
// with those queued or failed, filtered by status, type and metadata and paged without loss; one document that
// was never indexed found with its error; GET /documents/:source/chunks a page at a time; DELETE of a document
// that only failed; bad input and another tenant's ids as 4xx problems.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Scope } from "../../src/auth/api-keys.ts";
import type {
  ChunkPage,
  DocumentDetail,
  DocumentList,
  DocumentSummary,
} from "../../src/contracts/documents.ts";
import { appOptions, buildApp } from "../../src/server/app.ts";
import { createServices, type Services } from "../../src/services/services.ts";
import { fixtureText } from "../helpers/corpus.ts";
import { bearer, writeKeys } from "../helpers/keys.ts";
import { dropKeys } from "../helpers/redis.ts";
import { FIXTURES, quiet, tempDataDir, testSettings } from "../helpers/services.ts";

const SPECS: Record<string, { tenant: string; scopes: Scope[] }> = {
  acme: { tenant: "acme", scopes: ["query", "ingest"] },
  globex: { tenant: "globex", scopes: ["query", "ingest"] },
};

const QUEUED = "s3://handbooks/2026/travel.pdf";
const BROKEN = "upload:broken.pdf";
const encoded = (source: string) => `/documents/${encodeURIComponent(source)}`;

describe.each([
  { backend: "in-process stores", redis: false },
  { backend: "Redis", redis: true },
])("document statuses over HTTP on $backend", ({ redis }) => {
  const prefix = `t${Math.random().toString(36).slice(2, 10)}`;
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let url = "";
  let keys: Record<string, string>;
  let services: Services;
  let close: () => Promise<void>;

  const call = (method: string, route: string, key: string = keys.acme) =>
    fetch(`${url}${route}`, { method, headers: bearer(key) });
  const getJson = async <T>(route: string, key?: string): Promise<T> => {
    const res = await call("GET", route, key);
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };
  const sources = async (query: string) =>
    (await getJson<DocumentList>(`/documents?${query}`)).documents.map((d) => d.source);
  const expectProblem = async (res: Response, status: number, fields: Record<string, unknown> = {}) => {
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(await res.json()).toMatchObject({ status, ...fields });
  };

  beforeAll(async () => {
    data = await tempDataDir();
    const written = await writeKeys(data.dir, SPECS);
    keys = written.keys;
    const env: Record<string, string> = redis ? { REDIS_URL: inject("redisUrl"), REDIS_PREFIX: prefix } : {};
    const settings = testSettings(path.join(data.dir, "state"), { API_KEYS_FILE: written.file, ...env });
    services = await createServices(settings, quiet);
    const app = await buildApp(services, appOptions(settings, services));
    await app.listen({ port: 0, host: "127.0.0.1" });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    close = async () => {
      await app.close();
      await services.close();
    };

    // Two good files and one cut short (the memo's first 400 bytes), in one upload: one failure, reported.
    const memo = await readFile(path.join(FIXTURES, "fake-memo.pdf"));
    const form = new FormData();
    form.append("files", new Blob([memo]), "fake-memo.pdf");
    form.append("files", new Blob([await readFile(path.join(FIXTURES, "bitcoin.pdf"))]), "bitcoin.pdf");
    form.append("files", new Blob([memo.subarray(0, 400)]), "broken.pdf");
    const upload = await fetch(`${url}/ingest`, { method: "POST", headers: bearer(keys.acme), body: form });
    expect(await upload.json()).toMatchObject({ added: 2, failed: [{ name: "broken.pdf" }] });
    const texts = await fetch(`${url}/ingest`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(keys.acme) },
      body: JSON.stringify({
        documents: [
          { text: fixtureText("handbook-1p.txt"), metadata: { doc_id: "handbook", team: "people" } },
          { text: fixtureText("fake-memo.txt"), metadata: { doc_id: "policy", team: "legal", year: 2023 } },
        ],
      }),
    });
    expect(await texts.json()).toMatchObject({ added: 2 });
    // A document a job has accepted and not reached yet, as the job writes it.
    const acme = await services.tenant("acme");
    await acme.statuses.setMany([
      { source: QUEUED, status: "queued", updatedAt: Date.now(), jobId: "job-1" },
    ]);
  });
  afterAll(async () => {
    await close?.();
    await data?.remove();
    if (redis) {
      const client = createClient({ url: inject("redisUrl") });
      await client.connect();
      await dropKeys(client, prefix);
      await client.quit();
    }
  });

  it("lists indexed documents and those queued or failed together, in source order, each with its status", async () => {
    const { documents, nextCursor } = await getJson<DocumentList>("/documents");
    expect(nextCursor).toBeUndefined();
    expect(documents.map((d) => [d.source, d.status])).toEqual([
      ["handbook", "indexed"],
      ["policy", "indexed"],
      [QUEUED, "queued"],
      ["upload:bitcoin.pdf", "indexed"],
      [BROKEN, "failed"],
      ["upload:fake-memo.pdf", "indexed"],
    ]);
    const byId = Object.fromEntries(documents.map((d) => [d.source, d]));
    expect(byId["upload:fake-memo.pdf"]).toMatchObject({
      type: "pdf",
      recipe: "default",
      checksum: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(byId["upload:fake-memo.pdf"]).not.toHaveProperty("error");
    expect(byId.policy).toMatchObject({ metadata: { team: "legal", year: 2023 } });
    expect(byId[QUEUED]).toEqual({
      source: QUEUED,
      status: "queued",
      jobId: "job-1",
      statusAt: expect.stringMatching(/^\d{4}-/),
      chunks: 0,
      updatedAt: byId[QUEUED].statusAt,
    });
    expect(byId[BROKEN]).toMatchObject({
      status: "failed",
      chunks: 0,
      name: "broken.pdf",
      error: {
        step: "extracting",
        code: "bad_request",
        status: 400,
        message: expect.stringContaining("broken.pdf"),
      },
    });
    // Another tenant has none of them.
    expect((await getJson<DocumentList>("/documents", keys.globex)).documents).toEqual([]);
  });

  it("filters by status, type and metadata, and pages a filtered list without losing or repeating a document", async () => {
    expect(await sources("status=failed")).toEqual([BROKEN]);
    expect(await sources("status=queued")).toEqual([QUEUED]);
    expect(await sources("status=embedding")).toEqual([]);
    expect(await sources("status=indexed")).toEqual([
      "handbook",
      "policy",
      "upload:bitcoin.pdf",
      "upload:fake-memo.pdf",
    ]);
    expect(await sources("type=pdf")).toEqual(["upload:bitcoin.pdf", "upload:fake-memo.pdf"]);
    expect(await sources("metadata.team=legal")).toEqual(["policy"]);
    expect(await sources("metadata.year=2023&metadata.team=legal")).toEqual(["policy"]);
    expect(await sources("metadata.team=legal&type=pdf")).toEqual([]);
    expect(await sources(`prefix=upload%3A&status=indexed`)).toEqual([
      "upload:bitcoin.pdf",
      "upload:fake-memo.pdf",
    ]);

    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await getJson<DocumentList>(
        `/documents?status=indexed&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      );
      expect(page.documents.length).toBeLessThanOrEqual(1);
      paged.push(...page.documents.map((d) => d.source));
      cursor = page.nextCursor;
    } while (cursor);
    expect(paged).toEqual(await sources("status=indexed"));
    // Unfiltered pages of two, across the merge of both stores.
    const first = await getJson<DocumentList>("/documents?limit=2");
    const second = await getJson<DocumentList>(`/documents?limit=2&cursor=${first.nextCursor}`);
    expect(second.documents.map((d) => d.source)).toEqual([QUEUED, "upload:bitcoin.pdf"]);
  });

  it("finds a document that was never indexed, with its status and no chunks", async () => {
    const broken = await getJson<DocumentDetail>(encoded(BROKEN));
    expect(broken.document).toMatchObject({
      source: BROKEN,
      status: "failed",
      error: { step: "extracting" },
    });
    expect(broken.chunks).toEqual([]);
    expect(await getJson<ChunkPage>(`${encoded(BROKEN)}/chunks`)).toEqual({ chunks: [] });
    expect((await getJson<DocumentDetail>(encoded(QUEUED))).document).toMatchObject({
      status: "queued",
      jobId: "job-1",
    });
  });

  it("pages a document's chunks in order, each with its metadata, as the whole document gives them", async () => {
    const whole = await getJson<DocumentDetail>(encoded("upload:bitcoin.pdf"));
    expect(whole.document).toMatchObject({ status: "indexed", chunks: whole.chunks.length });
    const paged: DocumentDetail["chunks"] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await getJson<ChunkPage>(
        `${encoded("upload:bitcoin.pdf")}/chunks?limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      );
      paged.push(...page.chunks);
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(Math.ceil(whole.chunks.length / 5));
    expect(paged).toEqual(whole.chunks);
    expect(paged.map((c) => c.index)).toEqual(paged.map((_, i) => i));
    expect(paged[0]).toMatchObject({
      page: 1,
      text: expect.stringContaining("Bitcoin"),
      metadata: { doc_id: "upload:bitcoin.pdf", name: "bitcoin.pdf", type: "pdf", chunk: 0, page: 1 },
    });
  });

  it("answers 4xx problems to a bad status, metadata or cursor, and 404 to an unknown or another tenant's id", async () => {
    await expectProblem(await call("GET", "/documents?status=done"), 400, {
      code: "invalid_request",
      detail: expect.stringContaining("status"),
    });
    await expectProblem(await call("GET", "/documents?status=failed&status=queued"), 400);
    await expectProblem(await call("GET", "/documents?metadata.=legal"), 400, {
      errors: [expect.objectContaining({ field: "metadata." })],
    });
    await expectProblem(await call("GET", "/documents?metadata=legal"), 400);
    await expectProblem(await call("GET", `${encoded("upload:bitcoin.pdf")}/chunks?cursor=%25%25`), 400, {
      code: "bad_request",
    });
    // A document cursor is not a chunk cursor.
    const { nextCursor } = await getJson<DocumentList>("/documents?limit=1");
    await expectProblem(
      await call("GET", `${encoded("upload:bitcoin.pdf")}/chunks?cursor=${nextCursor}`),
      400,
      { code: "bad_request" },
    );
    await expectProblem(await call("GET", `${encoded("upload:bitcoin.pdf")}/chunks?limit=0`), 400);
    await expectProblem(await call("GET", `${encoded("upload:bitcoin.pdf")}/chunks?page=2`), 400);
    await expectProblem(await call("GET", `${encoded("upload:nothing.pdf")}/chunks`), 404, {
      code: "not_found",
      detail: expect.stringContaining("upload:nothing.pdf"),
    });
    for (const route of [encoded("upload:bitcoin.pdf"), encoded(BROKEN), encoded(QUEUED)]) {
      await expectProblem(await call("GET", route, keys.globex), 404);
      await expectProblem(await call("GET", `${route}/chunks`, keys.globex), 404);
      await expectProblem(await call("DELETE", route, keys.globex), 404);
    }
    expect(await sources("status=failed")).toEqual([BROKEN]);
  });

  it("describes the chunks route and the new filters in the OpenAPI document", async () => {
    const spec = (await (await fetch(`${url}/docs/json`)).json()) as {
      paths: Record<
        string,
        Record<string, { tags: string[]; parameters?: { name: string; schema: object }[] }>
      >;
    };
    expect(spec.paths["/documents/{source}/chunks"].get.tags).toEqual(["documents"]);
    const status = spec.paths["/documents"].get.parameters?.find((p) => p.name === "status");
    expect(status?.schema).toMatchObject({
      enum: ["queued", "extracting", "embedding", "indexed", "failed"],
    });
  });

  it("deletes a document that only failed, its failure with it, and then knows it no more", async () => {
    const res = await call("DELETE", encoded(BROKEN));
    expect(res.status).toBe(204);
    await expectProblem(await call("GET", encoded(BROKEN)), 404);
    await expectProblem(await call("DELETE", encoded(BROKEN)), 404);
    expect(await sources("status=failed")).toEqual([]);
    // The queued one too: gone from the list (its job, when it reaches it, ingests it anew).
    expect((await call("DELETE", encoded(QUEUED))).status).toBe(204);
    const left: DocumentSummary[] = (await getJson<DocumentList>("/documents")).documents;
    expect(left.every((d) => d.status === "indexed")).toBe(true);
  });
});

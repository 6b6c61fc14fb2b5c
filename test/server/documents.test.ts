// GET /documents and GET /documents/:source over HTTP, with API keys, on both stores: the caller's tenant's
// documents only, paged and filtered; one document with its chunks; bad input as 4xx problems.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Scope } from "../../src/auth/api-keys.ts";
import type { DocumentDetail, DocumentList } from "../../src/contracts/documents.ts";
import { appOptions, buildApp } from "../../src/server/app.ts";
import { createServices } from "../../src/services/services.ts";
import { fixtureText } from "../helpers/corpus.ts";
import { bearer, writeKeys } from "../helpers/keys.ts";
import { FIXTURES, quiet, tempDataDir, testSettings } from "../helpers/services.ts";

const SPECS: Record<string, { tenant: string; scopes: Scope[] }> = {
  acme: { tenant: "acme", scopes: ["query", "ingest"] },
  globex: { tenant: "globex", scopes: ["query", "ingest"] },
  acmeIngestOnly: { tenant: "acme", scopes: ["ingest"] },
};

// A doc_id as deep as a real path (the ingest schema allows 512 characters): far over the router's default of 100.
const DEEP = `/srv/handbooks/${"department/".repeat(30)}travel policy: 2024?.md`;

describe.each([
  { backend: "in-process stores", env: () => ({}) },
  {
    backend: "Redis",
    env: () => ({
      REDIS_URL: inject("redisUrl"),
      REDIS_PREFIX: `t${Math.random().toString(36).slice(2, 10)}`,
    }),
  },
])("document routes on $backend", ({ env }) => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let url = "";
  let keys: Record<string, string>;
  let close: () => Promise<void>;

  const get = (route: string, key: string | undefined = keys.acme) =>
    fetch(`${url}${route}`, { headers: key ? bearer(key) : {} });
  const getJson = async <T>(route: string, key?: string): Promise<T> => {
    const res = await get(route, key);
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };
  const expectProblem = async (res: Response, status: number, fields: Record<string, unknown> = {}) => {
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(await res.json()).toMatchObject({ status, ...fields });
  };

  beforeAll(async () => {
    data = await tempDataDir();
    const written = await writeKeys(data.dir, SPECS);
    keys = written.keys;
    const settings = testSettings(path.join(data.dir, "state"), { API_KEYS_FILE: written.file, ...env() });
    const services = await createServices(settings, quiet);
    const app = await buildApp(services, appOptions(settings, services));
    await app.listen({ port: 0, host: "127.0.0.1" });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    close = async () => {
      await app.close();
      await services.close();
    };

    // Acme uploads two files and sends two texts; globex sends one text under one of acme's ids.
    const form = new FormData();
    for (const file of ["fake-memo.pdf", "bitcoin.pdf"]) {
      form.append("files", new Blob([await readFile(path.join(FIXTURES, file))]), file);
    }
    const upload = await fetch(`${url}/ingest`, { method: "POST", headers: bearer(keys.acme), body: form });
    expect(await upload.json()).toMatchObject({ added: 2 });
    const texts = async (key: string, documents: unknown[]) => {
      const res = await fetch(`${url}/ingest`, {
        method: "POST",
        headers: { "content-type": "application/json", ...bearer(key) },
        body: JSON.stringify({ documents }),
      });
      expect(res.status).toBe(200);
    };
    await texts(keys.acme, [
      { text: fixtureText("handbook-1p.txt"), metadata: { doc_id: "handbook" } },
      { text: fixtureText("fake-memo.txt"), metadata: { doc_id: DEEP, name: "travel policy" } },
    ]);
    await texts(keys.globex, [{ text: fixtureText("bitcoin.txt"), metadata: { doc_id: "handbook" } }]);
  });
  afterAll(async () => {
    await close?.();
    await data?.remove();
  });

  it("lists the caller's documents by source, with what ingestion knew of each", async () => {
    const { documents, nextCursor } = await getJson<DocumentList>("/documents");
    expect(documents.map((d) => d.source)).toEqual([
      DEEP,
      "handbook",
      "upload:bitcoin.pdf",
      "upload:fake-memo.pdf",
    ]);
    expect(nextCursor).toBeUndefined();
    const bitcoin = documents.find((d) => d.source === "upload:bitcoin.pdf");
    expect(bitcoin).toMatchObject({
      name: "bitcoin.pdf",
      type: "pdf",
      pages: 9,
      bytes: (await readFile(path.join(FIXTURES, "bitcoin.pdf"))).length,
      chunks: expect.any(Number),
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(documents.find((d) => d.source === DEEP)).toMatchObject({ name: "travel policy", type: "text" });

    const globex = await getJson<DocumentList>("/documents", keys.globex);
    expect(globex.documents.map((d) => d.source)).toEqual(["handbook"]);
  });

  it("pages with limit and cursor, and narrows by prefix", async () => {
    const first = await getJson<DocumentList>("/documents?limit=3");
    expect(first.documents).toHaveLength(3);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await getJson<DocumentList>(
      `/documents?limit=3&cursor=${encodeURIComponent(first.nextCursor as string)}`,
    );
    expect(second.documents.map((d) => d.source)).toEqual(["upload:fake-memo.pdf"]);
    expect(second.nextCursor).toBeUndefined();

    const uploads = await getJson<DocumentList>(`/documents?prefix=${encodeURIComponent("upload:")}`);
    expect(uploads.documents.map((d) => d.source)).toEqual(["upload:bitcoin.pdf", "upload:fake-memo.pdf"]);
    expect((await getJson<DocumentList>("/documents?prefix=nothing")).documents).toEqual([]);
  });

  it("gives one document with its chunks in order, by its URL-encoded source", async () => {
    const detail = await getJson<DocumentDetail>(`/documents/${encodeURIComponent("upload:bitcoin.pdf")}`);
    expect(detail.document.source).toBe("upload:bitcoin.pdf");
    expect(detail.chunks).toHaveLength(detail.document.chunks);
    expect(detail.chunks.map((c) => c.index)).toEqual(detail.chunks.map((_, i) => i));
    expect(detail.chunks[0]).toMatchObject({ page: 1, text: expect.stringContaining("Bitcoin") });

    const deep = await getJson<DocumentDetail>(`/documents/${encodeURIComponent(DEEP)}`);
    expect(deep.chunks.map((c) => c.text).join(" ")).toContain("laptops");

    // The same id in two tenants: each sees its own text.
    const acme = await getJson<DocumentDetail>("/documents/handbook");
    const globex = await getJson<DocumentDetail>("/documents/handbook", keys.globex);
    expect(acme.chunks[0].text).not.toBe(globex.chunks[0].text);
    expect(globex.chunks.map((c) => c.text).join(" ")).toContain("peer-to-peer");
  });

  it("answers 404 for a source the caller's tenant does not hold, another tenant's included", async () => {
    await expectProblem(await get(`/documents/${encodeURIComponent("upload:nothing.pdf")}`), 404, {
      code: "not_found",
      detail: expect.stringContaining("upload:nothing.pdf"),
    });
    await expectProblem(
      await get(`/documents/${encodeURIComponent("upload:bitcoin.pdf")}`, keys.globex),
      404,
    );
    // Not encoded: the slashes make another path, which no route serves.
    await expectProblem(await get("/documents//srv/handbooks"), 404);
  });

  it("answers 400 problems to a limit out of range or not an integer, an unknown parameter or a bad cursor", async () => {
    await expectProblem(await get("/documents?limit=0"), 400, {
      code: "invalid_request",
      detail: expect.stringContaining("limit must be >= 1"),
    });
    await expectProblem(await get("/documents?limit=501"), 400, {
      detail: expect.stringContaining("<= 500"),
    });
    await expectProblem(await get("/documents?limit=-3"), 400);
    await expectProblem(await get("/documents?limit=ten"), 400, {
      detail: expect.stringContaining("integer"),
    });
    await expectProblem(await get("/documents?limit=1.5"), 400);
    await expectProblem(await get("/documents?limit=99999999999999999999"), 400);
    await expectProblem(await get("/documents?limit=1&limit=2"), 400);
    await expectProblem(await get("/documents?sort=name"), 400, {
      errors: [expect.objectContaining({ field: "sort" })],
    });
    await expectProblem(await get("/documents?cursor=%25%25%25"), 400, { code: "bad_request" });
    await expectProblem(await get("/documents?cursor="), 400);
    await expectProblem(await get(`/documents/${"x".repeat(8193)}`), 400, {
      detail: expect.stringContaining("must NOT have more than 8192"),
    });
  });

  it("needs a key with the query scope", async () => {
    await expectProblem(await get("/documents", keys.acmeIngestOnly), 403, { code: "forbidden" });
    await expectProblem(await get("/documents/handbook", keys.acmeIngestOnly), 403);
    await expectProblem(await fetch(`${url}/documents`), 401);
  });

  it("describes both routes in the OpenAPI document, under the documents tag", async () => {
    const spec = (await (await fetch(`${url}/docs/json`)).json()) as {
      paths: Record<string, { get: { tags: string[]; summary: string } }>;
    };
    expect(spec.paths["/documents"].get.tags).toEqual(["documents"]);
    expect(spec.paths["/documents/{source}"].get.summary).toMatch(/chunks in order/);
  });
});

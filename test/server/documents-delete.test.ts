// DELETE /documents/:source over HTTP, with API keys, on both stores: the document's chunks leave the vector
// store and the lexical index and it leaves the catalog, so it is neither listed nor cited, and ingesting it again
// adds it anew; an unknown or another tenant's source is a 404 that touches nothing; on Redis, a deletion that
// fails part way leaves the catalog not listing the document, and ingesting and deleting it again mends it.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Scope } from "../../src/auth/api-keys.ts";
import type { DocumentDetail, DocumentList } from "../../src/contracts/documents.ts";
import { appOptions, buildApp } from "../../src/server/app.ts";
import { createServices, type Services } from "../../src/services/services.ts";
import { bearer, writeKeys } from "../helpers/keys.ts";
import { dropKeys } from "../helpers/redis.ts";
import { FIXTURES, quiet, tempDataDir, testSettings } from "../helpers/services.ts";

const SPECS: Record<string, { tenant: string; scopes: Scope[] }> = {
  acme: { tenant: "acme", scopes: ["query", "ingest"] },
  globex: { tenant: "globex", scopes: ["query", "ingest"] },
  initech: { tenant: "initech", scopes: ["query", "ingest"] },
  acmeQueryOnly: { tenant: "acme", scopes: ["query"] },
};

const MEMO = "upload:fake-memo.pdf";
const BITCOIN = "upload:bitcoin.pdf";
const QUESTION = "How many laptops were shipped?";

const encoded = (source: string) => `/documents/${encodeURIComponent(source)}`;

describe.each([
  { backend: "in-process stores", redis: false },
  { backend: "Redis", redis: true },
])("DELETE /documents/:source on $backend", ({ redis }) => {
  const prefix = `t${Math.random().toString(36).slice(2, 10)}`;
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let url = "";
  let keys: Record<string, string>;
  let services: Services;
  let close: () => Promise<void>;

  const call = (method: string, route: string, key: string | undefined = keys.acme) =>
    fetch(`${url}${route}`, { method, headers: key ? bearer(key) : {} });
  const sources = async (key = keys.acme) => {
    const res = await call("GET", "/documents", key);
    expect(res.status).toBe(200);
    return ((await res.json()) as DocumentList).documents.map((d) => d.source);
  };
  const upload = async (files: string[], key = keys.acme) => {
    const form = new FormData();
    for (const file of files) {
      form.append("files", new Blob([await readFile(path.join(FIXTURES, file))]), file);
    }
    const res = await fetch(`${url}/ingest`, { method: "POST", headers: bearer(key), body: form });
    expect(res.status).toBe(200);
    return (await res.json()) as { added: number; skipped: number; chunks: { added: number } };
  };
  const citedSources = async (key = keys.acme) => {
    const res = await fetch(`${url}/chain/qa`, {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(key) },
      body: JSON.stringify({ question: QUESTION }),
    });
    expect(res.status).toBe(200);
    const reply = (await res.json()) as { sources?: { source?: string }[] };
    return (reply.sources ?? []).map((s) => s.source);
  };
  /** The chunks the tenant's lexical index finds for the question: the BM25 side, apart from the vectors. */
  const lexicalSources = async (tenant: string) => {
    const hits = await (await services.tenant(tenant)).index.lexicalSearch(QUESTION, { k: 20 });
    return hits.map((h) => h.document.metadata.doc_id);
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
    expect(await upload(["fake-memo.pdf", "bitcoin.pdf"])).toMatchObject({ added: 2 });
    expect(await upload(["fake-memo.pdf"], keys.globex)).toMatchObject({ added: 1 });
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

  it("deletes a document: no longer listed, shown, searched or cited, and the others untouched", async () => {
    expect(await citedSources()).toContain(MEMO);
    expect(await lexicalSources("acme")).toContain(MEMO);
    const bitcoinBefore = (await (await call("GET", encoded(BITCOIN))).json()) as DocumentDetail;

    const res = await call("DELETE", encoded(MEMO));
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");

    expect(await sources()).toEqual([BITCOIN]);
    await expectProblem(await call("GET", encoded(MEMO)), 404);
    expect(await citedSources()).not.toContain(MEMO);
    expect(await lexicalSources("acme")).not.toContain(MEMO);
    // The other document keeps every chunk, and so does the other tenant's copy of the same source.
    expect(await (await call("GET", encoded(BITCOIN))).json()).toEqual(bitcoinBefore);
    expect(await sources(keys.globex)).toEqual([MEMO]);
    expect(await citedSources(keys.globex)).toContain(MEMO);
  });

  it("adds a deleted document again when it is ingested again", async () => {
    const again = await upload(["fake-memo.pdf"]);
    expect(again).toMatchObject({ added: 1, skipped: 0 });
    expect(again.chunks.added).toBeGreaterThan(0);
    expect(await sources()).toEqual([BITCOIN, MEMO]);
    expect(await citedSources()).toContain(MEMO);
  });

  it("answers 404 for an unknown source or another tenant's, and touches nothing", async () => {
    await expectProblem(await call("DELETE", encoded("upload:nothing.pdf")), 404, {
      code: "not_found",
      detail: expect.stringContaining("upload:nothing.pdf"),
    });
    await expectProblem(await call("DELETE", encoded(BITCOIN), keys.globex), 404);
    expect(await sources()).toEqual([BITCOIN, MEMO]);
    expect(await sources(keys.globex)).toEqual([MEMO]);
    // Not encoded: the slashes make another path, which no route serves.
    await expectProblem(await call("DELETE", "/documents//srv/handbooks"), 404);
  });

  it("needs a key with the ingest scope", async () => {
    await expectProblem(await call("DELETE", encoded(MEMO), keys.acmeQueryOnly), 403, { code: "forbidden" });
    await expectProblem(await call("DELETE", encoded(MEMO), ""), 401);
    expect(await sources()).toEqual([BITCOIN, MEMO]);
  });

  it.runIf(redis)(
    "leaves the catalog not listing a document whose deletion failed part way, and mends it on re-ingestion",
    async () => {
      expect(await upload(["fake-memo.pdf"], keys.initech)).toMatchObject({ added: 1 });
      const client = createClient({ url: inject("redisUrl") });
      await client.connect();
      try {
        const [vectors] = await client.keys(`${prefix}:{initech}:*:vectors`);
        expect(vectors).toBeDefined();
        // The vector set replaced by a string: VREM fails (WRONGTYPE) after the records were deleted.
        await client.rename(vectors, `${vectors}:aside`);
        await client.set(vectors, "not a vector set");
        const failed = await call("DELETE", encoded(MEMO), keys.initech);
        expect(failed.status).toBe(500);
        expect(await sources(keys.initech)).toEqual([]);

        await client.del(vectors);
        await client.rename(`${vectors}:aside`, vectors);
        expect(await upload(["fake-memo.pdf"], keys.initech)).toMatchObject({ added: 1 });
        expect(await sources(keys.initech)).toEqual([MEMO]);
        expect((await call("DELETE", encoded(MEMO), keys.initech)).status).toBe(204);
        expect(await sources(keys.initech)).toEqual([]);
        expect(await client.exists(vectors)).toBe(0);
      } finally {
        await client.quit();
      }
    },
  );

  it("describes the route in the OpenAPI document, under the documents tag", async () => {
    const spec = (await (await fetch(`${url}/docs/json`)).json()) as {
      paths: Record<string, Record<string, { tags: string[]; summary: string; responses: object }>>;
    };
    const route = spec.paths["/documents/{source}"].delete;
    expect(route.tags).toEqual(["documents"]);
    expect(route.summary).toMatch(/^Delete a document/);
    expect(Object.keys(route.responses)).toEqual(expect.arrayContaining(["204", "4XX"]));
  });
});

// The document status store contract over both implementations (in process, persisted to a file, plain or
// sealed; Redis on the real Redis 8 the test run starts), then what each adds: the file written whole and read
// back after a restart, sealed at rest when asked; in Redis, the key layout and many processes writing one
// document at once under the rule of ownership.
import { randomBytes, randomUUID } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DocumentState } from "../../src/contracts/document-status.ts";
import { SealedFileError, sealedFiles } from "../../src/store/at-rest/sealed-files.ts";
import { FileDocumentStatusStore } from "../../src/store/file-document-status-store.ts";
import type { RedisNode } from "../../src/store/redis-client.ts";
import { RedisDocumentStatusStore } from "../../src/store/redis-document-status-store.ts";
import { dropKeys, useRedisClients } from "../helpers/redis.ts";
import { tempDataDir } from "../helpers/services.ts";
import { describeDocumentStatusStoreContract } from "./document-status-store.contract.ts";

let data: Awaited<ReturnType<typeof tempDataDir>>;
beforeAll(async () => {
  data = await tempDataDir();
});
afterAll(async () => data?.remove());

const file = () => path.join(data.dir, `${randomUUID()}.json`);

describeDocumentStatusStoreContract("FileDocumentStatusStore", {
  create: async () => new FileDocumentStatusStore({ path: file() }),
  destroy: async (store) => (store as FileDocumentStatusStore).close(),
});

describeDocumentStatusStoreContract("FileDocumentStatusStore with sealed files", {
  create: async () => new FileDocumentStatusStore({ path: file(), files: sealedFiles(randomBytes(32)) }),
  destroy: async (store) => (store as FileDocumentStatusStore).close(),
});

const redis = useRedisClients();
let client: RedisNode;
let other: RedisNode;
beforeAll(() => {
  ({ client, other } = redis);
});

// As stores.ts names them: under a tenant's hash tag, beside the records of one index.
const uniquePrefix = () => `test:{status-${randomUUID().slice(0, 8)}}:default:local-hash-v1-1024:status`;

describeDocumentStatusStoreContract("RedisDocumentStatusStore", {
  create: async () => new RedisDocumentStatusStore({ client, prefix: uniquePrefix() }),
  destroy: async (store) => dropKeys(client, (store as RedisDocumentStatusStore).prefix),
});

const failed: DocumentState = {
  source: "/srv/handbook/fake-memo.pdf",
  status: "failed",
  updatedAt: Date.parse("2026-01-05T09:30:00Z"),
  name: "fake-memo.pdf",
  error: {
    step: "extracting",
    code: "bad_request",
    message: '"fake-memo.pdf" could not be read as a PDF: Invalid PDF structure.',
    status: 400,
  },
};

describe("FileDocumentStatusStore specifics", () => {
  it("writes its entries a moment after a change, and a store opened on the file reads them back", async () => {
    const where = file();
    const store = new FileDocumentStatusStore({ path: where, flushDelayMs: 20 });
    await store.set(failed);
    await store.set({ source: "handbook", status: "embedding", updatedAt: failed.updatedAt, jobId: "job-7" });
    await store.clear("handbook", "job-7");
    await expect
      .poll(() => readFile(where, "utf8").catch(() => ""), { timeout: 5_000 })
      .toContain("fake-memo");
    const reopened = new FileDocumentStatusStore({ path: where });
    expect(await reopened.list({ limit: 10 })).toEqual([failed]);
    await store.close();
  });

  it("writes what is pending on close, atomically: no temporary file is left beside it", async () => {
    const where = file();
    const store = new FileDocumentStatusStore({ path: where, flushDelayMs: 60_000 });
    await store.setMany([failed, { ...failed, source: "a", status: "queued", jobId: "job-1" }]);
    await store.close();
    const reopened = new FileDocumentStatusStore({ path: where });
    expect((await reopened.list({ limit: 10 })).map((s) => s.source)).toEqual([
      "/srv/handbook/fake-memo.pdf",
      "a",
    ]);
    expect((await readdir(path.dirname(where))).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("refuses a damaged file when opened, naming it, rather than starting empty", async () => {
    const where = file();
    await writeFile(where, '{"version":1,"entries":[{"sou');
    await expect(new FileDocumentStatusStore({ path: where }).open()).rejects.toThrow(
      new RegExp(`${path.basename(where)} is not valid JSON`),
    );
  });

  it("keeps entries in memory only without a path", async () => {
    const store = new FileDocumentStatusStore();
    await store.set(failed);
    await store.close();
    expect(await store.get(failed.source)).toEqual(failed);
  });
});

describe("FileDocumentStatusStore with sealed files", () => {
  it("writes its file sealed, naming no document, and a store with the same key reads it back", async () => {
    const where = file();
    const files = sealedFiles(randomBytes(32));
    const store = new FileDocumentStatusStore({ path: where, files, flushDelayMs: 60_000 });
    await store.set(failed);
    await store.close();
    expect((await readFile(where)).includes("fake-memo")).toBe(false);
    expect(await new FileDocumentStatusStore({ path: where, files }).list({ limit: 10 })).toEqual([failed]);
  });

  it("refuses its file when opened with another data key, rather than starting empty", async () => {
    const where = file();
    const store = new FileDocumentStatusStore({ path: where, files: sealedFiles(randomBytes(32)) });
    await store.set(failed);
    await store.close();
    const other = new FileDocumentStatusStore({ path: where, files: sealedFiles(randomBytes(32)) });
    await expect(other.open()).rejects.toThrow(SealedFileError);
  });
});

describe("RedisDocumentStatusStore specifics", () => {
  it("keeps its entries under <prefix>: in a sorted set of sources and a hash of entries", async () => {
    const prefix = uniquePrefix();
    const store = new RedisDocumentStatusStore({ client, prefix });
    await store.set(failed);
    const keys: string[] = [];
    for await (const key of client.scanIterator({ MATCH: `${prefix}:*` })) keys.push(key);
    expect(keys.sort()).toEqual([`${prefix}:entries`, `${prefix}:sources`]);
    expect(await client.zRangeWithScores(`${prefix}:sources`, 0, -1)).toEqual([
      { value: failed.source, score: 0 },
    ]);
    expect(JSON.parse((await client.hGet(`${prefix}:entries`, failed.source)) as string)).toEqual(failed);
    await store.clear(failed.source);
    expect(await client.exists([`${prefix}:entries`, `${prefix}:sources`])).toBe(0);
  });

  it("shares entries between processes, and two jobs racing on one document leave the later one's", async () => {
    const prefix = uniquePrefix();
    const [a, b] = [client, other].map((c) => new RedisDocumentStatusStore({ client: c, prefix }));
    await a.setMany([{ source: "policy", status: "queued", updatedAt: 1, jobId: "job-1" }]);
    expect(await b.get("policy")).toMatchObject({ jobId: "job-1" });
    // job-2 claims the document while job-1, in another process, keeps writing its own steps.
    await b.setMany([{ source: "policy", status: "queued", updatedAt: 2, jobId: "job-2" }]);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).set({
          source: "policy",
          status: i % 3 ? "embedding" : "failed",
          updatedAt: 3 + i,
          jobId: "job-1",
        }),
      ),
    );
    expect(await a.get("policy")).toMatchObject({ status: "queued", jobId: "job-2" });
    await dropKeys(client, prefix);
  });
});

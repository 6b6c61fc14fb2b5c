// The vector-store contract over both backends: the local store, and Redis vector sets on the real Redis 8 the
// test run starts.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { sealedFiles } from "../../src/store/at-rest/sealed-files.ts";
import { Bm25Index } from "../../src/store/bm25-index.ts";
import { LocalVectorStore } from "../../src/store/local/local-vector-store.ts";
import type { RedisNode } from "../../src/store/redis-client.ts";
import { RedisLexicalIndex } from "../../src/store/redis-lexical-index.ts";
import { filterExpression, RedisVectorSetStore } from "../../src/store/redis-vector-sets.ts";
import { sampleDocs } from "../retrieval/scifact-sample.ts";
import { describeVectorStoreContract, type StoreUnderTest } from "./vector-store.contract.ts";

describeVectorStoreContract("LocalVectorStore", {
  create: async (embeddings) => new LocalVectorStore(embeddings) as unknown as StoreUnderTest,
});

/** The local store answering through its approximate index: every write waits until the graph holds it. */
class IndexedAtOnce extends LocalVectorStore {
  override async addVectors(...args: Parameters<LocalVectorStore["addVectors"]>): Promise<string[]> {
    const ids = await super.addVectors(...args);
    // A search starts the graph; then every vector written is in it before the contract searches.
    await this.similaritySearchVectorWithScore(args[0][0], 1);
    await this.whenIndexed();
    return ids;
  }
}

describeVectorStoreContract("LocalVectorStore (HNSW index)", {
  create: async (embeddings) =>
    new IndexedAtOnce(embeddings, { vectorIndex: "hnsw" }) as unknown as StoreUnderTest,
});

/**
 * The local store reading its vectors from its base file: every write is saved at once as a new base, which the
 * store then reads the vectors from (pages of four, so that a few chunks span pages in memory and on disk).
 */
class OnDiskAtOnce extends LocalVectorStore {
  override async addVectors(...args: Parameters<LocalVectorStore["addVectors"]>): Promise<string[]> {
    const ids = await super.addVectors(...args);
    await this.flush();
    return ids;
  }

  override async delete(...args: Parameters<LocalVectorStore["delete"]>): Promise<void> {
    await super.delete(...args);
    await this.flush();
  }
}

const onDiskDirs: string[] = [];
afterAll(async () => {
  for (const dir of onDiskDirs) await rm(dir, { recursive: true, force: true });
});

describeVectorStoreContract("LocalVectorStore (vectors read from its base file)", {
  create: async (embeddings) => {
    const dir = await mkdtemp(path.join(tmpdir(), "counsel-on-disk-"));
    onDiskDirs.push(dir);
    return new OnDiskAtOnce(embeddings, {
      path: path.join(dir, "vectors.bin"),
      vectorsOnDiskFrom: 1,
      maxTextInMemory: 0,
      pageSlots: 4,
      saveDelayMs: 60_000,
    }) as unknown as StoreUnderTest;
  },
});

describeVectorStoreContract(
  "LocalVectorStore (sealed files: DATA_DIR encrypted, vectors read from its base)",
  {
    create: async (embeddings) => {
      const dir = await mkdtemp(path.join(tmpdir(), "counsel-sealed-"));
      onDiskDirs.push(dir);
      return new OnDiskAtOnce(embeddings, {
        path: path.join(dir, "vectors.bin"),
        files: sealedFiles(randomBytes(32)),
        vectorsOnDiskFrom: 1,
        maxTextInMemory: 0,
        pageSlots: 4,
        saveDelayMs: 60_000,
      }) as unknown as StoreUnderTest;
    },
  },
);

let client: RedisNode;
beforeAll(async () => {
  client = createClient({ url: inject("redisUrl") });
  await client.connect();
});
afterAll(async () => client?.quit());

// SciFact test claims 5, 36, 94, 597, 873 and 1363 (BEIR SciFact queries.jsonl), whose documents the sample holds.
const SCIFACT_CLAIMS = [
  "1/2000 in UK have abnormal PrP positivity.",
  "A deficiency of vitamin B12 increases blood levels of homocysteine.",
  "Albendazole is used to treat lymphatic filariasis.",
  "Incidence rates of cervical cancer have decreased.",
  "Obesity is determined solely by environmental factors.",
  "Venules have a thinner or absent smooth layer compared to arterioles.",
];

const unique = () => `test:${Math.random().toString(36).slice(2, 10)}`;

async function dropKeys(prefix: string) {
  for await (const key of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) await client.del(key);
}

describeVectorStoreContract("RedisVectorSetStore", {
  create: async (embeddings) => {
    const key = unique();
    return new RedisVectorSetStore(embeddings, {
      client,
      key,
      lexical: new RedisLexicalIndex({ client, prefix: `${key}:lexical` }),
    }) as unknown as StoreUnderTest;
  },
  destroy: async (store) => dropKeys((store as unknown as { key: string }).key),
});

// No Query Engine store here: no Redis with FT.* vector search can run on this machine (see README, "Redis").

describe("RedisVectorSetStore specifics", () => {
  it("refuses vectors of another dimension, naming how to re-index", async () => {
    const key = unique();
    const small = new RedisVectorSetStore(new LocalHashEmbeddings({ dimensions: 64 }), { client, key });
    await small.addDocuments([{ pageContent: "a", metadata: {} }], { ids: ["a"] });
    const large = new RedisVectorSetStore(new LocalHashEmbeddings({ dimensions: 128 }), { client, key });
    await expect(large.addDocuments([{ pageContent: "b", metadata: {} }], { ids: ["b"] })).rejects.toThrow(
      /64-dimensional.*re-index/,
    );
    await dropKeys(key);
  });

  it("builds FILTER expressions that cannot be escaped out of", () => {
    expect(filterExpression({ source: "a.pdf", page: 2, ok: true })).toBe(
      '.source == "a.pdf" and .page == 2 and .ok == 1',
    );
    expect(filterExpression({ title: 'say "hi"' })).toBe(".title == 'say \"hi\"'");
    expect(() => filterExpression({ "x) or (1": "y" })).toThrow(/not a metadata field/);
    expect(() => filterExpression({ t: `both ' and "` })).toThrow(/cannot contain both/);
    expect(() => filterExpression({ path: "C:\\dir\\" })).toThrow(/backslash/);
    expect(filterExpression({ big: 1e21, small: -1.5e-7 })).toBe(".big == 1e21 and .small == -0.00000015");
  });

  it("matches backslashes, tiny and huge numbers as the expression parser reads them", async () => {
    const key = unique();
    const store = new RedisVectorSetStore(new LocalHashEmbeddings({ dimensions: 64 }), { client, key });
    const metadata = [
      { path: "C:\\Users\\x.txt", ratio: 1e-7 },
      { path: "/srv/x.txt", ratio: 1e21 },
    ];
    await store.addDocuments(
      metadata.map((m) => ({ pageContent: "x", metadata: m })),
      { ids: ["win", "unix"] },
    );
    const ids = async (filter: Record<string, string | number>) =>
      (await store.similaritySearch("x", 5, filter)).map((d) => d.id);
    expect(await ids({ path: "C:\\Users\\x.txt" })).toEqual(["win"]);
    expect(await ids({ ratio: 1e-7 })).toEqual(["win"]);
    expect(await ids({ ratio: 1e21 })).toEqual(["unix"]);
    await dropKeys(key);
  });

  it("sees another process's writes at once, though each process caches what it reads", async () => {
    const prefix = unique();
    const writer = new RedisLexicalIndex({ client, prefix });
    const reader = new RedisLexicalIndex({ client, prefix });
    await writer.add([{ id: "a", text: "The cafeteria opens at 7am." }]);
    expect((await reader.search("cafeteria", 5)).map((h) => h.id)).toEqual(["a"]);
    await writer.add([{ id: "b", text: "The cafeteria closes at 3pm; the cafeteria is on floor 2." }]);
    expect((await reader.search("cafeteria", 5)).map((h) => h.id)).toEqual(["b", "a"]);
    await writer.remove(["b"]);
    expect((await reader.search("cafeteria", 5)).map((h) => h.id)).toEqual(["a"]);
    await dropKeys(prefix);
  });

  it("ranks lexically exactly as the embedded BM25 index does", async () => {
    const docs = sampleDocs().map((d) => ({ id: d._id, text: `${d.title}\n${d.text}` }));
    const prefix = unique();
    const redisIndex = new RedisLexicalIndex({ client, prefix });
    const localIndex = new Bm25Index();
    await redisIndex.add(docs);
    for (const d of docs) localIndex.add(d.id, d.text);
    // A removal must undo its statistics exactly.
    await redisIndex.remove([docs[0].id]);
    localIndex.remove(docs[0].id);
    for (const query of SCIFACT_CLAIMS) {
      const redisHits = await redisIndex.search(query, 10);
      const localHits = localIndex.search(query, 10);
      expect(redisHits.length).toBeGreaterThan(0);
      expect(redisHits.map((h) => h.id)).toEqual(localHits.map((h) => h.id));
      for (const [i, hit] of redisHits.entries()) expect(hit.score).toBeCloseTo(localHits[i].score, 6);
    }
    await dropKeys(prefix);
  });
});

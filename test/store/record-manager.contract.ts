// One contract for every Counsel record manager (file-backed, Redis): the RecordManagerInterface semantics that
// LangChain's index() relies on, the extras the ingestion pipeline uses (listGroupIds, flush), the record per
// document that the catalog reads, and index() itself run over a real vector store, so that skip, update and
// both cleanup modes are checked end to end.
import { Document } from "@langchain/core/documents";
import { index } from "@langchain/core/indexing";
import { FakeEmbeddings } from "@langchain/core/utils/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { compareSources } from "../../src/contracts/documents.ts";
import type { PipelineRecordManager } from "../../src/contracts/stores.ts";
import { LocalVectorStore } from "../../src/store/local/local-vector-store.ts";

export interface RecordManagerFactory {
  create(): Promise<PipelineRecordManager>;
  destroy?(recordManager: PipelineRecordManager): Promise<void>;
}

// Real sentences: the memo (test/fixtures/fake-memo.txt) and the Bitcoin whitepaper (test/fixtures/bitcoin.txt).
const MEMO = [
  "There were 20,000 bottles of water, 10,000 blankets, and 200 laptops delivered on January 23, 2023.",
  "A total of 3 trucks were used for 15 hours.",
];
const BITCOIN = [
  "We propose a solution to the double-spending problem using a peer-to-peer network.",
  "The network timestamps transactions by hashing them into an ongoing chain of hash-based proof-of-work.",
];

const chunks = (source: string, texts: string[]) =>
  texts.map((text) => new Document({ pageContent: text, metadata: { source } }));

export function describeRecordManagerContract(name: string, factory: RecordManagerFactory) {
  describe(`${name} (record manager contract)`, () => {
    let rm: PipelineRecordManager;
    beforeEach(async () => {
      rm = await factory.create();
      await rm.createSchema();
    });
    afterEach(async () => factory.destroy?.(rm));

    it("gives strictly increasing times, even when asked concurrently", async () => {
      const times = await Promise.all(Array.from({ length: 50 }, () => rm.getTime()));
      const sorted = [...times].sort((a, b) => a - b);
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]).toBeGreaterThan(sorted[i - 1]);
      // Milliseconds since the epoch, close to this machine's clock.
      expect(Math.abs(sorted[0] - Date.now())).toBeLessThan(60_000);
    });

    it("tells which keys exist, in the order asked", async () => {
      expect(await rm.exists([])).toEqual([]);
      await rm.update(["a1", "b1"], { groupIds: ["a", "b"] });
      expect(await rm.exists(["zz", "b1", "a1"])).toEqual([false, true, true]);
    });

    it("lists keys updated strictly before or after a time, and honours a limit", async () => {
      await rm.update(["old1", "old2"], {});
      const cut = await rm.getTime();
      await rm.update(["new1"], {});
      expect((await rm.listKeys({ before: cut })).sort()).toEqual(["old1", "old2"]);
      expect(await rm.listKeys({ after: cut })).toEqual(["new1"]);
      expect((await rm.listKeys({})).sort()).toEqual(["new1", "old1", "old2"]);
      expect(await rm.listKeys({ before: cut, limit: 1 })).toHaveLength(1);
    });

    it("lists keys by group, combined with a time bound and a limit", async () => {
      await rm.update(["a1", "a2", "b1", "c1"], { groupIds: ["a", "a", "b", "c"] });
      const cut = await rm.getTime();
      await rm.update(["a3"], { groupIds: ["a"] });
      expect((await rm.listKeys({ groupIds: ["a"] })).sort()).toEqual(["a1", "a2", "a3"]);
      expect((await rm.listKeys({ groupIds: ["a", "b", "a"] })).sort()).toEqual(["a1", "a2", "a3", "b1"]);
      expect((await rm.listKeys({ groupIds: ["a"], before: cut })).sort()).toEqual(["a1", "a2"]);
      expect(await rm.listKeys({ groupIds: ["a"], after: cut })).toEqual(["a3"]);
      expect(await rm.listKeys({ groupIds: ["a"], limit: 2 })).toHaveLength(2);
      expect(await rm.listKeys({ groupIds: ["nope"] })).toEqual([]);
      expect(await rm.listKeys({ groupIds: [] })).toEqual([]);
    });

    it("keeps a key's group when it is updated without group ids, and moves it when given a new one", async () => {
      await rm.update(["k1", "k2"], { groupIds: ["a", "a"] });
      await rm.update(["k1"], {});
      expect((await rm.listKeys({ groupIds: ["a"] })).sort()).toEqual(["k1", "k2"]);
      await rm.update(["k2"], { groupIds: ["b"] });
      expect(await rm.listKeys({ groupIds: ["a"] })).toEqual(["k1"]);
      expect(await rm.listKeys({ groupIds: ["b"] })).toEqual(["k2"]);
      await rm.update(["k1"], { groupIds: [null] });
      expect(await rm.listKeys({ groupIds: ["a"] })).toEqual([]);
      expect((await rm.listGroupIds()).sort()).toEqual(["b"]);
      expect(await rm.exists(["k1"])).toEqual([true]);
    });

    it("forgets deleted keys everywhere, and a group once its last key is gone", async () => {
      await rm.update(["a1", "a2", "b1"], { groupIds: ["a", "a", "b"] });
      await rm.deleteKeys(["a1", "b1", "never-there"]);
      expect(await rm.exists(["a1", "a2", "b1"])).toEqual([false, true, false]);
      expect(await rm.listKeys({})).toEqual(["a2"]);
      expect(await rm.listKeys({ groupIds: ["a", "b"] })).toEqual(["a2"]);
      expect(await rm.listGroupIds()).toEqual(["a"]);
      await rm.deleteKeys([]);
    });

    it("keeps group ids, keys and times with odd characters apart", async () => {
      const keys = ["k*1", "k[2]", "k:3", "ключ 4"];
      const groups = ["/docs/a b.pdf", "upload:*.pdf", "g:x", "документ"];
      await rm.update(keys, { groupIds: groups });
      for (let i = 0; i < keys.length; i++)
        expect(await rm.listKeys({ groupIds: [groups[i]] })).toEqual([keys[i]]);
      expect((await rm.listGroupIds()).sort()).toEqual([...groups].sort());
    });

    it("refuses an update that would go back in time, and group ids that do not match the keys", async () => {
      await expect(rm.update(["k"], { timeAtLeast: Date.now() + 60_000 })).rejects.toThrow(/timeAtLeast/);
      expect(await rm.exists(["k"])).toEqual([false]);
      await expect(rm.update(["k1", "k2"], { groupIds: ["a"] })).rejects.toThrow(/group ids/);
    });

    it("flushes without losing anything", async () => {
      await rm.update(["k"], { groupIds: ["g"] });
      await rm.flush();
      expect(await rm.exists(["k"])).toEqual([true]);
    });

    describe("document records", () => {
      const sources = async (options: { prefix?: string; after?: string; limit?: number } = {}) =>
        (await rm.listDocuments({ limit: 100, ...options })).map((d) => d.source);

      it("keeps each document's chunk count and info, and when its keys last changed", async () => {
        await rm.update(["a1", "a2", "b1"], {
          groupIds: ["a", "a", "b"],
          documents: { a: { name: "a.md", type: "markdown" }, b: { name: "b.txt" } },
        });
        const [a, b] = await rm.listDocuments({ limit: 10 });
        expect(a).toMatchObject({ source: "a", chunks: 2, info: { name: "a.md", type: "markdown" } });
        expect(b).toMatchObject({ source: "b", chunks: 1, info: { name: "b.txt" } });
        expect(Math.abs(a.updatedAt - Date.now())).toBeLessThan(60_000);

        // Seen again unchanged, as index() does (without, then with group ids): the time stays, the info is new.
        await rm.update(["a1", "a2"], {});
        await rm.update(["a1", "a2"], { groupIds: ["a", "a"], documents: { a: { name: "a.md", bytes: 9 } } });
        const seen = (await rm.getDocument("a"))?.record;
        expect(seen).toEqual({
          source: "a",
          chunks: 2,
          updatedAt: a.updatedAt,
          info: { name: "a.md", bytes: 9 },
        });

        // A key gained, then one lost: the count follows and the time moves on each time.
        await rm.update(["a3"], { groupIds: ["a"] });
        const grown = (await rm.getDocument("a"))?.record;
        expect(grown?.chunks).toBe(3);
        expect(grown?.updatedAt).toBeGreaterThan(a.updatedAt);
        await rm.deleteKeys(["a1"]);
        const shrunk = (await rm.getDocument("a"))?.record;
        expect(shrunk?.chunks).toBe(2);
        expect(shrunk?.updatedAt).toBeGreaterThan(grown?.updatedAt as number);
        expect(shrunk?.info).toEqual({ name: "a.md", bytes: 9 });
        // Untouched by all this: b.
        expect((await rm.getDocument("b"))?.record).toEqual(b);

        await rm.deleteKeys(["a2", "a3"]);
        expect(await sources()).toEqual(["b"]);
        expect(await rm.getDocument("a")).toBeUndefined();
        // A document that comes back starts afresh, without the old info.
        await rm.update(["a4"], { groupIds: ["a"] });
        expect((await rm.getDocument("a"))?.record.info).toBeUndefined();
      });

      it("gives a document's keys with its record, and nothing for a document it does not hold", async () => {
        await rm.update(["a1", "a2", "b1"], { groupIds: ["a", "a", "b"] });
        const found = await rm.getDocument("a");
        expect(found?.keys.sort()).toEqual(["a1", "a2"]);
        expect(found?.record).toMatchObject({ source: "a", chunks: 2 });
        expect(await rm.getDocument("nope")).toBeUndefined();
        await rm.update(["a1", "a2"], { groupIds: [null, null] });
        expect(await rm.getDocument("a")).toBeUndefined();
      });

      it("pages through documents in code-point order, by prefix and after a source", async () => {
        // \uE000 sorts before an emoji by code point (and in UTF-8), after it in UTF-16.
        const all = [
          "/docs/a.pdf",
          "/docs/b.pdf",
          "/docs/c/d.pdf",
          "s3://x/1",
          "upload:z",
          "\uE000",
          "😀",
          "Z",
        ];
        await rm.update(
          all.map((_, i) => `k${i}`),
          { groupIds: all },
        );
        expect(await sources()).toEqual([...all].sort(compareSources));
        expect((await sources()).slice(-2)).toEqual(["\uE000", "😀"]);
        expect(await sources({ limit: 2 })).toEqual(["/docs/a.pdf", "/docs/b.pdf"]);
        expect(await sources({ after: "/docs/b.pdf", limit: 2 })).toEqual(["/docs/c/d.pdf", "Z"]);
        expect(await sources({ prefix: "/docs/" })).toEqual(["/docs/a.pdf", "/docs/b.pdf", "/docs/c/d.pdf"]);
        expect(await sources({ prefix: "/docs/", after: "/docs/a.pdf", limit: 1 })).toEqual(["/docs/b.pdf"]);
        expect(await sources({ prefix: "/docs/", after: "/docs/c/d.pdf" })).toEqual([]);
        expect(await sources({ prefix: "/docs/", after: "/a" })).toHaveLength(3);
        expect(await sources({ prefix: "/docs/c/" })).toEqual(["/docs/c/d.pdf"]);
        expect(await sources({ prefix: "nope" })).toEqual([]);
        expect(await sources({ prefix: "😀" })).toEqual(["😀"]);
      });

      it("backfills info only where it is missing: a later ingestion's info wins", async () => {
        await rm.update(["a1", "b1"], { groupIds: ["a", "b"] });
        expect((await rm.documentsWithoutInfo()).sort()).toEqual(["a", "b"]);
        const before = (await rm.getDocument("a"))?.record.updatedAt;
        await rm.backfillInfo("a", { name: "a.md" });
        await rm.backfillInfo("a", { name: "other" });
        await rm.backfillInfo("gone", { name: "gone" });
        expect(await rm.documentsWithoutInfo()).toEqual(["b"]);
        expect((await rm.getDocument("a"))?.record).toMatchObject({
          updatedAt: before,
          info: { name: "a.md" },
        });
        expect(await sources()).toEqual(["a", "b"]);
      });
    });

    describe("under LangChain's index()", () => {
      const run = (
        store: LocalVectorStore,
        docs: Document[],
        options: Parameters<typeof index>[0]["options"] = {},
      ) => index({ docsSource: docs, recordManager: rm, vectorStore: store, options });

      it("adds new documents, skips unchanged ones and replaces changed ones (incremental cleanup)", async () => {
        const store = new LocalVectorStore(new FakeEmbeddings());
        const incremental = { cleanup: "incremental", sourceIdKey: "source" } as const;

        const first = await run(store, [...chunks("memo", MEMO), ...chunks("bitcoin", BITCOIN)], incremental);
        expect(first).toEqual({ numAdded: 4, numUpdated: 0, numSkipped: 0, numDeleted: 0 });

        const again = await run(store, [...chunks("memo", MEMO), ...chunks("bitcoin", BITCOIN)], incremental);
        expect(again).toEqual({ numAdded: 0, numUpdated: 0, numSkipped: 4, numDeleted: 0 });

        // The memo changes: one chunk kept, one rewritten. Bitcoin is not in this run and must be left alone.
        const changed = await run(
          store,
          chunks("memo", [MEMO[0], "A total of 4 trucks were used."]),
          incremental,
        );
        expect(changed).toEqual({ numAdded: 1, numUpdated: 0, numSkipped: 1, numDeleted: 1 });
        expect(await store.countChunks()).toBe(4);
        expect((await rm.listKeys({ groupIds: ["memo"] })).length).toBe(2);
        expect((await rm.listKeys({ groupIds: ["bitcoin"] })).length).toBe(2);
        expect((await rm.listGroupIds()).sort()).toEqual(["bitcoin", "memo"]);
      });

      it("deletes what is no longer in the source (full cleanup, in batches smaller than the work)", async () => {
        const store = new LocalVectorStore(new FakeEmbeddings());
        const full = { cleanup: "full", sourceIdKey: "source" } as const;
        await run(store, [...chunks("memo", MEMO), ...chunks("bitcoin", BITCOIN)], full);

        const result = await run(store, chunks("memo", MEMO), { ...full, cleanupBatchSize: 1 });
        expect(result).toEqual({ numAdded: 0, numUpdated: 0, numSkipped: 2, numDeleted: 2 });
        expect(await store.countChunks()).toBe(2);
        expect(await rm.listGroupIds()).toEqual(["memo"]);

        const emptied = await run(store, [], full);
        expect(emptied.numDeleted).toBe(2);
        expect(await store.countChunks()).toBe(0);
        expect(await rm.listKeys({})).toEqual([]);
      });

      it("re-embeds every document when forced, counting them as updated", async () => {
        const store = new LocalVectorStore(new FakeEmbeddings());
        await run(store, chunks("memo", MEMO), { sourceIdKey: "source" });
        const forced = await run(store, chunks("memo", MEMO), { sourceIdKey: "source", forceUpdate: true });
        expect(forced).toEqual({ numAdded: 0, numUpdated: 2, numSkipped: 0, numDeleted: 0 });
        expect(await store.countChunks()).toBe(2);
      });
    });
  });
}

// One contract for every DocumentStatusStore (in process, Redis): entries set, replaced and cleared; listed in
// source order with a prefix and a cursor, as the catalog pages them; and the rule of ownership between jobs,
// which the jobs and the pipeline rely on so that a later job's entry is never overwritten by an earlier one.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DocumentState, DocumentStatusStore } from "../../src/contracts/document-status.ts";
import { compareSources } from "../../src/contracts/documents.ts";

export interface DocumentStatusStoreFactory {
  create(): Promise<DocumentStatusStore>;
  destroy?(store: DocumentStatusStore): Promise<void>;
}

const at = Date.parse("2026-01-05T09:30:00Z");

const state = (source: string, status: DocumentState["status"], jobId?: string): DocumentState => ({
  source,
  status,
  updatedAt: at,
  ...(jobId ? { jobId } : {}),
});

// What a Textract failure looks like in the ingestion report (src/ingest/loaders/index.ts words it so).
const TEXTRACT_FAILED: DocumentState = {
  source: "upload:paystub.jpg",
  status: "failed",
  updatedAt: at + 1_500,
  jobId: "job-1",
  name: "paystub.jpg",
  error: {
    step: "extracting",
    code: "textract_busy",
    message: "Amazon Textract is throttling or busy (ThrottlingException: Rate exceeded); retry shortly.",
    status: 503,
  },
};

export function describeDocumentStatusStoreContract(name: string, factory: DocumentStatusStoreFactory) {
  describe(`${name} (document status store contract)`, () => {
    let store: DocumentStatusStore;
    beforeEach(async () => {
      store = await factory.create();
    });
    afterEach(async () => factory.destroy?.(store));

    const sources = async (options: { prefix?: string; after?: string; limit?: number } = {}) =>
      (await store.list({ limit: 1_000, ...options })).map((s) => s.source);

    it("keeps an entry as written, every field included, and knows nothing of other sources", async () => {
      expect(await store.get("upload:paystub.jpg")).toBeUndefined();
      await store.set(TEXTRACT_FAILED);
      expect(await store.get("upload:paystub.jpg")).toEqual(TEXTRACT_FAILED);
      expect(await store.get("upload:paystub")).toBeUndefined();
      expect(await store.list({ limit: 10 })).toEqual([TEXTRACT_FAILED]);
    });

    it("moves a document through its statuses, one entry per source", async () => {
      for (const status of ["queued", "extracting", "embedding"] as const) {
        await store.set({ ...state("handbook", status, "job-1"), updatedAt: at + 10 });
        expect(await store.get("handbook")).toMatchObject({ status, jobId: "job-1", updatedAt: at + 10 });
      }
      expect(await sources()).toEqual(["handbook"]);
      await store.clear("handbook", "job-1");
      expect(await store.get("handbook")).toBeUndefined();
      expect(await sources()).toEqual([]);
    });

    it("lists entries in source order (code points), after a cursor and under a prefix", async () => {
      // Sources whose order differs between UTF-16 code units and code points: U+E000 sorts before U+1F600.
      const all = ["b/2", "a", "b/1", "b/10", "c", "b\uE000", "b\u{1F600}", "bz", "b"];
      await store.setMany(all.map((s) => state(s, "queued", "job-1")));
      const sorted = [...all].sort(compareSources);
      expect(await sources()).toEqual(sorted);
      expect(await sources({ prefix: "b/" })).toEqual(["b/1", "b/10", "b/2"]);
      expect(await sources({ prefix: "b/", after: "b/1" })).toEqual(["b/10", "b/2"]);
      // A cursor before the prefix starts at the prefix; one past it ends the list.
      expect(await sources({ prefix: "b/", after: "a" })).toEqual(["b/1", "b/10", "b/2"]);
      expect(await sources({ prefix: "b/", after: "b/3" })).toEqual([]);
      expect(await sources({ after: "b\uE000" })).toEqual(["b\u{1F600}", "c"]);
      expect(await sources({ prefix: "nothing" })).toEqual([]);

      // Paging by the last source of each page visits every entry once.
      const paged: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.list({ after, limit: 2 });
        paged.push(...page.map((s) => s.source));
        if (page.length < 2) break;
        after = page[1].source;
      }
      expect(paged).toEqual(sorted);
    });

    it("takes a job's many documents at once, and lists a new entry among them in its place", async () => {
      const many = Array.from({ length: 2_500 }, (_, i) => `doc-${String(i).padStart(5, "0")}`);
      await store.setMany(many.map((s) => state(s, "queued", "job-big")));
      await store.set(state("doc-00010a", "failed"));
      const listed = await store.list({ after: "doc-00009", limit: 3 });
      expect(listed.map((s) => s.source)).toEqual(["doc-00010", "doc-00010a", "doc-00011"]);
      expect((await store.list({ limit: 5_000 })).length).toBe(2_501);
      await store.setMany([]);
    });

    it("lets a later job take a document, and an earlier job's writes then leave its entry alone", async () => {
      await store.set(state("policy", "extracting", "job-1"));
      // job-2 queues the same document: it owns it now.
      await store.setMany([state("policy", "queued", "job-2")]);
      await store.set(state("policy", "embedding", "job-1"));
      await store.set({ ...TEXTRACT_FAILED, source: "policy", jobId: "job-1" });
      expect(await store.get("policy")).toMatchObject({ status: "queued", jobId: "job-2" });
      await store.clear("policy", "job-1");
      expect(await store.get("policy")).toMatchObject({ status: "queued", jobId: "job-2" });
      await store.set(state("policy", "extracting", "job-2"));
      expect(await store.get("policy")).toMatchObject({ status: "extracting", jobId: "job-2" });
    });

    it("lets any attempt replace a failure, and a write for no job replace any entry", async () => {
      await store.set(TEXTRACT_FAILED);
      await store.set(state(TEXTRACT_FAILED.source, "extracting", "job-3"));
      expect(await store.get(TEXTRACT_FAILED.source)).toEqual(
        state(TEXTRACT_FAILED.source, "extracting", "job-3"),
      );
      // A synchronous ingestion (no job) takes the document over, and a job then writes over its entry.
      await store.set(state(TEXTRACT_FAILED.source, "embedding"));
      expect(await store.get(TEXTRACT_FAILED.source)).toEqual(state(TEXTRACT_FAILED.source, "embedding"));
      await store.set(state(TEXTRACT_FAILED.source, "extracting", "job-4"));
      expect(await store.get(TEXTRACT_FAILED.source)).toMatchObject({ jobId: "job-4" });
    });

    it("clears an entry for anyone without a job id, and with one only the job's own", async () => {
      await store.setMany([
        state("a", "queued", "job-1"),
        state("b", "failed", "job-1"),
        state("c", "embedding"),
      ]);
      await store.clear("a", "job-2");
      await store.clear("c", "job-1");
      expect(await sources()).toEqual(["a", "b", "c"]);
      await store.clear("a", "job-1");
      await store.clear("b");
      await store.clear("c");
      await store.clear("never-there");
      await store.clear("never-there", "job-1");
      expect(await sources()).toEqual([]);
    });

    it("gives copies: changing what it returned changes nothing stored", async () => {
      await store.set(TEXTRACT_FAILED);
      const got = (await store.get(TEXTRACT_FAILED.source)) as DocumentState;
      (got.error as { message: string }).message = "changed";
      const [listed] = await store.list({ limit: 1 });
      listed.status = "queued";
      expect(await store.get(TEXTRACT_FAILED.source)).toEqual(TEXTRACT_FAILED);
    });
  });
}

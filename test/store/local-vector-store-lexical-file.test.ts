// The BM25 index saved beside the local store's base file (src/store/local/bm25-file.ts): a reload reads it
// back instead of analysing every text, ranks exactly as a rebuilt index does, and never trusts a copy that
// does not match the store (another base, another analysis, damage, changes made while it was saved).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { Document } from "@langchain/core/documents";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LexicalSearch } from "../../src/contracts/search.ts";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { bm25File } from "../../src/store/local/bm25-file.ts";
import { LocalVectorStore, type LocalVectorStoreOptions } from "../../src/store/local/local-vector-store.ts";
import { searchTerms } from "../../src/text/analysis.ts";
import { sampleChunks, sampleDocs } from "../retrieval/scifact-sample.ts";

const embeddings = new LocalHashEmbeddings();

// SciFact test claims (test/fixtures/scifact-sample.md) and words of the sample abstracts.
const QUERIES = [
  "Venules have a thinner or absent smooth layer compared to arterioles.",
  "1/2000 in UK have abnormal PrP positivity.",
  "Incidence rates of cervical cancer have decreased.",
  "folic acid homocysteine",
  "protein expression in cells",
];

/** The analysis the store uses, counting the texts it is asked to analyse (the fingerprint's sample aside). */
function countingAnalysis() {
  const calls = { texts: 0 };
  const analyze = (text: string) => {
    calls.texts++;
    return searchTerms(text);
  };
  return { calls, analyze };
}

async function ranking(store: LexicalSearch): Promise<[string | undefined, number][][]> {
  const out: [string | undefined, number][][] = [];
  for (const query of QUERIES) {
    const hits = await store.lexicalSearch(query, { k: 8 });
    out.push(hits.map((h) => [h.document.id, h.score]));
  }
  return out;
}

describe("LocalVectorStore's saved lexical index", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "counsel-bm25-"));
    file = path.join(dir, "vectors.bin");
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await rm(dir, { recursive: true, force: true });
  });

  async function savedStore(options: LocalVectorStoreOptions = {}) {
    const store = new LocalVectorStore(embeddings, { path: file, ...options });
    const chunks = sampleChunks();
    await store.addDocuments(chunks, { ids: chunks.map((c) => c.id as string) });
    // A replacement and a delete: the save writes a new base, and the index beside it.
    await store.addDocuments([new Document({ pageContent: "folic acid lowers homocysteine", id: "extra" })]);
    await store.delete({ ids: [chunks[3].id as string] });
    await store.flush();
    return store;
  }

  it("is read back on reload instead of analysing the texts, and ranks to the bit as the saved store did", async () => {
    const original = await savedStore();
    const expected = await ranking(original);
    expect(expected[3].map(([id]) => id)).toContain("extra");

    const counted = countingAnalysis();
    const reloaded = await LocalVectorStore.load(embeddings, {
      path: file,
      bm25: { analyze: counted.analyze },
    });
    // One call analyses the fingerprint's sample; none analyses a stored text.
    expect(counted.calls.texts).toBe(1);
    expect(reloaded.count()).toBe(original.count());
    expect(await ranking(reloaded)).toEqual(expected);

    // Without the file the index is built from the texts again, and ranks the same.
    await rm(bm25File(file));
    const rebuiltCalls = countingAnalysis();
    const rebuilt = await LocalVectorStore.load(embeddings, {
      path: file,
      bm25: { analyze: rebuiltCalls.analyze },
    });
    expect(rebuiltCalls.calls.texts).toBe(1 + original.count());
    expect(await ranking(rebuilt)).toEqual(expected);
  });

  it("keeps working after a reload from it: adds, replacements and deletes rank as in an index built afresh", async () => {
    await savedStore();
    const reloaded = await LocalVectorStore.load(embeddings, { path: file });
    const docs = sampleDocs();
    await reloaded.addDocuments([
      new Document({ pageContent: `${docs[0].title} prion appendix`, id: "extra" }),
    ]);
    await reloaded.delete({ ids: [docs[1]._id] });
    await reloaded.addDocuments([
      new Document({ pageContent: "cervical cancer screening trial", id: "new" }),
    ]);

    // The same chunks, indexed from their texts in a store with no saved index.
    const fresh = new LocalVectorStore(embeddings);
    const all = await reloaded.getByIds(await allIds(reloaded));
    await fresh.addDocuments(all, { ids: all.map((d) => d.id as string) });
    for (const query of [...QUERIES, "prion appendix", "cervical screening trial"]) {
      const a = await reloaded.lexicalSearch(query, { k: 30 });
      const b = await fresh.lexicalSearch(query, { k: 30 });
      // Scores to the bit; ties may come in another order (the order chunks were added differs).
      expect(sortedScores(a)).toEqual(sortedScores(b));
    }
  });

  it("sets again what changed while it was saved, when those changes never reached the disk (a crash)", async () => {
    const store = await savedStore({ saveDelayMs: 60_000, saveStepMs: 0 });
    const chunks = sampleChunks();
    // Another new base; while it is written, a chunk is replaced and another added. The index beside the base is
    // saved from the index as it is after them; then the process dies before saving them.
    await store.delete({ ids: [chunks[4].id as string] });
    const saving = store.flush();
    await nextTurn();
    await store.addDocuments([
      new Document({ pageContent: "zebrafish regeneration of fins", id: chunks[5].id as string }),
      new Document({ pageContent: "quokka population surveys", id: "unsaved" }),
    ]);
    await saving;

    const reloaded = await LocalVectorStore.load(embeddings, { path: file });
    expect(reloaded.count()).toBe(chunks.length - 2 + 1); // two deleted, "extra" added; the unsaved add is lost
    expect(await reloaded.lexicalSearch("quokka", { k: 3 })).toEqual([]);
    expect(await reloaded.lexicalSearch("zebrafish", { k: 3 })).toEqual([]);
    const [original] = await reloaded.getByIds([chunks[5].id as string]);
    expect(original.pageContent).toBe(chunks[5].pageContent);
    const hits = await reloaded.lexicalSearch(chunks[5].pageContent, { k: 1 });
    expect(hits[0].document.id).toBe(chunks[5].id);

    // Ranks as an index built from the texts on disk.
    await rm(bm25File(file));
    const rebuilt = await LocalVectorStore.load(embeddings, { path: file });
    expect(await ranking(reloaded)).toEqual(await ranking(rebuilt));
  });

  it("is not used when it belongs to another base, or to another analysis, and then the texts are analysed", async () => {
    const store = await savedStore();
    const old = await readFile(bm25File(file));
    await store.delete({ ids: ["extra"] });
    await store.flush();
    // The index of the base before: a crash between a base and its index leaves such a pair.
    await writeFile(bm25File(file), old);
    const counted = countingAnalysis();
    const reloaded = await LocalVectorStore.load(embeddings, {
      path: file,
      bm25: { analyze: counted.analyze },
    });
    expect(counted.calls.texts).toBe(1 + reloaded.count());
    expect(await reloaded.lexicalSearch("folic acid lowers homocysteine", { k: 3 })).not.toContainEqual(
      expect.objectContaining({ document: expect.objectContaining({ id: "extra" }) }),
    );

    // Saved by the default analysis, opened with another: the other one indexes the texts itself.
    await reloaded.delete({ ids: [sampleChunks()[0].id as string] });
    await reloaded.flush();
    const lowercaseOnly = (text: string) => text.toLowerCase().split(/\W+/).filter(Boolean);
    const other = await LocalVectorStore.load(embeddings, { path: file, bm25: { analyze: lowercaseOnly } });
    const [hit] = await other.lexicalSearch("venules", { k: 1 });
    expect(hit.document.pageContent.toLowerCase()).toContain("venules");
  });

  it("is rebuilt from the texts, with a warning, when damaged", async () => {
    const original = await savedStore();
    const expected = await ranking(original);
    const bytes = await readFile(bm25File(file));
    bytes[Math.floor(bytes.length * 0.7)] ^= 0x40;
    await writeFile(bm25File(file), bytes);
    const warnings = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const reloaded = await LocalVectorStore.load(embeddings, { path: file });
    expect(warnings).toHaveBeenCalledWith(
      expect.stringContaining(
        "is damaged (it fails its checksum); the lexical index is rebuilt from the texts",
      ),
      { code: "COUNSEL_STORE_INDEX_REBUILT" },
    );
    expect(await ranking(reloaded)).toEqual(expected);

    // Truncated to its magic: also rebuilt, never a failed open.
    await writeFile(bm25File(file), bytes.subarray(0, 8));
    const again = await LocalVectorStore.load(embeddings, { path: file });
    expect(await ranking(again)).toEqual(expected);
  });
});

async function allIds(store: LocalVectorStore): Promise<string[]> {
  return (await store.similaritySearch("any", store.count())).map((d) => d.id as string);
}

function sortedScores(hits: { document: { id?: string }; score: number }[]): [string | undefined, number][] {
  return hits
    .map((h): [string | undefined, number] => [h.document.id, h.score])
    .sort(([a], [b]) => (a ?? "").localeCompare(b ?? ""));
}

// The local store keeps in memory only the texts of the chunks written since its base file; the base's are read
// back from its chunk records when a search, getByIds or a predicate filter asks, and copied from the old base
// into the next one. Checked through the real files, with changes made while a base is being written.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { Document } from "@langchain/core/documents";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { LocalVectorStore } from "../../src/store/local/local-vector-store.ts";
import { readVectorFile } from "../../src/store/local/vector-file.ts";

const embeddings = new LocalHashEmbeddings();
const WORDS = [
  "harbour",
  "ferry",
  "tide",
  "lantern",
  "granite",
  "orchard",
  "meadow",
  "quarry",
  "beacon",
  "willow",
];

/** Chunk i: a text of its own (two words and its number, some non-ASCII), metadata naming it. */
const chunk = (i: number, version = 1) =>
  new Document({
    id: `c${i}`,
    pageContent: `${WORDS[i % 10]} ${WORDS[(i * 7 + 3) % 10]} number ${i} v${version} “naïve” 🦀`,
    metadata: { doc_id: `d${i % 5}`, i },
  });

describe("LocalVectorStore's texts", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "counsel-texts-"));
    file = path.join(dir, "vectors.bin");
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("are read from the base once it holds them, and held in memory only for the chunks written since", async () => {
    const store = new LocalVectorStore(embeddings, { path: file, saveDelayMs: 60_000 });
    await store.addDocuments(Array.from({ length: 40 }, (_, i) => chunk(i)));
    expect(store.textsInMemory()).toBe(40);
    await store.flush(); // the first save writes a base
    expect(store.textsInMemory()).toBe(0);
    expect((await store.getByIds(["c7", "c31"])).map((d) => d.pageContent)).toEqual([
      chunk(7).pageContent,
      chunk(31).pageContent,
    ]);
    const [top] = await store.similaritySearch(chunk(12).pageContent, 1);
    expect(top).toMatchObject({ id: "c12", pageContent: chunk(12).pageContent, metadata: { i: 12 } });
    const [lexical] = await store.lexicalSearch("number 23 v1", { k: 1 });
    expect(lexical.document.pageContent).toBe(chunk(23).pageContent);

    // Added after the base: in memory (and in the log), until a base holds them.
    await store.addDocuments([chunk(40), chunk(41)]);
    await store.flush();
    expect(store.textsInMemory()).toBe(2);
    // A delete moves the last chunk (in memory) into the hole, and makes the next save a base.
    await store.delete({ ids: ["c3"] });
    expect((await store.getByIds(["c41", "c39"])).map((d) => d.pageContent)).toEqual([
      chunk(41).pageContent,
      chunk(39).pageContent,
    ]);
    await store.flush();
    expect(store.textsInMemory()).toBe(0);
    expect(store.count()).toBe(41);

    // The new base copied the old one's records: every chunk reads back as written, from the file itself too.
    const file2 = await readVectorFile(file, { dimensions: 0, modelId: null });
    const wanted = [...Array.from({ length: 42 }, (_, i) => i)].filter((i) => i !== 3);
    expect(new Map(file2?.ids.map((id, slot) => [id, file2.texts[slot]]))).toEqual(
      new Map(wanted.map((i) => [`c${i}`, chunk(i).pageContent])),
    );
    const all = await store.getByIds(wanted.map((i) => `c${i}`));
    expect(all.map((d) => d.pageContent)).toEqual(wanted.map((i) => chunk(i).pageContent));
    await store.close();
  });

  it("opened from a file: the base's texts read from it, the log's held, a predicate filter sees both", async () => {
    const store = new LocalVectorStore(embeddings, { path: file, saveDelayMs: 60_000 });
    await store.addDocuments(Array.from({ length: 20 }, (_, i) => chunk(i)));
    await store.flush();
    await store.addDocuments([chunk(20), chunk(21)]);
    await store.close();

    const reopened = await LocalVectorStore.load(embeddings, { path: file });
    expect(reopened.textsInMemory()).toBe(2);
    const mentions = (words: string) => (doc: { pageContent: string }) => doc.pageContent.includes(words);
    const found = await reopened.similaritySearch(chunk(5).pageContent, 30, mentions("number 5 v1"));
    expect(found.map((d) => d.id)).toEqual(["c5"]);
    const logged = await reopened.similaritySearch(chunk(21).pageContent, 30, mentions("number 21 v1"));
    expect(logged.map((d) => d.id)).toEqual(["c21"]);
    // A predicate that only looks at the metadata never reads a text.
    const byMetadata = await reopened.similaritySearch("ferry", 30, (doc) => doc.metadata.doc_id === "d1");
    expect(byMetadata.map((d) => d.id).sort()).toEqual(["c1", "c11", "c16", "c21", "c6"]);
    await reopened.close();
  });

  it("writes a new base, not a log record, once the texts written since the base pass maxTextInMemory", async () => {
    const length = chunk(0).pageContent.length;
    const store = new LocalVectorStore(embeddings, {
      path: file,
      saveDelayMs: 60_000,
      maxTextInMemory: length * 3.5,
    });
    await store.addDocuments([chunk(0), chunk(1)]);
    await store.flush(); // the first base
    await store.addDocuments([chunk(2), chunk(3), chunk(4)]);
    await store.flush(); // three texts: under the limit, a log record
    expect(store.textsInMemory()).toBe(3);
    expect((await readVectorFile(file, { dimensions: 0, modelId: null }))?.count).toBe(2);
    // Replaced and deleted texts count no more: c2's new text is the fourth, c3's is gone.
    await store.delete({ ids: ["c3"] });
    await store.addDocuments([chunk(2, 2)]);
    await store.flush(); // (a delete makes this save a base anyway)
    expect(store.textsInMemory()).toBe(0);
    await store.addDocuments([chunk(5), chunk(6), chunk(7)]);
    await store.flush();
    expect(store.textsInMemory()).toBe(3);
    await store.addDocuments([chunk(8)]);
    await store.flush(); // four: past the limit, a new base
    expect(store.textsInMemory()).toBe(0);
    const base = await readVectorFile(file, { dimensions: 0, modelId: null });
    expect(base?.ids.sort()).toEqual(["c0", "c1", "c2", "c4", "c5", "c6", "c7", "c8"]);
    expect((await store.getByIds(["c2", "c8"])).map((d) => d.pageContent)).toEqual([
      chunk(2, 2).pageContent,
      chunk(8).pageContent,
    ]);
    await store.close();
  });

  it("keeps the texts of chunks changed while a base is written, and reads the rest from the new base", async () => {
    const store = new LocalVectorStore(embeddings, { path: file, saveDelayMs: 60_000, saveStepMs: 0 });
    await store.addDocuments(Array.from({ length: 600 }, (_, i) => chunk(i)));
    await store.flush();
    await store.delete({ ids: ["c0"] }); // the next save is a base, copied from this one
    const saving = store.flush();
    // While it is written (a step per turn of the event loop): replace, delete and add.
    await nextTurn();
    await store.addDocuments([chunk(10, 2), chunk(700)]);
    await nextTurn();
    await store.delete({ ids: ["c20", "c599"] });
    await saving;
    // c10 v2, c700 and the chunk moved into c20's hole are not in the base just written as they are now.
    expect(store.textsInMemory()).toBeGreaterThanOrEqual(2);
    expect(store.textsInMemory()).toBeLessThanOrEqual(3);
    const read = async (id: string) => (await store.getByIds([id]))[0]?.pageContent;
    expect(await read("c10")).toBe(chunk(10, 2).pageContent);
    expect(await read("c700")).toBe(chunk(700).pageContent);
    expect(await read("c20")).toBeUndefined();
    expect(await read("c598")).toBe(chunk(598).pageContent);
    expect(await read("c11")).toBe(chunk(11).pageContent);
    await store.close();

    const reopened = await LocalVectorStore.load(embeddings, { path: file });
    const ids = [...Array.from({ length: 599 }, (_, i) => i)].filter((i) => i !== 0 && i !== 20);
    const docs = await reopened.getByIds([...ids.map((i) => `c${i}`), "c700"]);
    expect(docs.map((d) => d.pageContent)).toEqual([
      ...ids.map((i) => chunk(i, i === 10 ? 2 : 1).pageContent),
      chunk(700).pageContent,
    ]);
    await reopened.close();
  });
});

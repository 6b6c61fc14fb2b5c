import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { searchTerms } from "../text/analysis.ts";
import { Bm25Index, bm25Idf, bm25TermScore } from "./bm25-index.ts";

// Real SciFact abstracts (test/fixtures/scifact-sample.md).
const docs = readFileSync(
  path.resolve(import.meta.dirname, "../../test/fixtures/scifact-sample.jsonl"),
  "utf8",
)
  .split("\n")
  .filter(Boolean)
  .map((line) => JSON.parse(line) as { _id: string; title: string; text: string });

function build(skip?: string): Bm25Index {
  const index = new Bm25Index();
  for (const d of docs) if (d._id !== skip) index.add(d._id, `${d.title}\n${d.text}`);
  return index;
}

// SciFact test claim 1363; its evidence is abstract 8290953.
const VENULES = "Venules have a thinner or absent smooth layer compared to arterioles.";

describe("Bm25Index", () => {
  it("ranks the abstract that holds a claim's rare terms first", () => {
    const hits = build().search(VENULES, 5);
    expect(hits[0].id).toBe("8290953");
    for (let i = 1; i < hits.length; i++) expect(hits[i].score).toBeLessThanOrEqual(hits[i - 1].score);
  });

  it("scores after a remove exactly as an index built without the removed chunk", () => {
    const incremental = build();
    incremental.remove("8290953");
    incremental.remove("1122279");
    incremental.add("1122279", `${docs[0].title}\n${docs[0].text}`); // docs[0] is 1122279: re-added
    const fresh = build("8290953");
    expect(incremental.size).toBe(fresh.size);
    expect(incremental.averageLength).toBeCloseTo(fresh.averageLength, 10);
    const a = incremental.search(VENULES, 10);
    expect(a).toEqual(fresh.search(VENULES, 10)); // the same bits, not just close
    expect(a.some((h) => h.id === "8290953")).toBe(false);
  });

  it("replaces a chunk re-added under the same id instead of counting it twice", () => {
    const index = new Bm25Index();
    index.add("x", "prion protein in appendix samples");
    index.add("y", "cervical cancer screening");
    index.add("x", "folic acid and homocysteine");
    expect(index.size).toBe(2);
    expect(index.documentFrequency("prion")).toBe(0);
    expect(index.search("prion", 5)).toEqual([]);
    expect(index.search("homocysteine", 5).map((h) => h.id)).toEqual(["x"]);
    expect(index.remove("x")).toBe(true);
    expect(index.remove("x")).toBe(false);
    expect(index.averageLength).toBe(3);
  });

  it("returns only allowed chunks, still k of them when enough match", () => {
    const index = build();
    const allowed = new Set(["27393799", "29025270", "19307912"]);
    const hits = index.search("obesity genetics adoption twins", 2, (id) => allowed.has(id));
    expect(hits).toHaveLength(2);
    for (const h of hits) expect(allowed.has(h.id)).toBe(true);
  });

  it("returns nothing for a query without index terms or an empty index", () => {
    expect(build().search("the of and", 5)).toEqual([]);
    expect(new Bm25Index().search("obesity", 5)).toEqual([]);
  });

  it("keeps term frequencies past one byte and past two bytes exact", () => {
    const index = new Bm25Index({ analyze: (text) => text.split(" ").filter(Boolean) });
    const tfs = { a: 1, b: 300, c: 70_000 }; // widened to 16 bits, then to 32, as chunks come
    for (const [id, tf] of Object.entries(tfs)) index.add(id, `${"x ".repeat(tf)}y`);
    index.add("d", "y z");
    const avg = (1 + 300 + 70_000 + 3 + 2) / 4;
    const idf = bm25Idf(4, 3);
    const expected = Object.entries(tfs).map(([id, tf]) => ({
      id,
      score: bm25TermScore(idf, tf, tf + 1, avg, index.k1, index.b),
    }));
    expect(index.search("x", 5)).toEqual(expected.sort((p, q) => q.score - p.score));
  });

  it("forgets everything on clear and indexes again", () => {
    const index = build();
    index.clear();
    expect(index.size).toBe(0);
    expect(index.search(VENULES, 5)).toEqual([]);
    expect(index.documentFrequency("venul")).toBe(0);
    for (const d of docs) index.add(d._id, `${d.title}\n${d.text}`);
    expect(index.search(VENULES, 10)).toEqual(build().search(VENULES, 10));
  });

  it("scores after any sequence of adds, replacements and removes exactly as an index built afresh", () => {
    // Chunks: the sample's sentences, each under four ids, so that lists grow long and shrink a lot.
    const sentences = docs.flatMap((d) =>
      `${d.title}. ${d.text}`.split(/(?<=\.)\s+/).map((text, i) => ({ key: `${d._id}:${i}`, text })),
    );
    const pool = [0, 1, 2, 3].flatMap((copy) =>
      sentences.map((s) => ({ id: `${copy}/${s.key}`, text: s.text })),
    );
    const queries = [VENULES, ...sentences.filter((_, i) => i % 40 === 0).map((s) => s.text)];
    const queryTerms = [...new Set(queries.flatMap((q) => searchTerms(q)))];
    const evenId = (id: string) => id.length % 2 === 0;
    let seed = 20_240_613; // a fixed seed, so that a failure replays
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * n);
    };

    const index = new Bm25Index();
    // What the index should hold, in the order of each chunk's last add: the order an index built afresh sees.
    const live = new Map<string, string>();
    const add = (id: string, text: string) => {
      index.add(id, text);
      live.delete(id);
      live.set(id, text);
    };
    const remove = (id: string) => {
      expect(index.remove(id)).toBe(live.delete(id));
    };
    const expectAsFresh = () => {
      const fresh = new Bm25Index();
      for (const [id, text] of live) fresh.add(id, text);
      expect(index.size).toBe(fresh.size);
      expect(index.averageLength).toBe(fresh.averageLength);
      for (const term of queryTerms)
        expect(index.documentFrequency(term)).toBe(fresh.documentFrequency(term));
      for (const query of queries) {
        expect(index.search(query, pool.length)).toEqual(fresh.search(query, pool.length));
        expect(index.search(query, 5, evenId)).toEqual(fresh.search(query, 5, evenId));
      }
    };

    for (let round = 0; round < 12; round++) {
      for (let op = 0; op < 400; op++) {
        const chunk = pool[random(pool.length)];
        const roll = random(10);
        if (roll < 5) add(chunk.id, chunk.text);
        else if (roll < 7)
          add(chunk.id, pool[random(pool.length)].text); // the chunk's text changed
        else remove(chunk.id);
        if (random(50) === 0) index.search(queries[random(queries.length)], 3); // drops pending removes
      }
      expectAsFresh();
      // Every third round, a large re-ingestion: most chunks go at once, then a third of the pool comes back.
      if (round % 3 === 2) {
        for (const id of [...live.keys()]) if (random(10) < 9) remove(id);
        expectAsFresh();
        for (const chunk of pool) if (random(3) === 0) add(chunk.id, chunk.text);
        expectAsFresh();
      }
    }
  });
});

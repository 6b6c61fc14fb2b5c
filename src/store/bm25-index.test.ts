import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Bm25Index } from "./bm25-index.ts";

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
    const b = fresh.search(VENULES, 10);
    expect(a.map((h) => h.id)).toEqual(b.map((h) => h.id));
    a.forEach((hit, i) => {
      expect(hit.score).toBeCloseTo(b[i].score, 10);
    });
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
});

import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GramCache, LocalHashEmbeddings } from "./local-hash.ts";

// Real SciFact abstracts (test/fixtures/scifact-sample.md).
const docs = readFileSync(
  path.resolve(import.meta.dirname, "../../../test/fixtures/scifact-sample.jsonl"),
  "utf8",
)
  .split("\n")
  .filter(Boolean)
  .map((line) => JSON.parse(line) as { _id: string; title: string; text: string });
const byId = (id: string) => {
  const doc = docs.find((d) => d._id === id);
  if (!doc) throw new Error(`fixture has no ${id}`);
  return doc;
};

const dot = (a: number[], b: number[]) => a.reduce((sum, v, i) => sum + v * b[i], 0);

describe("LocalHashEmbeddings", () => {
  const embeddings = new LocalHashEmbeddings();

  it("gives the same vector for the same text, across instances and calls", async () => {
    const text = byId("1904291").text;
    const a = await embeddings.embedQuery(text);
    const [b] = await new LocalHashEmbeddings().embedDocuments([text]);
    expect(b).toEqual(a);
  });

  it("makes unit-length vectors of the configured size, and a zero vector for text without words", async () => {
    const [v] = await embeddings.embedDocuments([byId("13734012").text]);
    expect(v).toHaveLength(1024);
    expect(Math.sqrt(dot(v, v))).toBeCloseTo(1, 6);
    const small = await new LocalHashEmbeddings({ dimensions: 256 }).embedQuery("prion protein");
    expect(small).toHaveLength(256);
    const empty = await embeddings.embedQuery(" ... ");
    expect(empty.every((x) => x === 0)).toBe(true);
  });

  it("places a title closer to its own abstract than to unrelated abstracts", async () => {
    const target = byId("12779444"); // cervical cancer screening
    const [title, own, other1, other2] = await embeddings.embedDocuments([
      target.title,
      target.text,
      byId("1180972").text, // genetics of obesity
      byId("20428155").text, // marine anticancer agents
    ]);
    expect(dot(title, own)).toBeGreaterThan(dot(title, other1));
    expect(dot(title, own)).toBeGreaterThan(dot(title, other2));
  });

  it("matches spelling variants through character n-grams", async () => {
    const [us, uk, unrelated] = await embeddings.embedDocuments([
      "hypoglycemia",
      "hypoglycaemia",
      "homocysteine",
    ]);
    expect(dot(us, uk)).toBeGreaterThan(0.3);
    expect(dot(us, uk)).toBeGreaterThan(dot(us, unrelated) + 0.2);
  });

  it("names its model by scheme and size, and by any non-default weights", () => {
    expect(embeddings.modelId).toBe("local-hash-v1-1024");
    expect(new LocalHashEmbeddings({ dimensions: 512 }).modelId).toBe("local-hash-v1-512");
    expect(new LocalHashEmbeddings({ weights: { bigram: 0.5 } }).modelId).not.toBe("local-hash-v1-1024");
  });

  it("lets other work run while it embeds a large batch", async () => {
    const texts = Array.from({ length: 1080 }, (_, i) => `${docs[i % docs.length].text} ${i}`);
    const pending = embeddings.embedDocuments(texts);
    let ranDuring = false;
    setImmediate(() => {
      ranDuring = true;
    });
    const vectors = await pending;
    expect(vectors).toHaveLength(1080);
    // Had it run to the end without yielding, `pending` would settle before any immediate callback.
    expect(ranDuring).toBe(true);
  });

  it("rejects a nonsensical size", () => {
    expect(() => new LocalHashEmbeddings({ dimensions: 0 })).toThrow(RangeError);
  });
});

describe("GramCache", () => {
  const read = (range: { pool: Uint32Array; start: number; end: number } | undefined) =>
    range ? Array.from(range.pool.subarray(range.start, range.end)) : undefined;

  it("gives back each word's hashes through pool growth, and forgets every word once full", () => {
    const cache = new GramCache(3000);
    const gramsOf = (i: number) => Array.from({ length: 1 + (i % 40) }, (_, j) => (i * 7919 + j) >>> 0);
    // Past the first pool of 65,536 hashes: it grows (a copy) and the earlier words are still found.
    for (let i = 0; i < 2999; i++) expect(read(cache.set(`w${i}`, gramsOf(i)))).toEqual(gramsOf(i));
    for (const i of [0, 1, 1500, 2998]) expect(read(cache.get(`w${i}`))).toEqual(gramsOf(i));
    expect(read(cache.set("last", [1, 2, 3]))).toEqual([1, 2, 3]);
    // Full: the next word empties it first.
    expect(read(cache.set("next", [4]))).toEqual([4]);
    expect(cache.get("w0")).toBeUndefined();
    expect(cache.get("last")).toBeUndefined();
    expect(read(cache.get("next"))).toEqual([4]);
  });
});

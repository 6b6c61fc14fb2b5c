// Seeded random vectors for the vector-store tests, and what a store keeps of one, so that a failure reproduces
// and every test compares against the same reference.
import { Document } from "@langchain/core/documents";
import { quantisationStep } from "../../src/store/local/vector-kernels.ts";

/** A seeded generator (mulberry32) of numbers in [0, 1). */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A vector with about `density` of its dimensions non-zero, like hashed text (dense when density is 1). */
export function randomVector(next: () => number, density: number, dims: number): number[] {
  return Array.from({ length: dims }, () => (next() < density ? next() * 2 - 1 : 0));
}

/** A query as the local store scores with it: scaled to unit length, as float32 (queries are not quantised). */
export function unitQuery(vector: number[]): number[] {
  let norm = 0;
  for (const x of vector) norm += x * x;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return vector.map((x) => Math.fround(x * scale));
}

/**
 * The local store's score of a vector as it keeps it (`row`, made by `stored`) against a query made by
 * `unitQuery`: the query's non-zero dimensions in order times the row's int8 values, in double precision, times
 * its step (as its scan computes it).
 */
export function storedScore(q: number[], row: number[]): number {
  const step = Math.max(0, ...row.map(Math.abs)) / 127;
  if (step === 0) return 0;
  let sum = 0;
  for (let d = 0; d < q.length; d++) if (q[d] !== 0) sum += q[d] * Math.round(row[d] / step);
  return sum * step;
}

/**
 * What the local store keeps of a vector, as it reads it back: scaled to unit length, quantised to int8 values of
 * one step (the largest |component| / 127, see quantisationStep), as float32.
 */
export function stored(vector: number[]): number[] {
  let norm = 0;
  for (const x of vector) norm += x * x;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  const unit = vector.map((x) => x * scale);
  const step = quantisationStep(Math.max(0, ...unit.map(Math.abs)));
  // `| 0`: an int8 has no negative zero, so a component that rounds to -0 is kept as +0.
  return unit.map((x) => (step === 0 ? 0 : Math.fround((Math.round(x / step) | 0) * step)));
}

/** Chunks c{from}..c{to-1} ("chunk i", metadata {n: i}) with dense random vectors of `dims`, drawn from `seed`. */
export function randomChunks(from: number, to: number, seed: number, dims: number) {
  const next = random(seed);
  const vectors: number[][] = [];
  const docs: Document[] = [];
  for (let i = from; i < to; i++) {
    vectors.push(randomVector(next, 1, dims));
    docs.push(new Document({ pageContent: `chunk ${i}`, metadata: { n: i }, id: `c${i}` }));
  }
  return { vectors, docs };
}

/**
 * Chunks c0..c{count-1} with dense vectors of `dims` in `clusters` groups (a centre plus as much noise), as an
 * embedding model's vectors of texts on a few subjects; `query(i)` draws a new vector near centre i.
 */
export function clusteredChunks(count: number, clusters: number, seed: number, dims: number) {
  const next = random(seed);
  const centres = Array.from({ length: clusters }, () => randomVector(next, 1, dims));
  const near = (centre: number[]) => centre.map((x) => x + (next() * 2 - 1));
  const vectors = Array.from({ length: count }, (_, i) => near(centres[i % clusters]));
  const docs = vectors.map(
    (_, i) => new Document({ pageContent: `chunk ${i}`, metadata: { n: i }, id: `c${i}` }),
  );
  return { vectors, docs, query: (i: number) => near(centres[i % clusters]) };
}

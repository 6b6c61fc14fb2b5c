// Seeded random vectors for the vector-store tests, and what a store keeps of one, so that a failure reproduces
// and every test compares against the same reference.
import { Document } from "@langchain/core/documents";

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

/** What a store keeps of a vector: scaled to unit length, as float32. */
export function stored(vector: number[]): number[] {
  let norm = 0;
  for (const x of vector) norm += x * x;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return vector.map((x) => Math.fround(x * scale));
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

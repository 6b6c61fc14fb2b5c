// The local vector store's arithmetic, as pure functions over one page of its dimension-major layout (see
// paged-columns.ts): dimension d of the page's slot i is `columns[d * capacity + i]`. Scoring, writing, moving
// and growing the columns, and the strided copy between these columns and row-major vectors (saves, loads, MMR).
import { type Ranked, TopK } from "../top-k.ts";

/** What scales `vector` to unit length (0 for a zero vector, which stays zero). */
export function normalisingScale(vector: ArrayLike<number>): number {
  let norm = 0;
  for (let i = 0; i < vector.length; i++) norm += vector[i] * vector[i];
  return norm > 0 ? 1 / Math.sqrt(norm) : 0;
}

/** `query` scaled to unit length, as float32 like the stored vectors. */
export function normalised(query: number[]): Float32Array {
  const q = new Float32Array(query.length);
  const scale = normalisingScale(query);
  for (let d = 0; d < query.length; d++) q[d] = query[d] * scale;
  return q;
}

/** A query's non-zero dimensions in ascending order, and their weights: the terms of every slot's score. */
export interface QueryTerms {
  dims: number[];
  weights: number[];
}

/** The terms of `q` (zero dimensions would add nothing: a hashed query has only a few hundred others). */
export function queryTerms(q: Float32Array): QueryTerms {
  const dims: number[] = [];
  const weights: number[] = [];
  for (let d = 0; d < q.length; d++) {
    if (q[d] === 0) continue;
    dims.push(d);
    weights.push(q[d]);
  }
  return { dims, weights };
}

/** The `k` best-scoring slots that `matches` accepts (all, without it), best first. */
export function bestSlots(
  scores: Float64Array,
  k: number,
  matches?: (slot: number) => boolean,
): Ranked<number>[] {
  const heap = new TopK<number>(k);
  for (let slot = 0; slot < scores.length; slot++) {
    if (matches && !matches(slot)) continue;
    heap.push(slot, scores[slot]);
  }
  return heap.take();
}

/**
 * Adds the dot product of the query whose `terms` are given with each of slots 0..scores.length-1 of `columns`
 * to `scores`: term after term in ascending order, in double precision, bit for bit the sums of a row-at-a-time
 * loop over the same terms. Eight terms go in each pass over the slots, so that `scores` is loaded and stored
 * once per eight columns, not once per column. Called once per page: it allocates nothing.
 */
export function scoreColumns(
  columns: Float32Array,
  capacity: number,
  { dims, weights }: QueryTerms,
  scores: Float64Array,
): void {
  const size = scores.length;
  const terms = dims.length;
  let t = 0;
  for (; t + 8 <= terms; t += 8) {
    const o0 = dims[t] * capacity;
    const o1 = dims[t + 1] * capacity;
    const o2 = dims[t + 2] * capacity;
    const o3 = dims[t + 3] * capacity;
    const o4 = dims[t + 4] * capacity;
    const o5 = dims[t + 5] * capacity;
    const o6 = dims[t + 6] * capacity;
    const o7 = dims[t + 7] * capacity;
    const w0 = weights[t];
    const w1 = weights[t + 1];
    const w2 = weights[t + 2];
    const w3 = weights[t + 3];
    const w4 = weights[t + 4];
    const w5 = weights[t + 5];
    const w6 = weights[t + 6];
    const w7 = weights[t + 7];
    for (let s = 0; s < size; s++) {
      let sum = scores[s];
      sum += w0 * columns[o0 + s];
      sum += w1 * columns[o1 + s];
      sum += w2 * columns[o2 + s];
      sum += w3 * columns[o3 + s];
      sum += w4 * columns[o4 + s];
      sum += w5 * columns[o5 + s];
      sum += w6 * columns[o6 + s];
      sum += w7 * columns[o7 + s];
      scores[s] = sum;
    }
  }
  if (t === terms) return;
  // The last 1-7 terms, in one more pass.
  for (let s = 0; s < size; s++) {
    let sum = scores[s];
    for (let r = t; r < terms; r++) sum += weights[r] * columns[dims[r] * capacity + s];
    scores[s] = sum;
  }
}

/** The vector of `slot`, gathered from the columns. */
export function slotVector(columns: Float32Array, capacity: number, dims: number, slot: number): number[] {
  const out = new Array<number>(dims);
  for (let d = 0, i = slot; d < dims; d++, i += capacity) out[d] = columns[i];
  return out;
}

// Writes and moves go a column at a time, so that a batch touches each column's memory once rather than
// striding over every column (a column apart: kilobytes) once per vector.

/** Writes `vectors[i]`, scaled to unit length, into slot `slots[i]` (a later write to a slot wins). */
export function writeSlots(
  columns: Float32Array,
  capacity: number,
  dims: number,
  slots: number[],
  vectors: number[][],
): void {
  const scales = vectors.map(normalisingScale);
  for (let d = 0, base = 0; d < dims; d++, base += capacity) {
    for (let i = 0; i < slots.length; i++) columns[base + slots[i]] = vectors[i][d] * scales[i];
  }
}

/** Where a slot's vector lives: dimension d at `columns[d * capacity + index]`. */
export interface SlotPlace {
  columns: Float32Array;
  capacity: number;
  index: number;
}

/** Copies vectors between slots, which may lie in different pages: `moves` holds (from, to) pairs, in order. */
export function moveSlots(dims: number, moves: SlotPlace[]): void {
  for (let d = 0; d < dims; d++) {
    for (let m = 0; m < moves.length; m += 2) {
      const from = moves[m];
      const to = moves[m + 1];
      to.columns[d * to.capacity + to.index] = from.columns[d * from.capacity + from.index];
    }
  }
}

/** New columns with room for `capacity` slots, holding slots 0..size-1 of `columns` (room for `from` slots). */
export function growColumns(
  columns: Float32Array,
  from: number,
  size: number,
  dims: number,
  capacity: number,
): Float32Array {
  const grown = new Float32Array(capacity * dims);
  for (let d = 0; d < dims; d++) {
    const start = d * from;
    grown.set(columns.subarray(start, start + size), d * capacity);
  }
  return grown;
}

/** Where a block of vectors lives in a flat array: vector i, dimension d is at `start + i * slot + d * dim`. */
interface VectorLayout {
  start: number;
  slot: number;
  dim: number;
}

/**
 * Copies `count` vectors of `dims` floats from one layout to the other (rows to columns or back). Eight vectors
 * go in step, so that each pass over the dimensions reads and writes runs of eight adjacent floats on the
 * dimension-major side, several times faster than one vector at a time.
 */
function copyVectors(
  from: Float32Array,
  f: VectorLayout,
  to: Float32Array,
  t: VectorLayout,
  count: number,
  dims: number,
): void {
  let i = 0;
  for (; i + 8 <= count; i += 8) {
    for (
      let d = 0, a = f.start + i * f.slot, b = t.start + i * t.slot;
      d < dims;
      d++, a += f.dim, b += t.dim
    ) {
      to[b] = from[a];
      to[b + t.slot] = from[a + f.slot];
      to[b + 2 * t.slot] = from[a + 2 * f.slot];
      to[b + 3 * t.slot] = from[a + 3 * f.slot];
      to[b + 4 * t.slot] = from[a + 4 * f.slot];
      to[b + 5 * t.slot] = from[a + 5 * f.slot];
      to[b + 6 * t.slot] = from[a + 6 * f.slot];
      to[b + 7 * t.slot] = from[a + 7 * f.slot];
    }
  }
  for (; i < count; i++) {
    for (let d = 0, a = f.start + i * f.slot, b = t.start + i * t.slot; d < dims; d++, a += f.dim, b += t.dim)
      to[b] = from[a];
  }
}

/** Slots first..first+count-1 of dimension-major `columns` into `rows`, row-major (slot `first` at 0). */
export function columnsToRows(
  columns: Float32Array,
  capacity: number,
  first: number,
  count: number,
  dims: number,
  rows: Float32Array,
): void {
  copyVectors(
    columns,
    { start: first, slot: 1, dim: capacity },
    rows,
    { start: 0, slot: dims, dim: 1 },
    count,
    dims,
  );
}

/** `count` x `dims` row-major vectors into slots 0..count-1 of dimension-major `columns` (room for `capacity`). */
export function rowsToColumns(
  rows: Float32Array,
  count: number,
  dims: number,
  columns: Float32Array,
  capacity: number,
): void {
  copyVectors(
    rows,
    { start: 0, slot: dims, dim: 1 },
    columns,
    { start: 0, slot: 1, dim: capacity },
    count,
    dims,
  );
}

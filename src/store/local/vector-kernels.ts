// The local vector store's arithmetic, as pure functions over its dimension-major layout: dimension d of slot i
// is `columns[d * capacity + i]`. Scoring, writing, moving and growing the columns, and the strided copy between
// these columns and row-major vectors (for saving, loading and MMR).
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

/**
 * The dot product of `q` with each of slots 0..size-1: a sum over the query's non-zero dimensions in ascending
 * order, in double precision, whatever the query's density (zero terms would add nothing).
 */
export function scoreColumns(
  columns: Float32Array,
  capacity: number,
  size: number,
  q: Float32Array,
): Float64Array {
  const offsets: number[] = [];
  const weights: number[] = [];
  for (let d = 0; d < q.length; d++) {
    if (q[d] === 0) continue;
    offsets.push(d * capacity);
    weights.push(q[d]);
  }
  // Fresh per search (zeroed, ~90 KB for 11k chunks, cheap next to the scan), so that nothing is shared
  // should a filter predicate itself search the store.
  const scores = new Float64Array(size);
  addColumns(scores, columns, offsets, weights);
  return scores;
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
 * Adds `weights[t] * columns[offsets[t] + slot]` to `acc[slot]` for every slot, term after term in the order
 * given, in double precision: bit for bit the sums of a row-at-a-time loop over the same terms. Eight terms go
 * in each pass over the slots, so that `acc` is loaded and stored once per eight columns, not once per column.
 */
function addColumns(acc: Float64Array, columns: Float32Array, offsets: number[], weights: number[]): void {
  const size = acc.length;
  const terms = offsets.length;
  let t = 0;
  for (; t + 8 <= terms; t += 8) {
    const [o0, o1, o2, o3, o4, o5, o6, o7] = offsets.slice(t, t + 8);
    const [w0, w1, w2, w3, w4, w5, w6, w7] = weights.slice(t, t + 8);
    for (let s = 0; s < size; s++) {
      let sum = acc[s];
      sum += w0 * columns[o0 + s];
      sum += w1 * columns[o1 + s];
      sum += w2 * columns[o2 + s];
      sum += w3 * columns[o3 + s];
      sum += w4 * columns[o4 + s];
      sum += w5 * columns[o5 + s];
      sum += w6 * columns[o6 + s];
      sum += w7 * columns[o7 + s];
      acc[s] = sum;
    }
  }
  if (t === terms) return;
  // The last 1-7 terms, in one more pass.
  for (let s = 0; s < size; s++) {
    let sum = acc[s];
    for (let r = t; r < terms; r++) sum += weights[r] * columns[offsets[r] + s];
    acc[s] = sum;
  }
}

/** The vector of `slot`, gathered from the columns. */
export function slotVector(columns: Float32Array, capacity: number, dims: number, slot: number): number[] {
  const out = new Array<number>(dims);
  for (let d = 0, i = slot; d < dims; d++, i += capacity) out[d] = columns[i];
  return out;
}

// Writes and moves go a column at a time, so that a batch touches each column's memory once rather than
// striding over every column (a page each, for large stores) once per vector.

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

/** Copies vectors between slots: `moves` holds (from, to) pairs, applied in order. */
export function moveSlots(columns: Float32Array, capacity: number, dims: number, moves: number[]): void {
  for (let d = 0, base = 0; d < dims; d++, base += capacity) {
    for (let m = 0; m < moves.length; m += 2) columns[base + moves[m + 1]] = columns[base + moves[m]];
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

/** `count` x `dims` row-major vectors as dimension-major columns with room for exactly `count` slots. */
export function rowsToColumns(rows: Float32Array, count: number, dims: number): Float32Array {
  const columns = new Float32Array(count * dims);
  copyVectors(
    rows,
    { start: 0, slot: dims, dim: 1 },
    columns,
    { start: 0, slot: 1, dim: count },
    count,
    dims,
  );
  return columns;
}

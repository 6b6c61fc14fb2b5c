// The local vector store's arithmetic, as pure functions over one page of its dimension-major layout (see
// paged-columns.ts): dimension d of the page's slot i is `columns[d * capacity + i]`, an int8, and the slot's
// vector is those values times `steps[i]`. Quantising, scoring, writing, moving and growing the columns, and the
// strided copy between these columns and row-major float32 vectors (saves, loads, MMR, the graph).
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

// Quantisation: each vector is kept as int8 values and one float32 step (the value of 1), the step being the
// vector's largest |component| / 127. A quarter of float32's memory, as Redis vector sets keep theirs (Q8); the
// cosine moves by a few thousandths at most (docs/embedded-store.md#vectors-as-int8 has what it does to
// rankings). The step is rounded up to 17 significant bits, so that step × value (|value| <= 127, 7
// bits) is exact in float32: the float32 rows a save writes, quantised again at a reload, give back the same
// values and step, and every score is the same to the bit after a restart.

const stepFloat = new Float32Array(1);
const stepBits = new Uint32Array(stepFloat.buffer);
/** The low 7 of float32's 23 stored mantissa bits: with the implicit bit, a step keeps 17 significant bits. */
const STEP_LOW_BITS = 0x7f;

/** The step of a vector whose largest |component| is `maxAbs` (0 for a zero vector, which stays zero). */
export function quantisationStep(maxAbs: number): number {
  if (!(maxAbs > 0)) return 0;
  const exact = maxAbs / 127;
  stepFloat[0] = exact;
  if (stepFloat[0] < exact) stepBits[0] += 1;
  const low = stepBits[0] & STEP_LOW_BITS;
  if (low !== 0) stepBits[0] += STEP_LOW_BITS + 1 - low;
  return stepFloat[0];
}

/** The int8 value of `component` at `step` (whose product is the component, give or take half a step). */
function quantised(component: number, step: number): number {
  return clamped(component / step);
}

/** The nearest int8 value in -127..127 (the step makes the largest component 127: never more but by rounding). */
function clamped(value: number): number {
  return Math.min(127, Math.max(-127, Math.round(value)));
}

/**
 * Adds the dot product of the query whose `terms` are given with the int8 values of each of slots
 * 0..scores.length-1 of `columns` to `scores`, then scales each sum by its slot's step: term after term in
 * ascending order, in double precision, bit for bit what `dotSlot` gives. Eight terms go in each pass over the
 * slots, so that `scores` is loaded and stored once per eight columns, not once per column. Called once per
 * page, with `scores` zeroed: it allocates nothing.
 */
export function scoreColumns(
  columns: Int8Array,
  steps: Float32Array,
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
  // The last 1-7 terms, in one more pass, which also applies each slot's step.
  for (let s = 0; s < size; s++) {
    let sum = scores[s];
    for (let r = t; r < terms; r++) sum += weights[r] * columns[dims[r] * capacity + s];
    scores[s] = sum * steps[s];
  }
}

/** The dot product of `q` with the vector of `slot`, as `scoreColumns` computes it for the same slot. */
export function dotSlot(
  columns: Int8Array,
  steps: Float32Array,
  capacity: number,
  slot: number,
  q: Float32Array,
) {
  let sum = 0;
  for (let d = 0, i = slot; d < q.length; d++, i += capacity) sum += q[d] * columns[i];
  return sum * steps[slot];
}

/** The vector of `slot`, gathered from the columns. */
export function slotVector(
  columns: Int8Array,
  steps: Float32Array,
  capacity: number,
  dims: number,
  slot: number,
): number[] {
  const out = new Array<number>(dims);
  const step = steps[slot];
  for (let d = 0, i = slot; d < dims; d++, i += capacity) out[d] = columns[i] * step;
  return out;
}

// Writes and moves go a column at a time, so that a batch touches each column's memory once rather than
// striding over every column (a column apart: kilobytes) once per vector.

/** Writes `vectors[i]`, scaled to unit length and quantised, into slot `slots[i]` (a later write to a slot wins). */
export function writeSlots(
  columns: Int8Array,
  steps: Float32Array,
  capacity: number,
  dims: number,
  slots: number[],
  vectors: number[][],
): void {
  const scales = vectors.map(normalisingScale);
  const rowSteps = vectors.map((vector, i) => {
    let max = 0;
    for (let d = 0; d < dims; d++) max = Math.max(max, Math.abs(vector[d]));
    return quantisationStep(max * scales[i]);
  });
  for (let d = 0, base = 0; d < dims; d++, base += capacity) {
    for (let i = 0; i < slots.length; i++) {
      columns[base + slots[i]] = rowSteps[i] === 0 ? 0 : quantised(vectors[i][d] * scales[i], rowSteps[i]);
    }
  }
  for (let i = 0; i < slots.length; i++) steps[slots[i]] = rowSteps[i];
}

/** Where a slot's vector lives: dimension d at `columns[d * capacity + index]`, times `steps[index]`. */
export interface SlotPlace {
  columns: Int8Array;
  steps: Float32Array;
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
  for (let m = 0; m < moves.length; m += 2)
    moves[m + 1].steps[moves[m + 1].index] = moves[m].steps[moves[m].index];
}

/** New columns and steps with room for `capacity` slots, holding slots 0..size-1 of `columns` (room for `from`). */
export function growColumns(
  columns: Int8Array,
  steps: Float32Array,
  from: number,
  size: number,
  dims: number,
  capacity: number,
): { columns: Int8Array; steps: Float32Array } {
  const grown = new Int8Array(capacity * dims);
  for (let d = 0; d < dims; d++) {
    const start = d * from;
    grown.set(columns.subarray(start, start + size), d * capacity);
  }
  const grownSteps = new Float32Array(capacity);
  grownSteps.set(steps.subarray(0, size));
  return { columns: grown, steps: grownSteps };
}

// The copies between rows and columns take eight vectors in step, so that each pass over the dimensions reads and
// writes runs of eight adjacent values on the dimension-major side: several times faster than one at a time.

/** Slots first..first+count-1 of `columns` into `rows`, row-major float32 (slot `first` at 0). */
export function columnsToRows(
  columns: Int8Array,
  steps: Float32Array,
  capacity: number,
  first: number,
  count: number,
  dims: number,
  rows: Float32Array,
): void {
  let i = 0;
  for (; i + 8 <= count; i += 8) {
    const s = first + i;
    const f0 = steps[s];
    const f1 = steps[s + 1];
    const f2 = steps[s + 2];
    const f3 = steps[s + 3];
    const f4 = steps[s + 4];
    const f5 = steps[s + 5];
    const f6 = steps[s + 6];
    const f7 = steps[s + 7];
    for (let d = 0, a = s, b = i * dims; d < dims; d++, a += capacity, b++) {
      rows[b] = columns[a] * f0;
      rows[b + dims] = columns[a + 1] * f1;
      rows[b + 2 * dims] = columns[a + 2] * f2;
      rows[b + 3 * dims] = columns[a + 3] * f3;
      rows[b + 4 * dims] = columns[a + 4] * f4;
      rows[b + 5 * dims] = columns[a + 5] * f5;
      rows[b + 6 * dims] = columns[a + 6] * f6;
      rows[b + 7 * dims] = columns[a + 7] * f7;
    }
  }
  for (; i < count; i++) {
    const step = steps[first + i];
    for (let d = 0, a = first + i, b = i * dims; d < dims; d++, a += capacity, b++)
      rows[b] = columns[a] * step;
  }
}

/**
 * `count` x `dims` row-major unit-length vectors into slots index..index+count-1 of `columns` (room for
 * `capacity`), quantised: a load's pages, and a reload's log records.
 */
export function rowsToColumns(
  rows: Float32Array,
  count: number,
  dims: number,
  columns: Int8Array,
  steps: Float32Array,
  capacity: number,
  index = 0,
): void {
  // Each row's step, then the reciprocal the copy multiplies by (a row written by a save is step × integers,
  // exactly: the product of its reciprocal rounds back to those integers).
  const inverse = new Float64Array(count);
  for (let i = 0, a = 0; i < count; i++) {
    let max = 0;
    for (let d = 0; d < dims; d++, a++) {
      const v = Math.abs(rows[a]);
      if (v > max) max = v;
    }
    const step = quantisationStep(max);
    steps[index + i] = step;
    inverse[i] = step === 0 ? 0 : 1 / step;
  }
  let i = 0;
  for (; i + 8 <= count; i += 8) {
    const f0 = inverse[i];
    const f1 = inverse[i + 1];
    const f2 = inverse[i + 2];
    const f3 = inverse[i + 3];
    const f4 = inverse[i + 4];
    const f5 = inverse[i + 5];
    const f6 = inverse[i + 6];
    const f7 = inverse[i + 7];
    for (let d = 0, a = i * dims, b = index + i; d < dims; d++, a++, b += capacity) {
      columns[b] = clamped(rows[a] * f0);
      columns[b + 1] = clamped(rows[a + dims] * f1);
      columns[b + 2] = clamped(rows[a + 2 * dims] * f2);
      columns[b + 3] = clamped(rows[a + 3 * dims] * f3);
      columns[b + 4] = clamped(rows[a + 4 * dims] * f4);
      columns[b + 5] = clamped(rows[a + 5 * dims] * f5);
      columns[b + 6] = clamped(rows[a + 6 * dims] * f6);
      columns[b + 7] = clamped(rows[a + 7 * dims] * f7);
    }
  }
  for (; i < count; i++) {
    const f = inverse[i];
    for (let d = 0, a = i * dims, b = index + i; d < dims; d++, a++, b += capacity)
      columns[b] = clamped(rows[a] * f);
  }
}

// Quantised rows, as a base file holds them (format 3): for each vector its step (float32 LE) and then its int8
// values, `dims + 4` bytes a row, so that one row is one contiguous read.

/** Bytes of one quantised row of `dims` values. */
export function quantisedRowBytes(dims: number): number {
  return dims + 4;
}

/** Slots first..first+count-1 of `columns` as quantised rows into `out` (slot `first` at byte 0). */
export function columnsToQuantisedRows(
  columns: Int8Array,
  steps: Float32Array,
  capacity: number,
  first: number,
  count: number,
  dims: number,
  out: Uint8Array,
): void {
  const rowBytes = quantisedRowBytes(dims);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < count; i++) view.setFloat32(i * rowBytes, steps[first + i], true);
  copyValues(
    columns,
    { start: first, slot: 1, dim: capacity },
    new Int8Array(out.buffer, out.byteOffset, out.byteLength),
    { start: 4, slot: rowBytes, dim: 1 },
    count,
    dims,
  );
}

/** `count` quantised rows of `rows` into slots index..index+count-1 of `columns` and `steps` (room for `capacity`). */
export function quantisedRowsToColumns(
  rows: Uint8Array,
  count: number,
  dims: number,
  columns: Int8Array,
  steps: Float32Array,
  capacity: number,
  index = 0,
): void {
  const rowBytes = quantisedRowBytes(dims);
  const view = new DataView(rows.buffer, rows.byteOffset, rows.byteLength);
  for (let i = 0; i < count; i++) steps[index + i] = view.getFloat32(i * rowBytes, true);
  copyValues(
    new Int8Array(rows.buffer, rows.byteOffset, rows.byteLength),
    { start: 4, slot: rowBytes, dim: 1 },
    columns,
    { start: index, slot: 1, dim: capacity },
    count,
    dims,
  );
}

/** Where a block of vectors' values lives in a flat array: vector i, dimension d is at `start + i * slot + d * dim`. */
interface ValueLayout {
  start: number;
  slot: number;
  dim: number;
}

/** Copies `count` vectors of `dims` int8 values from one layout to the other (columns to rows or back). */
function copyValues(
  from: Int8Array,
  f: ValueLayout,
  to: Int8Array,
  t: ValueLayout,
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

/**
 * The dot product of `q` with quantised row `row` of `rows`, summed as dotSlot sums a slot of the columns (every
 * dimension in ascending order, in double precision, times the step): the same score to the bit.
 */
export function dotQuantisedRow(rows: Uint8Array, row: number, dims: number, q: Float32Array): number {
  const at = row * quantisedRowBytes(dims);
  const values = new Int8Array(rows.buffer, rows.byteOffset + at + 4, dims);
  let sum = 0;
  for (let d = 0; d < dims; d++) sum += q[d] * values[d];
  return sum * new DataView(rows.buffer, rows.byteOffset + at, 4).getFloat32(0, true);
}

/** `count` quantised rows as float32 rows (value × step), row-major into `out`. */
export function dequantisedRows(rows: Uint8Array, count: number, dims: number, out: Float32Array): void {
  const rowBytes = quantisedRowBytes(dims);
  const view = new DataView(rows.buffer, rows.byteOffset, rows.byteLength);
  const values = new Int8Array(rows.buffer, rows.byteOffset, rows.byteLength);
  for (let i = 0; i < count; i++) {
    const step = view.getFloat32(i * rowBytes, true);
    for (let d = 0, a = i * rowBytes + 4, b = i * dims; d < dims; d++, a++, b++) out[b] = values[a] * step;
  }
}

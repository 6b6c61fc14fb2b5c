import { describe, expect, it } from "vitest";
import {
  bestSlots,
  columnsToQuantisedRows,
  columnsToRows,
  dequantisedRows,
  dotSlot,
  growColumns,
  moveSlots,
  normalised,
  quantisationStep,
  quantisedRowBytes,
  quantisedRowsToColumns,
  queryTerms,
  rowsToColumns,
  scoreColumns,
  slotVector,
  writeSlots,
} from "./vector-kernels.ts";

// 13 vectors of 5 dimensions: one pass of eight and a remainder of five, in the copy and the scoring.
const COUNT = 13;
const DIMS = 5;
let x = 7;
const raw = Array.from({ length: COUNT }, () =>
  Array.from({ length: DIMS }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31 - 0.5;
  }),
);
/** The vectors scaled to unit length, as float32 rows. */
const rows = Float32Array.from(raw.flatMap((v) => Array.from(normalised(v))));

/** Columns (room for `capacity`) and steps holding `rows`, quantised. */
function columnsOf(rows: Float32Array, capacity: number) {
  const columns = new Int8Array(capacity * DIMS);
  const steps = new Float32Array(capacity);
  rowsToColumns(rows, COUNT, DIMS, columns, steps, capacity);
  return { columns, steps };
}

describe("vector kernels", () => {
  it("keeps a step of 17 significant bits, at least the largest component over 127", () => {
    const bits = new Uint32Array(new Float32Array([0]).buffer);
    for (const maxAbs of [1, 0.8, 0.123456789, 1e-3, Math.fround(0.3), 127 * quantisationStep(0.42)]) {
      const step = quantisationStep(maxAbs);
      expect(step * 127).toBeGreaterThanOrEqual(maxAbs);
      expect(step * 127).toBeLessThan(maxAbs * (1 + 2 ** -15));
      new Float32Array(bits.buffer)[0] = step;
      expect(bits[0] & 0x7f).toBe(0);
    }
    expect(quantisationStep(0)).toBe(0);
  });

  it("quantises each row to within half a step, and reads back floats that quantise to the same values", () => {
    const { columns, steps } = columnsOf(rows, COUNT);
    for (let i = 0; i < COUNT; i++) {
      const row = rows.subarray(i * DIMS, (i + 1) * DIMS);
      const step = steps[i];
      expect(step).toBe(quantisationStep(Math.max(...Array.from(row, Math.abs))));
      slotVector(columns, steps, COUNT, DIMS, i).forEach((v, d) => {
        expect(Math.abs(v - row[d])).toBeLessThanOrEqual(step / 2);
      });
    }
    // Read back as float32 rows (what a save writes) and quantised again (a reload): the same bytes.
    const back = new Float32Array(COUNT * DIMS);
    columnsToRows(columns, steps, COUNT, 0, COUNT, DIMS, back);
    const again = columnsOf(back, COUNT);
    expect(again.columns).toEqual(columns);
    expect(again.steps).toEqual(steps);
    // With room for more slots than it holds, as a page being filled has; and a run from the middle.
    const roomy = columnsOf(rows, 20);
    expect(slotVector(roomy.columns, roomy.steps, 20, DIMS, 12)).toEqual(
      slotVector(columns, steps, COUNT, DIMS, 12),
    );
    const run = new Float32Array(10 * DIMS);
    columnsToRows(roomy.columns, roomy.steps, 20, 2, 10, DIMS, run);
    expect(run).toEqual(back.subarray(2 * DIMS, 12 * DIMS));
  });

  it("scores every slot as its int8 values times the query, one row at a time, times its step", () => {
    const { columns, steps } = columnsOf(rows, COUNT);
    const q = normalised([0.3, 0, -1.2, 0.5, 2]);
    const terms = queryTerms(q);
    expect(terms.dims).toEqual([0, 2, 3, 4]);
    const scores = new Float64Array(COUNT);
    scoreColumns(columns, steps, COUNT, terms, scores);
    for (let i = 0; i < COUNT; i++) {
      let dot = 0;
      for (let d = 0; d < DIMS; d++) if (q[d] !== 0) dot += q[d] * columns[d * COUNT + i];
      expect(scores[i]).toBe(dot * steps[i]);
      expect(dotSlot(columns, steps, COUNT, i, q)).toBe(scores[i]);
      // Within the quantisation's reach of the float32 cosine.
      let exact = 0;
      for (let d = 0; d < DIMS; d++) exact += q[d] * rows[i * DIMS + d];
      expect(Math.abs(scores[i] - exact)).toBeLessThan(steps[i] * 2);
    }
    const best = bestSlots(scores, 3, (slot) => slot % 2 === 0);
    const expected = [0, 2, 4, 6, 8, 10, 12].sort((a, b) => scores[b] - scores[a]).slice(0, 3);
    expect(best.map((r) => r.item)).toEqual(expected);
  });

  it("writes unit-length vectors, moves slots in order, also between pages, and keeps them when the columns grow", () => {
    const columns = new Int8Array(4 * 2);
    const steps = new Float32Array(4);
    writeSlots(
      columns,
      steps,
      4,
      2,
      [0, 1, 2],
      [
        [3, 4],
        [0, 0],
        [1, 0],
      ],
    );
    // (0.6, 0.8) as 95 and 127 steps of 0.8 / 127; a zero vector stays zero.
    const step = quantisationStep(0.8);
    expect(slotVector(columns, steps, 4, 2, 0)).toEqual([95 * step, 127 * step]);
    expect(slotVector(columns, steps, 4, 2, 1)).toEqual([0, 0]);
    const one = slotVector(columns, steps, 4, 2, 2);
    expect(one).toEqual([127 * quantisationStep(1), 0]);
    const at = (index: number) => ({ columns, steps, capacity: 4, index });
    moveSlots(2, [at(2), at(0), at(0), at(1)]);
    expect([0, 1].map((slot) => slotVector(columns, steps, 4, 2, slot))).toEqual([one, one]);
    // Into a page of another capacity.
    const other = { columns: new Int8Array(2 * 2), steps: new Float32Array(2), capacity: 2, index: 1 };
    moveSlots(2, [at(0), other]);
    expect(slotVector(other.columns, other.steps, 2, 2, 1)).toEqual(one);
    const grown = growColumns(columns, steps, 4, 3, 2, 64);
    expect(grown.columns.length).toBe(128);
    expect(grown.steps.length).toBe(64);
    expect([0, 1, 2].map((slot) => slotVector(grown.columns, grown.steps, 64, 2, slot))).toEqual([
      one,
      one,
      one,
    ]);
  });

  it("writes quantised rows (a step and the int8 values each) and lays them out again, value for value", () => {
    const { columns, steps } = columnsOf(rows, COUNT);
    const rowBytes = quantisedRowBytes(DIMS);
    const bytes = new Uint8Array(COUNT * rowBytes);
    columnsToQuantisedRows(columns, steps, COUNT, 0, COUNT, DIMS, bytes);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < COUNT; i++) {
      expect(view.getFloat32(i * rowBytes, true)).toBe(steps[i]);
      for (let d = 0; d < DIMS; d++) expect(view.getInt8(i * rowBytes + 4 + d)).toBe(columns[d * COUNT + i]);
    }
    // Into a roomier page, from slot 3 on (as a page being filled), and as float32 rows.
    const roomy = { columns: new Int8Array(20 * DIMS), steps: new Float32Array(20) };
    quantisedRowsToColumns(bytes, COUNT, DIMS, roomy.columns, roomy.steps, 20, 3);
    for (let i = 0; i < COUNT; i++) {
      expect(slotVector(roomy.columns, roomy.steps, 20, DIMS, 3 + i)).toEqual(
        slotVector(columns, steps, COUNT, DIMS, i),
      );
    }
    const floats = new Float32Array(COUNT * DIMS);
    dequantisedRows(bytes, COUNT, DIMS, floats);
    const expected = new Float32Array(COUNT * DIMS);
    columnsToRows(columns, steps, COUNT, 0, COUNT, DIMS, expected);
    expect(floats).toEqual(expected);
  });
});

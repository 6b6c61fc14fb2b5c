import { describe, expect, it } from "vitest";
import {
  bestSlots,
  columnsToRows,
  growColumns,
  moveSlots,
  normalised,
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
const rows = Float32Array.from({ length: COUNT * DIMS }, () => {
  x = (x * 1103515245 + 12345) % 2 ** 31;
  return x / 2 ** 31 - 0.5;
});
const row = (i: number) => Array.from(rows.subarray(i * DIMS, (i + 1) * DIMS));

function columnsOf(rows: Float32Array, capacity: number): Float32Array {
  const columns = new Float32Array(capacity * DIMS);
  rowsToColumns(rows, COUNT, DIMS, columns, capacity);
  return columns;
}

describe("vector kernels", () => {
  it("turns rows into columns and back without changing a float", () => {
    const columns = columnsOf(rows, COUNT);
    expect(slotVector(columns, COUNT, DIMS, 9)).toEqual(row(9));
    const back = new Float32Array(10 * DIMS);
    columnsToRows(columns, COUNT, 2, 10, DIMS, back);
    expect(back).toEqual(rows.subarray(2 * DIMS, 12 * DIMS));
    // With room for more slots than it holds, as a page being filled has.
    const roomy = columnsOf(rows, 20);
    expect(slotVector(roomy, 20, DIMS, 12)).toEqual(row(12));
    columnsToRows(roomy, 20, 2, 10, DIMS, back);
    expect(back).toEqual(rows.subarray(2 * DIMS, 12 * DIMS));
  });

  it("scores every slot as the double-precision dot product taken one row at a time", () => {
    const columns = columnsOf(rows, COUNT);
    const q = normalised([0.3, 0, -1.2, 0.5, 2]);
    const terms = queryTerms(q);
    expect(terms.dims).toEqual([0, 2, 3, 4]);
    const scores = new Float64Array(COUNT);
    scoreColumns(columns, COUNT, terms, scores);
    for (let i = 0; i < COUNT; i++) {
      let dot = 0;
      for (let d = 0; d < DIMS; d++) if (q[d] !== 0) dot += q[d] * rows[i * DIMS + d];
      expect(scores[i]).toBe(dot);
    }
    const best = bestSlots(scores, 3, (slot) => slot % 2 === 0);
    const expected = [0, 2, 4, 6, 8, 10, 12].sort((a, b) => scores[b] - scores[a]).slice(0, 3);
    expect(best.map((r) => r.item)).toEqual(expected);
  });

  it("writes unit-length vectors, moves slots in order, also between pages, and keeps them when the columns grow", () => {
    const columns = new Float32Array(4 * 2);
    writeSlots(
      columns,
      4,
      2,
      [0, 1, 2],
      [
        [3, 4],
        [0, 0],
        [1, 0],
      ],
    );
    expect(slotVector(columns, 4, 2, 0)).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(slotVector(columns, 4, 2, 1)).toEqual([0, 0]);
    const at = (index: number) => ({ columns, capacity: 4, index });
    moveSlots(2, [at(2), at(0), at(0), at(1)]);
    expect([0, 1].map((slot) => slotVector(columns, 4, 2, slot))).toEqual([
      [1, 0],
      [1, 0],
    ]);
    // Into a page of another capacity.
    const other = new Float32Array(2 * 2);
    moveSlots(2, [at(0), { columns: other, capacity: 2, index: 1 }]);
    expect(slotVector(other, 2, 2, 1)).toEqual([1, 0]);
    const grown = growColumns(columns, 4, 3, 2, 64);
    expect(grown.length).toBe(128);
    expect([0, 1, 2].map((slot) => slotVector(grown, 64, 2, slot))).toEqual([
      [1, 0],
      [1, 0],
      [1, 0],
    ]);
  });
});

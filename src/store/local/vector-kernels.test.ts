import { describe, expect, it } from "vitest";
import {
  bestSlots,
  columnsToRows,
  growColumns,
  moveSlots,
  normalised,
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

describe("vector kernels", () => {
  it("turns rows into columns and back without changing a float", () => {
    const columns = rowsToColumns(rows, COUNT, DIMS);
    expect(slotVector(columns, COUNT, DIMS, 9)).toEqual(row(9));
    const back = new Float32Array(10 * DIMS);
    columnsToRows(columns, COUNT, 2, 10, DIMS, back);
    expect(back).toEqual(rows.subarray(2 * DIMS, 12 * DIMS));
  });

  it("scores every slot as the double-precision dot product taken one row at a time", () => {
    const columns = rowsToColumns(rows, COUNT, DIMS);
    const q = normalised([0.3, 0, -1.2, 0.5, 2]);
    const scores = scoreColumns(columns, COUNT, COUNT, q);
    for (let i = 0; i < COUNT; i++) {
      let dot = 0;
      for (let d = 0; d < DIMS; d++) if (q[d] !== 0) dot += q[d] * rows[i * DIMS + d];
      expect(scores[i]).toBe(dot);
    }
    const best = bestSlots(scores, 3, (slot) => slot % 2 === 0);
    const expected = [0, 2, 4, 6, 8, 10, 12].sort((a, b) => scores[b] - scores[a]).slice(0, 3);
    expect(best.map((r) => r.item)).toEqual(expected);
  });

  it("writes unit-length vectors, moves slots in order and keeps them when the columns grow", () => {
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
    moveSlots(columns, 4, 2, [2, 0, 0, 1]);
    expect([0, 1].map((slot) => slotVector(columns, 4, 2, slot))).toEqual([
      [1, 0],
      [1, 0],
    ]);
    const grown = growColumns(columns, 4, 3, 2, 64);
    expect(grown.length).toBe(128);
    expect([0, 1, 2].map((slot) => slotVector(grown, 64, 2, slot))).toEqual([
      [1, 0],
      [1, 0],
      [1, 0],
    ]);
  });
});

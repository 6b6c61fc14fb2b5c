import { describe, expect, it } from "vitest";
import { random, randomVector, stored, storedScore } from "../../../test/helpers/random-vectors.ts";
import { PagedColumns } from "./paged-columns.ts";
import { dequantisedRows, normalised, quantisationStep, quantisedRowBytes } from "./vector-kernels.ts";
import { VectorSnapshot } from "./vector-snapshot.ts";

const DIMS = 16;

/**
 * The brute-force score: the dot product of the query's non-zero dimensions in order with the row's int8 values,
 * in double precision, times its step.
 */
function dot(q: Float32Array, row: number[]): number {
  return storedScore(Array.from(q), row);
}

function rowsOf(
  columns: { readRows(first: number, count: number, rows: Float32Array): void },
  count: number,
) {
  const rows = new Float32Array(count * DIMS);
  columns.readRows(0, count, rows);
  return Array.from({ length: count }, (_, i) => Array.from(rows.subarray(i * DIMS, (i + 1) * DIMS)));
}

/** Slots first..first+count-1 of a snapshot, as the rows it writes to a base file read back as floats. */
function snapshotRows(snapshot: VectorSnapshot, first: number, count: number): number[][] {
  const bytes = new Uint8Array(count * quantisedRowBytes(DIMS));
  snapshot.readQuantisedRows(first, count, bytes);
  const rows = new Float32Array(count * DIMS);
  dequantisedRows(bytes, count, DIMS, rows);
  return Array.from({ length: count }, (_, i) => Array.from(rows.subarray(i * DIMS, (i + 1) * DIMS)));
}

/** Columns of `pageSlots`-slot pages holding `count` random vectors, and the rows they hold (the model). */
function filled(pageSlots: number, count: number, next: () => number) {
  const columns = new PagedColumns(DIMS, { pageSlots });
  const model: number[][] = [];
  const append = (n: number, density = 0.3) => {
    const slots = Array.from({ length: n }, (_, i) => model.length + i);
    const vectors = slots.map(() => randomVector(next, density, DIMS));
    columns.ensureCapacity(model.length + n);
    columns.write(slots, vectors);
    model.push(...vectors.map(stored));
  };
  append(count);
  return { columns, model, append };
}

describe("PagedColumns", () => {
  it("starts a tiny store small, doubles its first page up to a full one, then appends pages without copying", () => {
    const columns = new PagedColumns(1024);
    columns.ensureCapacity(3);
    // 64 slots of 1,024 floats: 256 KiB, not a whole 8 MiB page.
    expect(columns.capacity).toBe(64);

    const small = new PagedColumns(DIMS, { pageSlots: 256 });
    const capacities = [3, 65, 129, 200, 256, 257, 600].map((slots) => {
      small.ensureCapacity(slots);
      return small.capacity;
    });
    expect(capacities).toEqual([64, 128, 256, 256, 256, 512, 768]);
    const first = small.pageAt(0);
    small.ensureCapacity(2000);
    expect(small.capacity).toBe(2048);
    expect(small.pageAt(0)).toBe(first);
    expect(small.pageAt(600)).toBe(small.pageAt(767));
    expect(small.pageAt(2048)).toBeUndefined();
  });

  it("scores every slot of a store spanning several pages as the brute-force dot product, bit for bit", () => {
    const next = random(11);
    // 8 slots a page: 61 slots fill seven pages and part of an eighth.
    const { columns, model, append } = filled(8, 45, next);
    append(16, 1);
    expect(columns.capacity).toBe(64);
    const queries = [
      ...Array.from({ length: 10 }, () => randomVector(next, 0.2, DIMS)),
      ...Array.from({ length: 3 }, () => randomVector(next, 1, DIMS)),
    ];
    for (const query of queries) {
      const q = normalised(query);
      for (const size of [model.length, 40, 8, 1]) {
        const scores = columns.score(q, size);
        expect(Array.from(scores)).toEqual(model.slice(0, size).map((row) => dot(q, row)));
      }
    }
    expect(columns.score(normalised(queries[0]), 0)).toHaveLength(0);
  });

  it("moves the last slots into holes across page boundaries, in order, as deletes do", () => {
    const next = random(5);
    const { columns, model } = filled(8, 29, next);
    // Each delete fills its hole with the last slot; the second moves slot 27, which the first filled.
    const moves: number[] = [];
    for (const hole of [27, 3, 12, 0, 8]) {
      const last = model.length - 1;
      if (hole !== last) {
        moves.push(last, hole);
        model[hole] = model[last];
      }
      model.pop();
    }
    expect(moves).toEqual([28, 27, 27, 3, 26, 12, 25, 0, 24, 8]);
    columns.move(moves);
    expect(rowsOf(columns, model.length)).toEqual(model);
    model.forEach((row, slot) => {
      expect(columns.vector(slot)).toEqual(row);
    });
  });

  it("rewrites slots in place, a later write to a slot winning, in any page", () => {
    const next = random(8);
    const { columns, model } = filled(8, 20, next);
    const slots = [19, 2, 9, 2, 16];
    const vectors = slots.map(() => randomVector(next, 0.5, DIMS));
    columns.write(slots, vectors);
    slots.forEach((slot, i) => {
      model[slot] = stored(vectors[i]);
    });
    expect(rowsOf(columns, 20)).toEqual(model);
  });

  it("builds its pages from rows, reads any run of rows back across pages, and grows a short last page", () => {
    const next = random(3);
    const rows = new Float32Array(
      Array.from({ length: 21 }, () => stored(randomVector(next, 0.4, DIMS))).flat(),
    );
    const columns = PagedColumns.fromRows(rows, 21, DIMS, { pageSlots: 8 });
    // Two full pages and one of exactly the 5 slots left.
    expect(columns.capacity).toBe(21);
    for (const [first, count] of [
      [0, 21],
      [6, 3],
      [7, 10],
      [16, 5],
      [20, 1],
    ]) {
      const out = new Float32Array(count * DIMS);
      columns.readRows(first, count, out);
      expect(out).toEqual(rows.subarray(first * DIMS, (first + count) * DIMS));
    }
    const full = columns.pageAt(8);
    columns.ensureCapacity(22);
    expect(columns.capacity).toBe(24);
    expect(columns.pageAt(8)).toBe(full);
    const added = randomVector(next, 1, DIMS);
    columns.write([21], [added]);
    expect(rowsOf(columns, 22).flat()).toEqual([...rows, ...stored(added)]);
  });

  it("forgets its pages on clear, and takes new vectors after", () => {
    const { columns } = filled(8, 12, random(1));
    columns.clear();
    expect(columns.capacity).toBe(0);
    columns.ensureCapacity(1);
    columns.write([0], [[3, 4, ...new Array(DIMS - 2).fill(0)]]);
    // (0.6, 0.8) in steps of 0.8 / 127: 95 and 127 of them.
    const step = quantisationStep(0.8);
    expect(columns.vector(0).slice(0, 3)).toEqual([95 * step, 127 * step, 0]);
  });
});

describe("VectorSnapshot over pages", () => {
  it("reads the vectors as they were, while writes, moves, growth and clear change the pages", () => {
    const next = random(42);
    // 19 slots of 8-slot pages, from a file: the last page holds 3 and grows when slot 19 comes.
    const start = Array.from({ length: 19 }, () => stored(randomVector(next, 0.4, DIMS)));
    let columns = PagedColumns.fromRows(new Float32Array(start.flat()), 19, DIMS, { pageSlots: 8 });
    const model = start.slice();
    const snapshot = new VectorSnapshot(columns, model.length);
    // What the store does: make room, then keep each slot aside before it overwrites it.
    const write = (slots: number[]) => {
      const vectors = slots.map(() => randomVector(next, 0.4, DIMS));
      columns.ensureCapacity(Math.max(...slots) + 1);
      for (const slot of slots) snapshot.preserve(columns, slot);
      columns.write(slots, vectors);
      slots.forEach((slot, i) => {
        model[slot] = stored(vectors[i]);
      });
    };
    const move = (moves: number[]) => {
      for (let m = 1; m < moves.length; m += 2) snapshot.preserve(columns, moves[m]);
      columns.move(moves);
      for (let m = 0; m < moves.length; m += 2) model[moves[m + 1]] = model[moves[m]];
    };
    const changes = [
      () => write([0, 7, 8, 18]),
      // Slot 18 was kept aside already: writing it again keeps the first copy.
      () => write([18, 5]),
      () => move([18, 1, 17, 16]),
      // The last page grows (a new array): its old one, which the snapshot reads, changes no more.
      () => write([19, 20, 17, 30]),
      () => write([16, 18]),
      () => move([30, 9, 20, 2]),
      () => {
        columns.clear();
        model.length = 0;
      },
      () => write([0, 1, 2, 3, 10]),
      // A store that learns its dimension replaces its columns outright.
      () => {
        columns = new PagedColumns(DIMS, { pageSlots: 8 });
      },
      () => write([4, 12]),
    ];
    for (const change of changes) {
      change();
      expect(snapshotRows(snapshot, 0, 19)).toEqual(start);
      expect(snapshotRows(snapshot, 6, 5)).toEqual(start.slice(6, 11));
    }
    expect(columns.vector(12)).toEqual(model[12]);
  });
});

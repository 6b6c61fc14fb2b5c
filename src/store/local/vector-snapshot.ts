// The vectors as they were when a save began, readable while the store keeps changing them: copy on write, one
// slot at a time, so that a save neither copies every vector nor blocks the writes made while it runs. A slot
// read from the base file (store-vectors.ts) needs no copy: the base does not change, and the snapshot holds it
// open until it is released.
import type { PagedColumns } from "./paged-columns.ts";
import { quantisedRowBytes, rowsToColumns } from "./vector-kernels.ts";

/** The slots a snapshot reads from the base file: their rows there, and how to read one. */
export interface SnapshotBase {
  /** Each slot's row in the base, or -1 where its vector is in the columns. */
  rowOf: Int32Array;
  /** Reads rows from `row` on, as many as `into` holds. */
  readRows(row: number, into: Uint8Array): void;
  release(): void;
}

/**
 * The vectors of slots 0..count-1 as they were when a save began, readable while the store keeps changing:
 * the store calls `preserve` before it overwrites a slot in memory (a write or the target of a move), which keeps
 * the slot's old vector aside.
 */
export class VectorSnapshot {
  private readonly preserved = new Map<number, Float32Array>();
  /** The store's pages when the save began: the pages it still writes to, and any it has since replaced. */
  private readonly pages: PagedColumns;
  readonly dims: number;

  constructor(
    columns: PagedColumns,
    readonly count: number,
    private readonly base?: SnapshotBase,
  ) {
    this.pages = columns.view();
    this.dims = columns.dims;
  }

  /** Keeps `slot`'s vector before the store, whose columns are now `columns`, overwrites it. */
  preserve(columns: PagedColumns, slot: number): void {
    if (slot >= this.count || this.preserved.has(slot) || this.onDisk(slot)) return;
    // A page the store has replaced since (its last page grown, every page after a clear) no longer changes.
    if (columns.pageAt(slot) !== this.pages.pageAt(slot)) return;
    const row = new Float32Array(this.dims);
    this.pages.readRows(slot, 1, row);
    this.preserved.set(slot, row);
  }

  /** Slots first..first+count-1 as quantised rows (a step and int8 values each) into `out`. */
  readQuantisedRows(first: number, count: number, out: Uint8Array): void {
    const rowBytes = quantisedRowBytes(this.dims);
    // Runs of slots in memory from the pages; of slots in the base from it, rows that follow each other there (most
    // of them: a base is written in slot order) in one read.
    for (let i = 0; i < count; ) {
      let end = i + 1;
      const onDisk = this.onDisk(first + i);
      while (end < count && this.onDisk(first + end) === onDisk) end++;
      if (onDisk) {
        const { rowOf, readRows } = this.base as SnapshotBase;
        for (let j = i; j < end; ) {
          let to = j + 1;
          while (to < end && rowOf[first + to] === rowOf[first + to - 1] + 1) to++;
          readRows(rowOf[first + j], out.subarray(j * rowBytes, to * rowBytes));
          j = to;
        }
      } else this.pages.readQuantisedRows(first + i, end - i, out.subarray(i * rowBytes));
      i = end;
    }
    if (this.preserved.size === 0) return;
    const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
    const step = new Float32Array(1);
    for (let i = 0; i < count; i++) {
      const kept = this.preserved.get(first + i);
      if (!kept) continue;
      // A kept row is the float32 of int8 values and a step: quantised again, it gives back those exactly.
      const values = new Int8Array(out.buffer, out.byteOffset + i * rowBytes + 4, this.dims);
      rowsToColumns(kept, 1, this.dims, values, step, 1);
      view.setFloat32(i * rowBytes, step[0], true);
    }
  }

  /** Lets go of the base file it reads from. */
  release(): void {
    this.base?.release();
  }

  private onDisk(slot: number): boolean {
    return this.base !== undefined && this.base.rowOf[slot] !== -1;
  }
}

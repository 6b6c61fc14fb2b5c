// The vectors as they were when a save began, readable while the store keeps changing them: copy on write, one
// slot at a time, so that a save neither copies every vector nor blocks the writes made while it runs.
import type { PagedColumns } from "./paged-columns.ts";
import { quantisedRowBytes, rowsToColumns } from "./vector-kernels.ts";

/**
 * The vectors of slots 0..count-1 as they were when a save began, readable while the store keeps changing:
 * the store calls `preserve` before it overwrites a slot (a write or the target of a move), which keeps the
 * slot's old vector aside.
 */
export class VectorSnapshot {
  private readonly preserved = new Map<number, Float32Array>();
  /** The store's pages when the save began: the pages it still writes to, and any it has since replaced. */
  private readonly pages: PagedColumns;
  readonly dims: number;

  constructor(
    columns: PagedColumns,
    readonly count: number,
  ) {
    this.pages = columns.view();
    this.dims = columns.dims;
  }

  /** Keeps `slot`'s vector before the store, whose columns are now `columns`, overwrites it. */
  preserve(columns: PagedColumns, slot: number): void {
    if (slot >= this.count || this.preserved.has(slot)) return;
    // A page the store has replaced since (its last page grown, every page after a clear) no longer changes.
    if (columns.pageAt(slot) !== this.pages.pageAt(slot)) return;
    const row = new Float32Array(this.dims);
    this.pages.readRows(slot, 1, row);
    this.preserved.set(slot, row);
  }

  /** Slots first..first+count-1 as quantised rows (a step and int8 values each) into `out`. */
  readQuantisedRows(first: number, count: number, out: Uint8Array): void {
    this.pages.readQuantisedRows(first, count, out);
    if (this.preserved.size === 0) return;
    const rowBytes = quantisedRowBytes(this.dims);
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

  /** Slots first..first+count-1, row-major, into `rows`. */
  readRows(first: number, count: number, rows: Float32Array): void {
    this.pages.readRows(first, count, rows);
    if (this.preserved.size === 0) return;
    for (let i = 0; i < count; i++) {
      const kept = this.preserved.get(first + i);
      if (kept) rows.set(kept, i * this.dims);
    }
  }
}

// The vectors as they were when a save began, readable while the store keeps changing them: copy on write, one
// slot at a time, so that a save neither copies every vector nor blocks the writes made while it runs.
import { columnsToRows } from "./vector-kernels.ts";

/**
 * The vectors of slots 0..count-1 as they were when a save began, readable while the store keeps changing:
 * the store calls `preserve` before it overwrites a slot in place, which keeps the slot's old vector aside.
 */
export class VectorSnapshot {
  private readonly preserved = new Map<number, Float32Array>();

  constructor(
    private readonly columns: Float32Array,
    private readonly capacity: number,
    readonly count: number,
    readonly dims: number,
  ) {}

  /** Keeps `slot`'s vector before the store, whose columns are now `columns`, overwrites it. */
  preserve(columns: Float32Array, slot: number): void {
    // Once the store has grown it writes to new columns, and the snapshot's no longer change.
    if (columns !== this.columns || slot >= this.count || this.preserved.has(slot)) return;
    const row = new Float32Array(this.dims);
    columnsToRows(columns, this.capacity, slot, 1, this.dims, row);
    this.preserved.set(slot, row);
  }

  /** Slots first..first+count-1, row-major, into `rows`. */
  readRows(first: number, count: number, rows: Float32Array): void {
    columnsToRows(this.columns, this.capacity, first, count, this.dims, rows);
    if (this.preserved.size === 0) return;
    for (let i = 0; i < count; i++) {
      const kept = this.preserved.get(first + i);
      if (kept) rows.set(kept, i * this.dims);
    }
  }
}

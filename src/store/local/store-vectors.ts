// The local store's vectors, slot by slot: in pages of int8 columns in memory (paged-columns.ts), or, for a large
// store, read from its base file (vector-file.ts, format 3: a row of a step and int8 values per vector) for the
// chunks the base holds unchanged. A million 1,024-dimension vectors are 1 GB: in memory they were most of what
// the store held, where a search that ranks the graph's hundred candidates reads a hundred rows (~1 ms, from the
// page cache) and a scan, which only a filtered search or a graph still being built needs, reads them all.
//
// A slot's vector is in memory or at a row of the base (`rowOf`); a page of the columns whose slots are all in the
// base holds no memory (hollow), and is given some again when one of its slots is written. While a save runs, the
// vectors as they were when it began stay readable (copy on write: vector-snapshot.ts).
import type { BaseReader } from "./base-reader.ts";
import { PagedColumns } from "./paged-columns.ts";
import { dequantisedRows, dotQuantisedRow, quantisedRowBytes } from "./vector-kernels.ts";
import { VectorSnapshot } from "./vector-snapshot.ts";

/** A base file's vector rows: where they start in it. */
export interface BaseRows {
  reader: BaseReader;
  vectorsStart: number;
}

/** Not in the base: the vector is in the columns. */
const IN_MEMORY = -1;
/** Rows read at once, at most: 2 MiB at 1,024 dimensions. */
const RUN_ROWS = 2048;
/** Reads in flight at once during a scan. */
const READS_IN_FLIGHT = 4;

export class StoreVectors {
  private columns: PagedColumns;
  /** The base row of each slot's vector, or IN_MEMORY. */
  private rowOf = new Int32Array(0);
  private base?: BaseRows;
  /** The vectors a save under way writes, while it runs. */
  private saving?: VectorSnapshot;

  /**
   * `onDiskFrom`: from how many chunks the vectors a base holds are read from it rather than kept in memory
   * (Infinity: never).
   */
  constructor(
    readonly dims: number,
    private readonly options: { pageSlots?: number; onDiskFrom?: number } = {},
  ) {
    this.columns = new PagedColumns(dims, options);
  }

  /** Whether a store of `size` chunks reads the vectors its base holds from it. */
  readsFromDisk(size: number): boolean {
    return size >= (this.options.onDiskFrom ?? Number.POSITIVE_INFINITY);
  }

  get pageSlots(): number {
    return this.columns.pageSlots;
  }

  /** Slots whose vector is read from the base (of slots 0..size-1): for tests, benchmarks and the logs. */
  onDisk(size: number): number {
    let n = 0;
    for (let slot = 0; slot < size; slot++) if (this.rowOf[slot] !== IN_MEMORY) n++;
    return n;
  }

  /** Makes room for slots 0..slots-1. */
  ensureCapacity(slots: number): void {
    this.columns.ensureCapacity(slots);
    if (this.rowOf.length >= this.columns.capacity) return;
    const rowOf = new Int32Array(this.columns.capacity).fill(IN_MEMORY);
    rowOf.set(this.rowOf);
    this.rowOf = rowOf;
  }

  /** Appends `count` quantised rows (a base file's, read at a start) as a page in memory. */
  appendQuantisedPage(rows: Uint8Array, count: number): void {
    this.columns.appendQuantisedPage(rows, count);
    this.ensureCapacity(this.columns.capacity);
  }

  /** Appends `count` row-major float32 vectors (an older base's) as a page in memory. */
  appendPage(rows: Float32Array, count: number): void {
    this.columns.appendPage(rows, count);
    this.ensureCapacity(this.columns.capacity);
  }

  /** Slots 0..count-1 are rows 0..count-1 of `base`, read from it when asked for: a start that loads no vector. */
  openOnDisk(base: BaseRows, count: number): void {
    for (let first = 0; first < count; first += this.pageSlots) {
      this.columns.appendHollowPage(Math.min(this.pageSlots, count - first));
    }
    this.ensureCapacity(count);
    for (let slot = 0; slot < count; slot++) this.rowOf[slot] = slot;
    this.base?.reader.release();
    this.base = base;
  }

  /** Writes `vectors[i]`, scaled to unit length, into slot `slots[i]`. */
  write(slots: number[], vectors: number[][]): void {
    for (const slot of slots) this.inMemory(slot);
    this.columns.write(slots, vectors);
  }

  /** Writes row-major `rows` into slot `slots[i]` as they are (a reload's vectors: already of unit length). */
  writeRows(slots: number[], rows: Float32Array): void {
    for (const slot of slots) this.inMemory(slot);
    this.columns.writeRows(slots, rows);
  }

  /** Copies vectors between slots: `moves` holds (from, to) pairs, applied in order. */
  move(moves: number[]): void {
    for (let m = 0; m < moves.length; m += 2) {
      const from = moves[m];
      const to = moves[m + 1];
      const row = this.rowOf[from];
      if (row !== IN_MEMORY) {
        // In the base: only where to read it changes (the target's memory, if any, is left as it is).
        this.rowOf[to] = row;
        continue;
      }
      this.inMemory(to);
      this.columns.move([from, to]);
    }
  }

  /**
   * The cosine similarity of the unit-length query `q` with each of slots 0..size-1 (0 for those `matches`
   * refuses among the slots read from the base, which are not read).
   */
  async score(q: Float32Array, size: number, matches?: (slot: number) => boolean): Promise<Float64Array> {
    const scores = this.columns.score(q, size);
    if (!this.base) return scores;
    const wanted: number[] = [];
    for (let slot = 0; slot < size; slot++) {
      if (this.rowOf[slot] !== IN_MEMORY && (!matches || matches(slot))) wanted.push(slot);
    }
    await this.readEach(wanted, (k, rows, row) => {
      scores[wanted[k]] = dotQuantisedRow(rows, row, this.dims, q);
    });
    return scores;
  }

  /** The dot products of `q` with the vectors of `slots` (their cosines: both are unit length). */
  async dots(slots: readonly number[], q: Float32Array): Promise<Float64Array> {
    const out = new Float64Array(slots.length);
    await this.eachOf(
      slots,
      (slot, i) => {
        out[i] = this.columns.dot(slot, q);
      },
      (i, rows, row) => {
        out[i] = dotQuantisedRow(rows, row, this.dims, q);
      },
    );
    return out;
  }

  /** The vectors of `slots`, as arrays (MMR's few candidates). */
  async vectors(slots: readonly number[]): Promise<number[][]> {
    const out = new Array<number[]>(slots.length);
    const row = new Float32Array(this.dims);
    await this.eachOf(
      slots,
      (slot, i) => {
        out[i] = this.columns.vector(slot);
      },
      (i, rows, r) => {
        dequantisedRows(rows.subarray(r * quantisedRowBytes(this.dims)), 1, this.dims, row);
        out[i] = Array.from(row);
      },
    );
    return out;
  }

  /**
   * Each of `slots` (the i-th): to `inMemory` at once when its vector is in the columns, else read from the base
   * and given to `inBase` with the buffer and its row's index in it.
   */
  private async eachOf(
    slots: readonly number[],
    inMemory: (slot: number, i: number) => void,
    inBase: (i: number, rows: Uint8Array, row: number) => void,
  ): Promise<void> {
    const onDisk: number[] = [];
    const positions: number[] = [];
    for (let i = 0; i < slots.length; i++) {
      if (this.rowOf[slots[i]] === IN_MEMORY) inMemory(slots[i], i);
      else {
        onDisk.push(slots[i]);
        positions.push(i);
      }
    }
    await this.readEach(onDisk, (k, rows, row) => inBase(positions[k], rows, row));
  }

  /**
   * The vector of `slot` as float32 into `out`, at once: from the base with a synchronous read (for the graph's
   * background steps, which insert for a few ms at a time, and a save's).
   */
  rowSync(slot: number, out: Float32Array = new Float32Array(this.dims)): Float32Array {
    const row = this.rowOf[slot];
    if (row === IN_MEMORY) return this.columns.row(slot, out);
    const bytes = new Uint8Array(quantisedRowBytes(this.dims));
    this.readRowsSync(this.base, row, bytes);
    dequantisedRows(bytes, 1, this.dims, out);
    return out;
  }

  /**
   * The vectors as they are now, readable while they keep changing (copy on write), until `release`: what a save
   * writes. One at a time (saves never overlap).
   */
  snapshot(count: number): VectorSnapshot {
    const base = this.base;
    base?.reader.retain();
    this.saving = new VectorSnapshot(this.columns, count, {
      rowOf: this.rowOf.slice(0, count),
      readRows: (row, into) => this.readRowsSync(base, row, into),
      release: () => base?.reader.release(),
    });
    return this.saving;
  }

  /** The save is done with its snapshot. */
  releaseSnapshot(): void {
    this.saving?.release();
    this.saving = undefined;
  }

  /**
   * A new base was written: its row r holds the vector that slot `slotNow(r)` holds now, unchanged (undefined:
   * changed or deleted since); `size` is the slots in use. A store that reads from disk at that size reads those
   * slots from it from now on, and the pages left with no vector in memory let go of theirs; a smaller one keeps
   * its vectors in memory (those it read from an older base, it reads from this one).
   */
  adopt(base: BaseRows, count: number, slotNow: (row: number) => number | undefined, size: number): void {
    const onDisk = this.readsFromDisk(size);
    const rowOf = new Int32Array(this.rowOf.length).fill(IN_MEMORY);
    for (let row = 0; row < count; row++) {
      const slot = slotNow(row);
      if (slot !== undefined && (onDisk || this.rowOf[slot] !== IN_MEMORY)) rowOf[slot] = row;
    }
    // A slot read from the old base that the new one does not hold (not expected: a chunk unchanged since the
    // snapshot is in it) is brought into memory before the old base is let go of.
    for (let slot = 0; slot < size; slot++) {
      if (this.rowOf[slot] === IN_MEMORY || rowOf[slot] !== IN_MEMORY) continue;
      const vector = this.rowSync(slot);
      this.inMemory(slot);
      this.columns.writeRows([slot], vector);
    }
    const old = this.base;
    this.rowOf = rowOf;
    this.base = base;
    old?.reader.release();
    if (!onDisk) {
      if (this.onDisk(size) === 0) {
        this.base = undefined;
        base.reader.release();
      }
      return;
    }
    for (let p = 0, first = 0; p < this.columns.pageCount; p++, first += this.pageSlots) {
      const end = Math.min(size, first + this.pageSlots);
      let all = first < end;
      for (let slot = first; slot < end && all; slot++) all = rowOf[slot] !== IN_MEMORY;
      if (all) this.columns.hollow(p);
    }
  }

  /** Forgets every vector (the store was emptied). */
  clear(): void {
    this.columns = new PagedColumns(this.dims, this.options);
    this.rowOf = new Int32Array(0);
    this.base?.reader.release();
    this.base = undefined;
  }

  /** Lets go of the base (the store is closed). */
  close(): void {
    this.base?.reader.release();
    this.base = undefined;
  }

  /** Slot `slot` is about to be written in memory: its page given memory, its old vector kept for a save. */
  private inMemory(slot: number): void {
    this.saving?.preserve(this.columns, slot);
    this.columns.materialise(slot);
    this.rowOf[slot] = IN_MEMORY;
  }

  /** Rows from `row` on, as many as `into` holds, at once. */
  private readRowsSync(base: BaseRows | undefined, row: number, into: Uint8Array): void {
    if (!base) throw new Error(`no base to read row ${row} from`);
    base.reader.readSync(into, base.vectorsStart + row * quantisedRowBytes(this.dims));
  }

  /**
   * Reads the base rows of `slots` (all read from the base), runs of consecutive rows in one read, a few reads at
   * a time, and gives each to `visit` (by its index in `slots`) with the buffer and its row's index in it.
   */
  private async readEach(
    slots: readonly number[],
    visit: (index: number, rows: Uint8Array, row: number) => void,
  ): Promise<void> {
    const base = this.base;
    if (slots.length === 0 || !base) return;
    const rowBytes = quantisedRowBytes(this.dims);
    const runs: { from: number; to: number }[] = [];
    for (let i = 0; i < slots.length; ) {
      let end = i + 1;
      while (
        end < slots.length &&
        end - i < RUN_ROWS &&
        this.rowOf[slots[end]] === this.rowOf[slots[end - 1]] + 1
      )
        end++;
      runs.push({ from: i, to: end });
      i = end;
    }
    // Rows named now, and the base held until they are read: a slot may move (a delete) or be written, and a new
    // base replace this one, while the reads are in flight.
    const rows = slots.map((slot) => this.rowOf[slot]);
    base.reader.retain();
    try {
      for (let r = 0; r < runs.length; r += READS_IN_FLIGHT) {
        await Promise.all(
          runs.slice(r, r + READS_IN_FLIGHT).map(async ({ from, to }) => {
            const bytes = new Uint8Array((to - from) * rowBytes);
            await base.reader.read(bytes, base.vectorsStart + rows[from] * rowBytes);
            for (let i = from; i < to; i++) visit(i, bytes, i - from);
          }),
        );
      }
    } finally {
      base.reader.release();
    }
  }
}

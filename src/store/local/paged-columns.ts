// The local store's vectors, quantised to int8 (vector-kernels.ts), dimension-major, in pages of a fixed number of
// slots: growth appends a page and never copies the vectors held (one array grown by doubling kept the old copy
// alive beside the new one until a major GC).
import {
  columnsToQuantisedRows,
  columnsToRows,
  dotSlot,
  growColumns,
  moveSlots,
  quantisedRowBytes,
  quantisedRowsToColumns,
  queryTerms,
  rowsToColumns,
  type SlotPlace,
  scoreColumns,
  slotVector,
  writeSlots,
} from "./vector-kernels.ts";

export interface PagedColumnsOptions {
  /** Slots per page. Default 2,048 (2 MiB a page at 1,024 dimensions); tests use a few to span pages cheaply. */
  pageSlots?: number;
}

/** One page of columns: dimension d of the page's slot i is `columns[d * capacity + i] * steps[i]`. */
export interface ColumnPage {
  readonly columns: Int8Array;
  readonly steps: Float32Array;
  readonly capacity: number;
}

const DEFAULT_PAGE_SLOTS = 2048;
/** A hollow page's arrays: its slots' vectors are elsewhere (on disk: store-vectors.ts), none in memory. */
const NO_VALUES = new Int8Array(0);
const NO_STEPS = new Float32Array(0);
/** The first page starts this small and doubles up to a full page, so that a tiny store stays tiny. */
const FIRST_PAGE_SLOTS = 64;

/**
 * Vectors of `dims` floats in slots 0..capacity-1, scaled to unit length and quantised to int8 values and a step
 * (see vector-kernels.ts) as they are written; read back, they are float32 rows of those values. Slot s lives in
 * page floor(s / pageSlots); every page holds `pageSlots` slots but the last, which may hold fewer and grows by
 * doubling (copying that one page) until it is full. The owner keeps track of which slots are in use.
 *
 * @example
 * const columns = new PagedColumns(1024);
 * columns.ensureCapacity(2);
 * columns.write([0, 1], [vectorA, vectorB]);
 * const scores = columns.score(normalised(query), 2); // scores[slot]: cosine similarity
 */
export class PagedColumns {
  readonly pageSlots: number;
  private pages: ColumnPage[] = [];
  private slots = 0;

  constructor(
    readonly dims: number,
    options: PagedColumnsOptions = {},
  ) {
    this.pageSlots = options.pageSlots ?? DEFAULT_PAGE_SLOTS;
    if (!Number.isInteger(this.pageSlots) || this.pageSlots < 1) {
      throw new RangeError(`pageSlots must be a positive integer, not ${this.pageSlots}.`);
    }
  }

  /** Columns holding `count` x `dims` row-major `rows` in slots 0..count-1, the last page no larger than needed. */
  static fromRows(
    rows: Float32Array,
    count: number,
    dims: number,
    options: PagedColumnsOptions = {},
  ): PagedColumns {
    const paged = new PagedColumns(dims, options);
    for (let first = 0; first < count; first += paged.pageSlots) {
      const capacity = Math.min(paged.pageSlots, count - first);
      paged.appendPage(rows.subarray(first * dims, (first + capacity) * dims), capacity);
    }
    return paged;
  }

  /**
   * `count` row-major vectors (already unit length) as a new page after the last one, which must be full: how a
   * store is read back from its file, a page of rows at a time. `count` is at most `pageSlots`.
   */
  appendPage(rows: Float32Array, count: number): void {
    this.appendFilled(count, (columns, steps) =>
      rowsToColumns(rows, count, this.dims, columns, steps, count),
    );
  }

  /** `count` quantised rows (a format-3 base file's: a step and int8 values each) as a new page, as appendPage. */
  appendQuantisedPage(rows: Uint8Array, count: number): void {
    this.appendFilled(count, (columns, steps) =>
      quantisedRowsToColumns(rows, count, this.dims, columns, steps, count),
    );
  }

  /**
   * A hollow page of `count` slots after the last one, which must be full: room for slots whose vectors the owner
   * keeps elsewhere (on disk), holding no memory until `materialise` gives it some.
   */
  appendHollowPage(count: number): void {
    this.appendFilled(count, () => undefined, true);
  }

  /**
   * Gives the hollow page that holds `slot` memory, every vector in it zero (the owner writes those it keeps
   * here); a new page object, as after growth.
   */
  materialise(slot: number): void {
    const p = Math.floor(slot / this.pageSlots);
    const page = this.pages[p];
    if (page.columns !== NO_VALUES) return;
    const { capacity } = page;
    this.pages[p] = {
      columns: new Int8Array(capacity * this.dims),
      steps: new Float32Array(capacity),
      capacity,
    };
  }

  /** Lets go of page `p`'s memory: the owner keeps every vector of it elsewhere. */
  hollow(p: number): void {
    const { capacity } = this.pages[p];
    this.pages[p] = { columns: NO_VALUES, steps: NO_STEPS, capacity };
  }

  /** Pages held, hollow or not. */
  get pageCount(): number {
    return this.pages.length;
  }

  /** A new page of exactly `count` slots after the last one, which must be full, filled by `fill`. */
  private appendFilled(
    count: number,
    fill: (columns: Int8Array, steps: Float32Array) => void,
    hollow = false,
  ): void {
    if (this.slots % this.pageSlots !== 0 || count > this.pageSlots) {
      throw new RangeError(
        `a page is appended after full pages only, and holds at most ${this.pageSlots} rows`,
      );
    }
    const columns = hollow ? NO_VALUES : new Int8Array(count * this.dims);
    const steps = hollow ? NO_STEPS : new Float32Array(count);
    fill(columns, steps);
    this.pages.push({ columns, steps, capacity: count });
    this.slots += count;
  }

  /** Slots there is room for. */
  get capacity(): number {
    return this.slots;
  }

  /** Makes room for slots 0..slots-1, keeping the vectors held. */
  ensureCapacity(slots: number): void {
    while (this.slots < slots) {
      const last = this.pages.at(-1);
      if (last && last.capacity < this.pageSlots) {
        const held = this.slots - last.capacity;
        const capacity = Math.min(
          this.pageSlots,
          Math.max(last.capacity * 2, slots - held, FIRST_PAGE_SLOTS),
        );
        if (last.columns === NO_VALUES) {
          // Nothing in memory to carry over: hollow still, only larger.
          this.pages[this.pages.length - 1] = { columns: NO_VALUES, steps: NO_STEPS, capacity };
          this.slots = held + capacity;
          continue;
        }
        const grown = growColumns(
          last.columns,
          last.steps,
          last.capacity,
          last.capacity,
          this.dims,
          capacity,
        );
        this.pages[this.pages.length - 1] = { ...grown, capacity };
        this.slots = held + capacity;
      } else {
        const capacity =
          this.pages.length === 0
            ? Math.min(this.pageSlots, Math.max(slots, FIRST_PAGE_SLOTS))
            : this.pageSlots;
        this.pages.push({
          columns: new Int8Array(capacity * this.dims),
          steps: new Float32Array(capacity),
          capacity,
        });
        this.slots += capacity;
      }
    }
  }

  /** The page that holds `slot` now (undefined past the capacity): a page replaced by growth is another object. */
  pageAt(slot: number): ColumnPage | undefined {
    return this.pages[Math.floor(slot / this.pageSlots)];
  }

  /** Writes `vectors[i]`, scaled to unit length, into slot `slots[i]` (a later write to a slot wins). */
  write(slots: number[], vectors: number[][]): void {
    // Each page's share of the batch, written a column at a time (a batch of new chunks spans one or two pages).
    const byPage = new Map<number, { slots: number[]; vectors: number[][] }>();
    for (let i = 0; i < slots.length; i++) {
      const page = Math.floor(slots[i] / this.pageSlots);
      let share = byPage.get(page);
      if (!share) {
        share = { slots: [], vectors: [] };
        byPage.set(page, share);
      }
      share.slots.push(slots[i] - page * this.pageSlots);
      share.vectors.push(vectors[i]);
    }
    for (const [page, share] of byPage) {
      const { columns, steps, capacity } = this.pages[page];
      writeSlots(columns, steps, capacity, this.dims, share.slots, share.vectors);
    }
  }

  /** Writes row-major `rows` into slot `slots[i]` as they are (a reload's vectors: already of unit length). */
  writeRows(slots: number[], rows: Float32Array): void {
    const dims = this.dims;
    for (let i = 0; i < slots.length; i++) {
      const { columns, steps, capacity, index } = this.place(slots[i]);
      rowsToColumns(rows.subarray(i * dims, (i + 1) * dims), 1, dims, columns, steps, capacity, index);
    }
  }

  /** Copies vectors between slots: `moves` holds (from, to) pairs, applied in order. */
  move(moves: number[]): void {
    moveSlots(
      this.dims,
      moves.map((slot) => this.place(slot)),
    );
  }

  /**
   * The cosine similarity of the unit-length query `q` with each of slots 0..size-1: the dot product summed over
   * the query's non-zero dimensions in ascending order, in double precision, page after page.
   */
  score(q: Float32Array, size: number): Float64Array {
    const terms = queryTerms(q);
    // Fresh per search (zeroed, ~90 KB for 11k chunks, cheap next to the scan), so that nothing is shared
    // should a filter predicate itself search the store.
    const scores = new Float64Array(size);
    for (let p = 0, first = 0; first < size; p++, first += this.pageSlots) {
      const { columns, steps, capacity } = this.pages[p];
      // Scored by the owner, from where it keeps them.
      if (columns === NO_VALUES) continue;
      scoreColumns(columns, steps, capacity, terms, scores.subarray(first, Math.min(size, first + capacity)));
    }
    return scores;
  }

  /** The vector of `slot`. */
  vector(slot: number): number[] {
    const { columns, steps, capacity, index } = this.place(slot);
    return slotVector(columns, steps, capacity, this.dims, index);
  }

  /** The vector of `slot` as float32 into `out` (a fresh array without it). */
  row(slot: number, out: Float32Array = new Float32Array(this.dims)): Float32Array {
    out.set(this.vector(slot));
    return out;
  }

  /** The dot product of `q` with the vector of `slot` (their cosine: both are unit length). */
  dot(slot: number, q: Float32Array): number {
    const { columns, steps, capacity, index } = this.place(slot);
    return dotSlot(columns, steps, capacity, index, q);
  }

  /** Slots first..first+count-1 into `rows`, row-major (slot `first` at 0). */
  readRows(first: number, count: number, rows: Float32Array): void {
    for (let done = 0; done < count; ) {
      const { columns, steps, capacity, index } = this.place(first + done);
      const n = Math.min(count - done, capacity - index);
      columnsToRows(columns, steps, capacity, index, n, this.dims, rows.subarray(done * this.dims));
      done += n;
    }
  }

  /** Slots first..first+count-1 into `out` as quantised rows (quantisedRowBytes(dims) each), as a base file holds them. */
  readQuantisedRows(first: number, count: number, out: Uint8Array): void {
    const rowBytes = quantisedRowBytes(this.dims);
    for (let done = 0; done < count; ) {
      const { columns, steps, capacity, index } = this.place(first + done);
      const n = Math.min(count - done, capacity - index);
      columnsToQuantisedRows(columns, steps, capacity, index, n, this.dims, out.subarray(done * rowBytes));
      done += n;
    }
  }

  /** The same vectors over the pages as they are now: growth and `clear` after this do not change its pages. */
  view(): PagedColumns {
    const view = new PagedColumns(this.dims, { pageSlots: this.pageSlots });
    view.pages = this.pages.slice();
    view.slots = this.slots;
    return view;
  }

  /** Drops every page. */
  clear(): void {
    this.pages = [];
    this.slots = 0;
  }

  private place(slot: number): SlotPlace {
    const page = Math.floor(slot / this.pageSlots);
    const { columns, steps, capacity } = this.pages[page];
    return { columns, steps, capacity, index: slot - page * this.pageSlots };
  }
}

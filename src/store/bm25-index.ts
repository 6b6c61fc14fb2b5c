// An in-memory Okapi BM25 inverted index over chunks, keyed by chunk id. Adds and removes are incremental:
// document count, total length and document frequencies stay exact, so scores after a remove equal those of
// an index built without the removed chunk. Postings live in a few flat typed arrays, not an object per term.
import { createHash } from "node:crypto";
import { searchTerms } from "../text/analysis.ts";
import { TopK } from "./top-k.ts";

export interface Bm25Options {
  /** Term-frequency saturation. */
  k1?: number;
  /** Length normalisation: 0 ignores chunk length, 1 normalises fully. */
  b?: number;
  /** Turns text into index terms; the query goes through the same function. */
  analyze?: (text: string) => string[];
}

export interface Bm25Hit {
  id: string;
  score: number;
}

/**
 * Measured on BEIR SciFact (train and test qrels): nDCG@10 moves by under 0.01 anywhere in k1 0.9-1.5 and
 * b 0.5-0.9, and no setting wins on both splits, so the classic values stay.
 */
export const DEFAULT_BM25_K1 = 1.2;
/** Analysed by `analysisFingerprint`: a change to any step of the analysis changes some of these terms. */
const ANALYSIS_SAMPLE =
  "The Running runners ran quickly; it's COVID-19 and IL-6/TNF-α in 2024's H1N1 studies. Naïve café " +
  "résumés, Straße, Ελληνικά, русский, 日本語のテキスト, 中文文本, and e-mail@example.org at 3.5mg/kg!";
export const DEFAULT_BM25_B = 0.75;

/** Lucene's non-negative idf: a term in most chunks still counts a little, never against. */
export function bm25Idf(documents: number, documentFrequency: number): number {
  return Math.log(1 + (documents - documentFrequency + 0.5) / (documentFrequency + 0.5));
}

/**
 * One query term's share of a chunk's score. Every BM25 index of Counsel (in process, in Redis) scores through
 * this, so that their rankings are identical to the last bit.
 */
export function bm25TermScore(
  idf: number,
  tf: number,
  length: number,
  averageLength: number,
  k1: number,
  b: number,
): number {
  return (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * length) / averageLength));
}

export type TfArray = Uint8Array | Uint16Array | Uint32Array;

/** `a` copied into an array of `length` (at least its own), of the same element type. */
function resized<T extends Int32Array | Int8Array | Float64Array | TfArray>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}

/** Room to grow by a quarter: appends stay amortised O(1), and a full array wastes at most a fifth. */
function grownLength(current: number, needed: number): number {
  return Math.max(needed, current + (current >> 2), 64);
}

// Up to this many removed chunks in one list are dropped by a bisection and a shift each; more, by one pass.
const FEW_REMOVED = 8;

// Block sizes step up by a half or a third (1, 2, 3, 4, 6, 8, 12, …), so that a growing list fills at least
// two thirds of its block, where doubling would leave it half empty.
const BLOCK_SIZES: number[] = [1];
for (let base = 1; base < 2 ** 30; base *= 2) BLOCK_SIZES.push(2 * base, 3 * base);

/** The size class of the smallest block that holds `n` postings. */
function classFor(n: number): number {
  let c = 0;
  while (BLOCK_SIZES[c] < n) c++;
  return c;
}

interface PostingListsImage {
  counters: { used: number; freeCells: number; freeHeads: number[]; postings: number };
  slots: Int32Array;
  tfs: TfArray;
  offset: Int32Array;
  length: Int32Array;
  sizeClass: Int8Array;
}

interface ChunkTermsImage {
  counters: { used: number; garbage: number };
  terms: Int32Array;
  offset: Int32Array;
  count: Int32Array;
}

/**
 * The index's whole state: what `Bm25Index.image` returns and `restore` takes back, so that a store saves its
 * index beside its data (bm25-file.ts) instead of analysing every text again at each start. Plain data: strings
 * and counters in `strings`, everything else in typed arrays.
 */
export interface Bm25Image {
  strings: {
    /** By slot (null: free). */
    ids: (string | null)[];
    /** By term id (null: free). */
    terms: (string | null)[];
    totalLength: number;
    adds: number;
    freeSlots: number[];
    freeTermIds: number[];
    lists: PostingListsImage["counters"];
    chunkTerms: ChunkTermsImage["counters"];
  };
  arrays: {
    lengths: Int32Array;
    addedAt: Float64Array;
    postingSlots: Int32Array;
    postingTfs: TfArray;
    termOffset: Int32Array;
    termLength: Int32Array;
    termSizeClass: Int8Array;
    chunkTermIds: Int32Array;
    chunkOffset: Int32Array;
    chunkCount: Int32Array;
  };
}

/**
 * Every term's posting list in two parallel arrays, chunk slot and term frequency (5 bytes a posting while
 * frequencies fit a byte), indexed by term id. A list occupies a block of cells and moves to the next size
 * of block when full; freed blocks are kept per size for the next list of that size, and the arrays are
 * rewritten without holes once over half of them is free.
 */
class PostingLists {
  slots: Int32Array = new Int32Array(1024);
  tfs: TfArray = new Uint8Array(1024);
  private maxTf = 0xff;
  /** By term id: the first cell of its list, its number of postings, its block's size class (-1: none). */
  offset: Int32Array = new Int32Array(64);
  length: Int32Array = new Int32Array(64);
  private sizeClass: Int8Array = new Int8Array(64).fill(-1);
  /** By term id, while removed chunks are being dropped: how many of them the list holds. */
  private removed: Int32Array = new Int32Array(64);
  /** Cells handed out from the start of the arrays, and how many of them are in free blocks. */
  private used = 0;
  private freeCells = 0;
  /** Per block size, the first free block; each free block holds the next one's offset in its first slot. */
  private readonly freeHeads: number[] = [];
  /** Postings held, including those of removed chunks not yet dropped. */
  postings = 0;

  /** Makes room for term ids below `n`. */
  reserveTerms(n: number): void {
    if (n <= this.offset.length) return;
    const size = grownLength(this.offset.length, n);
    this.offset = resized(this.offset, size);
    this.length = resized(this.length, size);
    const classes = new Int8Array(size).fill(-1);
    classes.set(this.sizeClass);
    this.sizeClass = classes;
    this.removed = resized(this.removed, size);
  }

  append(term: number, slot: number, tf: number): void {
    const length = this.length[term];
    const c = this.sizeClass[term];
    if (c < 0 || length === BLOCK_SIZES[c]) this.move(term, c + 1);
    if (tf > this.maxTf) this.widen(tf);
    const at = this.offset[term] + length;
    this.slots[at] = slot;
    this.tfs[at] = tf;
    this.length[term] = length + 1;
    this.postings++;
  }

  /** Counts one more removed chunk in `term`'s list; returns true for the first. */
  countRemoved(term: number): boolean {
    return this.removed[term]++ === 0;
  }

  /**
   * Drops `slot`'s posting from `term`'s list now if the list has few to drop: found by bisection, as a list is
   * in the order its chunks were added (`addedAt`, by slot), and the rest shifted down.
   */
  dropOne(term: number, slot: number, addedAt: Float64Array): void {
    if (this.removed[term] > FEW_REMOVED) return;
    const { slots } = this;
    const end = this.offset[term] + this.length[term];
    const key = addedAt[slot];
    let at = this.offset[term];
    for (let hi = end - 1; at < hi; ) {
      const mid = (at + hi) >>> 1;
      if (addedAt[slots[mid]] < key) at = mid + 1;
      else hi = mid;
    }
    slots.copyWithin(at, at + 1, end);
    this.tfs.copyWithin(at, at + 1, end);
    this.length[term]--;
    this.postings--;
  }

  /**
   * Finishes dropping removed chunks from `term`'s list: if it had many, in one pass that keeps the others in
   * order, skipping slots whose length is negative. Returns how many postings are left.
   */
  dropRest(term: number, lengths: Int32Array): number {
    const start = this.offset[term];
    let end = start + this.length[term];
    if (this.removed[term] > FEW_REMOVED) {
      const { slots, tfs } = this;
      let to = start;
      for (let from = start; from < end; from++) {
        const slot = slots[from];
        if (lengths[slot] < 0) continue;
        slots[to] = slot;
        tfs[to] = tfs[from];
        to++;
      }
      this.postings -= end - to;
      end = to;
    }
    this.removed[term] = 0;
    const left = end - start;
    this.length[term] = left;
    if (left === 0) {
      this.free(start, this.sizeClass[term]);
      this.sizeClass[term] = -1;
    } else if (left * 4 <= BLOCK_SIZES[this.sizeClass[term]]) this.move(term, classFor(left));
    return left;
  }

  /** Rewrites the arrays without free blocks when they are over half free. */
  defragment(): void {
    if (this.freeCells * 2 <= this.used || this.used < 4096) return;
    const live = this.used - this.freeCells;
    const slots = new Int32Array(grownLength(live, live));
    const tfs = new (this.tfs.constructor as new (n: number) => TfArray)(slots.length);
    let at = 0;
    for (let term = 0; term < this.sizeClass.length; term++) {
      const c = this.sizeClass[term];
      if (c < 0) continue;
      const start = this.offset[term];
      const end = start + this.length[term];
      slots.set(this.slots.subarray(start, end), at);
      tfs.set(this.tfs.subarray(start, end), at);
      this.offset[term] = at;
      at += BLOCK_SIZES[c];
    }
    this.slots = slots;
    this.tfs = tfs;
    this.used = at;
    this.freeCells = 0;
    this.freeHeads.length = 0;
  }

  /** Moves `term`'s list to a block of size class `c`. */
  private move(term: number, c: number): void {
    const to = this.allocate(c);
    const old = this.sizeClass[term];
    if (old >= 0) {
      const from = this.offset[term];
      const end = from + this.length[term];
      this.slots.copyWithin(to, from, end);
      this.tfs.copyWithin(to, from, end);
      this.free(from, old);
    }
    this.offset[term] = to;
    this.sizeClass[term] = c;
  }

  private allocate(c: number): number {
    const head = this.freeHeads[c] ?? -1;
    if (head >= 0) {
      this.freeHeads[c] = this.slots[head];
      this.freeCells -= BLOCK_SIZES[c];
      return head;
    }
    const at = this.used;
    this.used += BLOCK_SIZES[c];
    if (this.used > this.slots.length) {
      const size = grownLength(this.slots.length, this.used);
      this.slots = resized(this.slots, size);
      this.tfs = resized(this.tfs, size);
    }
    return at;
  }

  private free(at: number, c: number): void {
    this.slots[at] = this.freeHeads[c] ?? -1;
    this.freeHeads[c] = at;
    this.freeCells += BLOCK_SIZES[c];
  }

  /** The lists as they are (no chunk being dropped): counters, and copies of the arrays' used parts. */
  image(terms: number): PostingListsImage {
    return {
      counters: {
        used: this.used,
        freeCells: this.freeCells,
        freeHeads: this.freeHeads.map((head) => head ?? -1),
        postings: this.postings,
      },
      slots: this.slots.slice(0, this.used),
      tfs: this.tfs.slice(0, this.used),
      offset: this.offset.slice(0, terms),
      length: this.length.slice(0, terms),
      sizeClass: this.sizeClass.slice(0, terms),
    };
  }

  /** Lists as `image` took them (its arrays are kept, not copied). */
  static fromImage(image: PostingListsImage): PostingLists {
    const lists = new PostingLists();
    const { counters } = image;
    lists.slots = image.slots;
    lists.tfs = image.tfs;
    lists.maxTf =
      image.tfs instanceof Uint8Array ? 0xff : image.tfs instanceof Uint16Array ? 0xffff : 0xffffffff;
    lists.offset = image.offset;
    lists.length = image.length;
    lists.sizeClass = image.sizeClass;
    lists.removed = new Int32Array(image.offset.length);
    lists.used = counters.used;
    lists.freeCells = counters.freeCells;
    lists.freeHeads.push(...counters.freeHeads);
    lists.postings = counters.postings;
    return lists;
  }

  /** Frequencies take a byte until a chunk repeats a term more often than that. */
  private widen(tf: number): void {
    const tfs = tf > 0xffff ? new Uint32Array(this.tfs.length) : new Uint16Array(this.tfs.length);
    tfs.set(this.tfs);
    this.tfs = tfs;
    this.maxTf = tf > 0xffff ? 0xffffffff : 0xffff;
  }
}

/**
 * Each chunk's distinct term ids, to find its postings again when it is removed: one array, a run per slot,
 * appended at the end and rewritten without the runs of removed chunks once they are half of it.
 */
class ChunkTerms {
  terms: Int32Array = new Int32Array(1024);
  /** By slot: where its run starts, and its length. */
  offset: Int32Array = new Int32Array(64);
  count: Int32Array = new Int32Array(64);
  private used = 0;
  private garbage = 0;

  /** Room for `n` term ids of `slot`; returns where to write them. */
  reserve(slot: number, n: number): number {
    if (slot >= this.offset.length) {
      const size = grownLength(this.offset.length, slot + 1);
      this.offset = resized(this.offset, size);
      this.count = resized(this.count, size);
    }
    if (this.used + n > this.terms.length) {
      if (this.garbage * 2 > this.used) this.compact(n);
      else this.terms = resized(this.terms, grownLength(this.terms.length, this.used + n));
    }
    const at = this.used;
    this.used += n;
    this.offset[slot] = at;
    this.count[slot] = n;
    return at;
  }

  /** Counters and copies of the arrays' used parts, for `slots` slots. */
  image(slots: number): ChunkTermsImage {
    return {
      counters: { used: this.used, garbage: this.garbage },
      terms: this.terms.slice(0, this.used),
      offset: this.offset.slice(0, slots),
      count: this.count.slice(0, slots),
    };
  }

  static fromImage(image: ChunkTermsImage): ChunkTerms {
    const chunkTerms = new ChunkTerms();
    chunkTerms.terms = image.terms;
    chunkTerms.offset = image.offset;
    chunkTerms.count = image.count;
    chunkTerms.used = image.counters.used;
    chunkTerms.garbage = image.counters.garbage;
    return chunkTerms;
  }

  release(slot: number): void {
    this.garbage += this.count[slot];
    this.count[slot] = 0;
  }

  /** Rewrites the array without released runs, with room for `extra` more ids. */
  private compact(extra: number): void {
    const live = this.used - this.garbage;
    const terms = new Int32Array(grownLength(live, live + extra));
    let at = 0;
    for (let slot = 0; slot < this.offset.length; slot++) {
      const n = this.count[slot];
      if (n === 0) continue;
      const start = this.offset[slot];
      terms.set(this.terms.subarray(start, start + n), at);
      this.offset[slot] = at;
      at += n;
    }
    this.terms = terms;
    this.used = at;
    this.garbage = 0;
  }
}

export class Bm25Index {
  readonly k1: number;
  readonly b: number;
  private readonly analyze: (text: string) => string[];

  // Chunks live in numbered slots so that postings hold small integers; freed slots are reused.
  private readonly slotOf = new Map<string, number>();
  private ids: (string | undefined)[] = [];
  /** Token count by slot; -1 marks a removed chunk whose postings have not been dropped yet. */
  private lengths: Int32Array = new Int32Array(64);
  /** By slot, the number of the add that filled it: postings are appended, so each list is in this order. */
  private addedAt: Float64Array = new Float64Array(64);
  private adds = 0;
  private readonly freeSlots: number[] = [];
  private totalLength = 0;

  // Terms are numbered too: `terms[id]` is the term, and posting lists are found by id.
  private readonly termIds = new Map<string, number>();
  private terms: (string | undefined)[] = [];
  private readonly freeTermIds: number[] = [];
  private lists = new PostingLists();
  private chunkTerms = new ChunkTerms();

  // A remove only marks its slot (and counts it out of the statistics). Its postings are dropped before the next
  // search, all removes together, so that re-ingesting a document scans each common term's list once rather than
  // once per chunk; its slot is reused after that.
  private readonly removed: number[] = [];
  private removedPostings = 0;

  // Scratch accumulator reused across queries; `touched` lists the slots to read back and reset.
  private scratch = new Float64Array(0);

  constructor(options: Bm25Options = {}) {
    this.k1 = options.k1 ?? DEFAULT_BM25_K1;
    this.b = options.b ?? DEFAULT_BM25_B;
    this.analyze = options.analyze ?? searchTerms;
  }

  get size(): number {
    return this.slotOf.size;
  }

  get averageLength(): number {
    return this.slotOf.size === 0 ? 0 : this.totalLength / this.slotOf.size;
  }

  has(id: string): boolean {
    return this.slotOf.has(id);
  }

  /** Document frequency of an already analysed term. */
  documentFrequency(term: string): number {
    this.dropRemoved();
    const id = this.termIds.get(term);
    return id === undefined ? 0 : this.lists.length[id];
  }

  /** Indexes `text` under `id`, replacing what `id` held before. */
  add(id: string, text: string): void {
    this.remove(id);
    const tokens = this.analyze(text);
    const tf = new Map<string, number>();
    for (const t of tokens) tf.set(t, (tf.get(t) ?? 0) + 1);

    const slot = this.freeSlots.pop() ?? this.ids.length;
    if (slot >= this.lengths.length) {
      this.lengths = resized(this.lengths, grownLength(this.lengths.length, slot + 1));
      this.addedAt = resized(this.addedAt, this.lengths.length);
    }
    this.ids[slot] = id;
    this.lengths[slot] = tokens.length;
    this.addedAt[slot] = this.adds++;
    this.slotOf.set(id, slot);
    this.totalLength += tokens.length;
    let at = this.chunkTerms.reserve(slot, tf.size);
    const { lists } = this;
    for (const [term, count] of tf) {
      const termId = this.termIds.get(term) ?? this.newTerm(term);
      lists.append(termId, slot, count);
      this.chunkTerms.terms[at++] = termId;
    }
  }

  /** Removes `id`; returns whether it was there. */
  remove(id: string): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    this.totalLength -= this.lengths[slot];
    this.slotOf.delete(id);
    this.ids[slot] = undefined;
    this.lengths[slot] = -1;
    this.removed.push(slot);
    this.removedPostings += this.chunkTerms.count[slot];
    // Dead postings are bounded to a fraction of the lists, which also keeps each pass amortised.
    if (this.removedPostings * 4 > this.lists.postings) this.dropRemoved();
    return true;
  }

  clear(): void {
    this.slotOf.clear();
    this.ids = [];
    this.lengths = new Int32Array(64);
    this.addedAt = new Float64Array(64);
    this.freeSlots.length = 0;
    this.totalLength = 0;
    this.termIds.clear();
    this.terms = [];
    this.freeTermIds.length = 0;
    this.lists = new PostingLists();
    this.chunkTerms = new ChunkTerms();
    this.removed.length = 0;
    this.removedPostings = 0;
  }

  /**
   * The whole index as plain data (the arrays copied: the index may change while the image is written). Chunks
   * removed since the last search are dropped first, so an image never holds them.
   */
  image(): Bm25Image {
    this.dropRemoved();
    const slots = this.ids.length;
    const terms = this.terms.length;
    const lists = this.lists.image(terms);
    const chunkTerms = this.chunkTerms.image(slots);
    return {
      strings: {
        ids: Array.from(this.ids, (id) => id ?? null),
        terms: Array.from(this.terms, (term) => term ?? null),
        totalLength: this.totalLength,
        adds: this.adds,
        freeSlots: this.freeSlots.slice(),
        freeTermIds: this.freeTermIds.slice(),
        lists: lists.counters,
        chunkTerms: chunkTerms.counters,
      },
      arrays: {
        lengths: this.lengths.slice(0, slots),
        addedAt: this.addedAt.slice(0, slots),
        postingSlots: lists.slots,
        postingTfs: lists.tfs,
        termOffset: lists.offset,
        termLength: lists.length,
        termSizeClass: lists.sizeClass,
        chunkTermIds: chunkTerms.terms,
        chunkOffset: chunkTerms.offset,
        chunkCount: chunkTerms.count,
      },
    };
  }

  /**
   * Replaces the index's contents with an image `image()` took (its arrays are kept, not copied). The image must
   * come from an index with the same analysis (see `analysisFingerprint`): its terms are not analysed again.
   */
  restore(image: Bm25Image): void {
    const { strings, arrays } = image;
    this.clear();
    this.ids = strings.ids.map((id) => id ?? undefined);
    this.terms = strings.terms.map((term) => term ?? undefined);
    for (let slot = 0; slot < strings.ids.length; slot++) {
      const id = strings.ids[slot];
      if (id !== null) this.slotOf.set(id, slot);
    }
    for (let termId = 0; termId < strings.terms.length; termId++) {
      const term = strings.terms[termId];
      if (term !== null) this.termIds.set(term, termId);
    }
    this.lengths = arrays.lengths;
    this.addedAt = arrays.addedAt;
    this.adds = strings.adds;
    this.totalLength = strings.totalLength;
    this.freeSlots.push(...strings.freeSlots);
    this.freeTermIds.push(...strings.freeTermIds);
    this.lists = PostingLists.fromImage({
      counters: strings.lists,
      slots: arrays.postingSlots,
      tfs: arrays.postingTfs,
      offset: arrays.termOffset,
      length: arrays.termLength,
      sizeClass: arrays.termSizeClass,
    });
    this.chunkTerms = ChunkTerms.fromImage({
      counters: strings.chunkTerms,
      terms: arrays.chunkTermIds,
      offset: arrays.chunkOffset,
      count: arrays.chunkCount,
    });
  }

  /**
   * Names what `analyze` does: the terms it makes of a sample covering stop words, stemming, letters mixed with
   * digits, accents and other scripts. An image saved under another fingerprint (the analysis changed in a new
   * release, or another analyser is configured) is not restored but rebuilt from the texts.
   */
  analysisFingerprint(): string {
    return createHash("sha256")
      .update(JSON.stringify(this.analyze(ANALYSIS_SAMPLE)))
      .digest("hex")
      .slice(0, 16);
  }

  /**
   * The k best chunks for `query`, best first. `allow` restricts the result (e.g. a metadata filter); it is
   * asked only about chunks that match at least one query term, best scores first, until k are accepted.
   */
  search(query: string, k: number, allow?: (id: string) => boolean): Bm25Hit[] {
    const n = this.slotOf.size;
    if (n === 0 || k <= 0) return [];
    const queryTf = new Map<string, number>();
    for (const t of this.analyze(query)) queryTf.set(t, (queryTf.get(t) ?? 0) + 1);
    if (queryTf.size === 0) return [];
    this.dropRemoved();

    if (this.scratch.length < this.ids.length)
      this.scratch = new Float64Array(Math.max(this.ids.length, 1024) * 2);
    const acc = this.scratch;
    const touched: number[] = [];
    const avg = this.totalLength / n || 1;
    const { k1, b, lengths } = this;
    const { slots, tfs, offset, length } = this.lists;

    for (const [term, qtf] of queryTf) {
      const termId = this.termIds.get(term);
      if (termId === undefined) continue;
      const df = length[termId];
      const idf = bm25Idf(n, df) * qtf;
      // Postings are in the order their chunks were added, as ties at the cut-off go to the first seen.
      for (let i = offset[termId], end = i + df; i < end; i++) {
        const slot = slots[i];
        if (acc[slot] === 0) touched.push(slot);
        acc[slot] += bm25TermScore(idf, tfs[i], lengths[slot], avg, k1, b);
      }
    }

    // Without a filter the heap sees every candidate once; with one, candidates are checked best first so a
    // costly predicate runs only as often as needed.
    if (!allow) {
      const heap = new TopK<number>(k);
      for (const slot of touched) {
        heap.push(slot, acc[slot]);
        acc[slot] = 0;
      }
      return heap.take().map(({ item, score }) => ({ id: this.ids[item] as string, score }));
    }
    const all = new TopK<number>(touched.length);
    for (const slot of touched) {
      all.push(slot, acc[slot]);
      acc[slot] = 0;
    }
    const out: Bm25Hit[] = [];
    for (const { item, score } of all.take()) {
      const id = this.ids[item] as string;
      if (!allow(id)) continue;
      out.push({ id, score });
      if (out.length >= k) break;
    }
    return out;
  }

  private newTerm(term: string): number {
    const id = this.freeTermIds.pop() ?? this.terms.length;
    this.terms[id] = term;
    this.termIds.set(term, id);
    this.lists.reserveTerms(id + 1);
    return id;
  }

  /** Drops the postings of removed chunks from the lists they were in, frees their slots and emptied terms. */
  private dropRemoved(): void {
    if (this.removed.length === 0) return;
    const { lists, chunkTerms, lengths } = this;
    const touched: number[] = [];
    for (const slot of this.removed) {
      for (let i = chunkTerms.offset[slot], end = i + chunkTerms.count[slot]; i < end; i++) {
        const termId = chunkTerms.terms[i];
        if (lists.countRemoved(termId)) touched.push(termId);
      }
    }
    for (const slot of this.removed) {
      for (let i = chunkTerms.offset[slot], end = i + chunkTerms.count[slot]; i < end; i++) {
        lists.dropOne(chunkTerms.terms[i], slot, this.addedAt);
      }
    }
    for (const termId of touched) {
      if (lists.dropRest(termId, lengths) > 0) continue;
      this.termIds.delete(this.terms[termId] as string);
      this.terms[termId] = undefined;
      this.freeTermIds.push(termId);
    }
    for (const slot of this.removed) {
      chunkTerms.release(slot);
      lengths[slot] = 0;
      this.freeSlots.push(slot);
    }
    this.removed.length = 0;
    this.removedPostings = 0;
    lists.defragment();
  }
}

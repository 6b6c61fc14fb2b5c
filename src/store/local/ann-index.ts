// An approximate nearest-neighbour index over the local store's vectors, for dense embeddings at scale: usearch's
// HNSW graph over quantised copies, which only proposes candidates; the store ranks them by its own vectors.
// Dense vectors (every component non-zero: what embedding models give) are kept as one bit a component, their
// signs, compared by Hamming distance: 128 bytes for 1,024 dimensions instead of 1,024 in int8, and a graph built
// several times faster. The signs find the neighbours (recall@10 0.971 at a million chunks of the bench's
// synthetic corpus, ef 512, once 100 candidates are ranked exactly) but cannot rank them, so more candidates are
// asked for. Sparse vectors (the offline hashed embeddings, whose short queries are mostly zeros, which have no
// sign) keep int8, compared by cosine: too little of a unit vector's 1,024 components (each about ±0.03 on a ±1
// scale) to rank by, enough to find candidates. Written by hand around usearch because nothing in LangChain keeps
// an HNSW index in step with a store whose chunks are upserted, deleted and moved between slots.
//
// The index follows the store's slots without ever blocking the event loop for long: a written vector is
// "pending" (found by an exact scan of the pending slots) until a background step, a few milliseconds at a time,
// inserts it into the graph. A moved vector keeps its graph entry (only the key's slot changes); a replaced or
// deleted one is removed from the graph at once.
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";

type UsearchModule = typeof import("usearch-v2");
type UsearchIndex = InstanceType<UsearchModule["Index"]>;

/** How the graph keeps its copies: `b1` signs (dense vectors), `i8` int8 values (sparse ones). */
export type GraphQuantisation = "b1" | "i8";

export interface AnnIndexOptions {
  /** How the graph keeps its copies of the vectors. Default `i8`; the store chooses by the vectors' density. */
  quantisation?: GraphQuantisation;
  /** Graph edges per node (HNSW's M). Default 16. */
  connectivity?: number;
  /** Candidates kept while inserting (efConstruction). Default 128. */
  expansionAdd?: number;
  /**
   * Candidates kept while searching (ef). Default 256 for int8 (recall@10 0.910 at ef 128 on a million chunks),
   * 512 for signs (0.952 at 256, 0.971 at 512 and at 1,024).
   */
  expansionSearch?: number;
  /** How long one background step inserts before yielding to the event loop, in ms. Default 5. */
  stepMs?: number;
  /**
   * Threads inserting a batch of pending vectors into the graph. Default: the machine's cores (a graph of
   * signs builds 2.2 times as fast on two as one at a time).
   */
  insertThreads?: number;
  /** Called whenever the graph has caught up (nothing pending any more) after inserting vectors. */
  onCaughtUp?: () => void;
}

/** A graph saved by `save`: what `AnnIndex.restore` needs besides the graph's file. */
export interface SavedGraphState {
  dims: number;
  connectivity: number;
  quantisation: GraphQuantisation;
  /** Every vector in the graph: its key, and the slot it held when saved. */
  keys: number[];
  slots: number[];
  nextKey: number;
  tombstones: number;
}

/** The store's side of the bargain: the current float32 vector of a slot (written into `out` when given). */
export type SlotVectors = (slot: number, out?: Float32Array) => Float32Array;

/** Nodes a graph gets one at a time before batches go in on several threads. */
const SERIAL_FIRST_NODES = 256;

/** Most vectors one native call inserts: the batch grows to fill a step, never past this. */
const MAX_BATCH = 256;

let usearch: UsearchModule | undefined;
/** usearch is a native addon: loaded on the first index, so that a store without one never maps it. */
function loadUsearch(): UsearchModule {
  usearch ??= createRequire(import.meta.url)("usearch-v2") as UsearchModule;
  return usearch;
}

/**
 * @example
 * const ann = new AnnIndex(1024, (slot) => columns.row(slot));
 * ann.written([0, 1]);           // after the store wrote slots 0 and 1
 * ann.candidates(query, 40);     // slots worth ranking exactly: graph hits and every pending slot
 */
export class AnnIndex {
  private index: UsearchIndex;
  private readonly config: ConstructorParameters<UsearchModule["Index"]>[0];
  private readonly stepMs: number;
  private readonly insertThreads: number;
  /** Vectors a native call inserts: adapted so that one call takes about a step (inserts slow as the graph grows). */
  private batch = 1;
  /** Threads usearch last grew the graph for (unknown for a graph read from a file: one). */
  private threadsReserved: number;
  private readonly connectivity: number;
  readonly quantisation: GraphQuantisation;
  private readonly onCaughtUp?: () => void;
  /** Vectors removed from the graph since it was built: usearch only marks them, and they still cost. */
  private tombstones = 0;
  /** Graph key of each slot's vector (keys start at 1; 0: not in the graph). Keys are never reused. */
  private keyOfSlot = new Float64Array(1024);
  private readonly slotOfKey = new Map<number, number>();
  private nextKey = 1;
  /** 1 for a slot whose current vector is not in the graph yet; `queue` lists them (with stale entries). */
  private pendingFlag = new Uint8Array(1024);
  private queue: number[] = [];
  private pending = 0;
  private timer?: NodeJS.Timeout;
  private idleWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  /** Why the graph stopped growing, if an insert failed. */
  private failure?: Error;
  /** Vectors inserted since the graph was built, restored or last saved. */
  private inserted = 0;

  constructor(
    readonly dims: number,
    private readonly vectorOf: SlotVectors,
    options: AnnIndexOptions = {},
  ) {
    const { Index, MetricKind, ScalarKind } = loadUsearch();
    this.connectivity = options.connectivity ?? 16;
    this.quantisation = options.quantisation ?? "i8";
    const signs = this.quantisation === "b1";
    this.config = {
      metric: signs ? MetricKind.Hamming : MetricKind.Cos,
      dimensions: dims,
      connectivity: this.connectivity,
      quantization: signs ? ScalarKind.B1 : ScalarKind.I8,
      expansion_add: options.expansionAdd ?? 128,
      expansion_search: options.expansionSearch ?? (signs ? 512 : 256),
      multi: false,
    };
    this.index = new Index(this.config);
    this.stepMs = options.stepMs ?? 5;
    this.insertThreads = Math.max(1, options.insertThreads ?? availableParallelism());
    this.threadsReserved = this.insertThreads;
    this.onCaughtUp = options.onCaughtUp;
  }

  /**
   * How many candidates to ask `candidates` for, for the k best: twice k, and at least 100 for signs (which find
   * the neighbours but rank them coarsely: recall@10 0.86 from 40 at a million chunks), 40 for int8.
   */
  candidateCount(k: number): number {
    return Math.max(this.quantisation === "b1" ? 100 : 40, 2 * k);
  }

  /** Vectors in the graph. */
  get indexed(): number {
    return this.slotOfKey.size;
  }

  /** Vectors removed from the graph since it was (re)built, which it still carries. */
  get removed(): number {
    return this.tombstones;
  }

  /** Slots whose current vector is waiting to be inserted. */
  get pendingCount(): number {
    return this.pending;
  }

  /** Vectors inserted since the graph was last saved (or restored): what a restart would insert again. */
  get insertedSinceSave(): number {
    return this.inserted;
  }

  /**
   * Writes the graph to `file` (usearch's own format; synchronous: a few hundred ms for 100,000 vectors of 1,024
   * dimensions, in native code) and returns what `restore` needs with it. Pending slots are not in it.
   */
  save(file: string): SavedGraphState {
    this.index.save(file);
    this.inserted = 0;
    const keys: number[] = [];
    const slots: number[] = [];
    for (const [key, slot] of this.slotOfKey) {
      keys.push(key);
      slots.push(slot);
    }
    const { dims, nextKey, tombstones, quantisation } = this;
    return { dims, connectivity: this.connectivity, quantisation, keys, slots, nextKey, tombstones };
  }

  /**
   * The graph saved in `file`, for a store of `slotCount` slots: `slotOfKey` says where each saved key's vector
   * is now, or undefined when it is not there any more (its chunk deleted or changed since): those leave the
   * graph. Every slot no key lands in is pending, inserted in the background as after `written`.
   */
  static restore(
    file: string,
    saved: Omit<SavedGraphState, "slots">,
    slotOfKey: (key: number, index: number) => number | undefined,
    slotCount: number,
    vectorOf: SlotVectors,
    options: AnnIndexOptions = {},
  ): AnnIndex {
    const ann = new AnnIndex(saved.dims, vectorOf, {
      ...options,
      connectivity: saved.connectivity,
      quantisation: saved.quantisation,
    });
    ann.index.load(file);
    ann.threadsReserved = 1;
    ann.nextKey = saved.nextKey;
    ann.tombstones = saved.tombstones;
    ann.grow(Math.max(slotCount - 1, 0));
    for (let i = 0; i < saved.keys.length; i++) {
      const key = saved.keys[i];
      const slot = slotOfKey(key, i);
      if (slot === undefined || slot >= slotCount || ann.keyOfSlot[slot] !== 0) {
        ann.index.remove(BigInt(key));
        ann.tombstones++;
        continue;
      }
      ann.keyOfSlot[slot] = key;
      ann.slotOfKey.set(key, slot);
    }
    const missing: number[] = [];
    for (let slot = 0; slot < slotCount; slot++) if (ann.keyOfSlot[slot] === 0) missing.push(slot);
    ann.written(missing);
    ann.inserted = 0;
    return ann;
  }

  /** The store wrote new vectors into these slots (new chunks or replaced ones). */
  written(slots: Iterable<number>): void {
    for (const slot of slots) {
      this.forget(slot);
      this.grow(slot);
      this.pendingFlag[slot] = 1;
      this.pending++;
      this.queue.push(slot);
    }
    this.rebuildIfWorn();
    this.schedule();
  }

  /** The vector in `slot` is gone (its chunk deleted, or about to be overwritten by a move). */
  drop(slot: number): void {
    this.forget(slot);
    this.rebuildIfWorn();
    this.schedule();
  }

  private forget(slot: number): void {
    if (slot >= this.keyOfSlot.length) return;
    const key = this.keyOfSlot[slot];
    if (key > 0) {
      this.index.remove(BigInt(key));
      this.slotOfKey.delete(key);
      this.keyOfSlot[slot] = 0;
      this.tombstones++;
    }
    if (this.pendingFlag[slot] === 1) {
      this.pendingFlag[slot] = 0;
      this.pending--;
    }
  }

  /** The vector in slot `from` now lives in slot `to` (whose own vector was dropped first). */
  move(from: number, to: number): void {
    this.grow(to);
    const key = this.keyOfSlot[from];
    this.keyOfSlot[to] = key;
    this.keyOfSlot[from] = 0;
    if (key > 0) this.slotOfKey.set(key, to);
    if (this.pendingFlag[from] === 1) {
      this.pendingFlag[from] = 0;
      this.pendingFlag[to] = 1;
      this.queue.push(to);
    }
  }

  /** Stops inserting (the store closed): what is pending stays so, and whoever waits for the graph is told. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.failure ??= new Error("The store closed before its graph took in every vector.");
    for (const waiter of this.idleWaiters.splice(0)) waiter.reject(this.failure);
  }

  /** Forget everything (the store was emptied). */
  clear(): void {
    this.index = new (loadUsearch().Index)(this.config);
    this.failure = undefined;
    this.batch = 1;
    this.tombstones = 0;
    this.slotOfKey.clear();
    this.keyOfSlot.fill(0);
    this.pendingFlag.fill(0);
    this.queue = [];
    this.pending = 0;
  }

  /**
   * A new graph of the live vectors, once removed ones outnumber them (a store whose documents are re-ingested
   * again and again): every live slot is pending again, and searched exactly until re-inserted.
   */
  private rebuildIfWorn(): void {
    if (this.tombstones < Math.max(1000, this.slotOfKey.size)) return;
    const live = [...this.slotOfKey.values()];
    this.index = new (loadUsearch().Index)(this.config);
    this.batch = 1;
    this.tombstones = 0;
    this.slotOfKey.clear();
    for (const slot of live) {
      this.keyOfSlot[slot] = 0;
      this.pendingFlag[slot] = 1;
      this.queue.push(slot);
    }
    this.pending += live.length;
  }

  /**
   * Slots worth ranking exactly for `query` (unit length): the graph's `count` nearest, then every pending slot.
   * The caller ranks them by their float32 vectors; a slot may appear once only.
   */
  candidates(query: Float32Array, count: number): number[] {
    const out: number[] = [];
    if (this.slotOfKey.size > 0) {
      const found = this.index.search(query, Math.min(count, this.slotOfKey.size), 1);
      for (const key of found.keys) {
        const slot = this.slotOfKey.get(Number(key));
        if (slot !== undefined) out.push(slot);
      }
    }
    if (this.pending > 0) {
      for (const slot of this.pendingSlots()) out.push(slot);
    }
    return out;
  }

  /** Resolves once nothing is pending; rejects if the graph stopped growing on an error. */
  whenIndexed(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    // Someone waits for the graph: the process must stay up until it is whole.
    this.timer?.ref();
    return new Promise((resolve, reject) => this.idleWaiters.push({ resolve, reject }));
  }

  /** The pending slots, each once: the queue compacted to the slots still flagged. */
  private pendingSlots(): number[] {
    const seen = new Set<number>();
    const live: number[] = [];
    for (const slot of this.queue) {
      if (this.pendingFlag[slot] === 1 && !seen.has(slot)) {
        seen.add(slot);
        live.push(slot);
      }
    }
    this.queue = live;
    return live;
  }

  private schedule(): void {
    if (this.timer || this.pending === 0 || this.failure) return;
    // A timer rather than setImmediate: unref'd (unless someone waits in whenIndexed), so that indexing never
    // keeps a process alive that has nothing else to do, and (unlike an unref'd immediate) still waking the
    // loop's poll within a millisecond.
    this.timer = setTimeout(() => this.step(), 0);
    if (this.idleWaiters.length === 0) this.timer.unref();
  }

  /**
   * Inserts pending vectors for about `stepMs`, then yields; continues until none is pending. Vectors go in by
   * batches, on `insertThreads` threads (the event loop waits for the native call, so a batch is sized to take
   * about a step).
   */
  private step(): void {
    this.timer = undefined;
    const until = performance.now() + this.stepMs;
    while (performance.now() < until) {
      const slots = this.nextPending(this.batch);
      if (slots.length === 0) break;
      const started = performance.now();
      try {
        this.insert(slots);
      } catch (error) {
        this.fail(slots, error as Error);
        return;
      }
      const perVector = (performance.now() - started) / slots.length;
      // Doubles at most per call: the first inserts into a small graph cost next to nothing.
      this.batch = Math.max(1, Math.min(MAX_BATCH, 2 * this.batch, Math.floor(this.stepMs / perVector)));
    }
    if (this.pending > 0 && this.queue.length > 0) {
      this.schedule();
      return;
    }
    for (const waiter of this.idleWaiters.splice(0)) waiter.resolve();
    this.onCaughtUp?.();
  }

  /**
   * An insert failed (a vector unreadable from the base file, usearch out of memory): the graph stops growing,
   * rather than the process ending on an error thrown from a timer. Its pending slots are still searched exactly.
   */
  private fail(slots: number[], error: Error): void {
    for (const slot of slots) {
      this.pendingFlag[slot] = 1;
      this.queue.push(slot);
    }
    this.failure = error;
    process.emitWarning(`The vector index stopped growing: ${error.message}`, {
      code: "COUNSEL_STORE_INDEX_FAILED",
    });
    for (const waiter of this.idleWaiters.splice(0)) waiter.reject(error);
  }

  /** Up to `count` slots still pending, taken off the queue. */
  private nextPending(count: number): number[] {
    const slots: number[] = [];
    while (slots.length < count && this.queue.length > 0) {
      const slot = this.queue.pop() as number;
      if (this.pendingFlag[slot] !== 1) continue;
      // Taken: a slot queued twice is inserted once.
      this.pendingFlag[slot] = 0;
      slots.push(slot);
    }
    return slots;
  }

  private insert(slots: number[]): void {
    const dims = this.dims;
    const firstKey = this.nextKey;
    this.nextKey += slots.length;
    const keys = new BigUint64Array(slots.length);
    const rows = new Float32Array(slots.length * dims);
    for (let i = 0; i < slots.length; i++) {
      keys[i] = BigInt(firstKey + i);
      this.vectorOf(slots[i], rows.subarray(i * dims, (i + 1) * dims));
    }
    // usearch sizes its per-thread buffers when a call makes it grow, for that call's threads, and refuses a
    // later call with more. A graph's first nodes go in one thread at a time: inserted side by side into a nearly
    // empty graph, they can miss each other and leave a node no search reaches.
    const grows = this.index.size() + slots.length >= this.index.capacity();
    const threads =
      this.index.size() < SERIAL_FIRST_NODES ? 1 : grows ? this.insertThreads : this.threadsReserved;
    if (grows) this.threadsReserved = threads;
    this.index.add(keys, rows, threads);
    for (let i = 0; i < slots.length; i++) {
      this.keyOfSlot[slots[i]] = firstKey + i;
      this.slotOfKey.set(firstKey + i, slots[i]);
    }
    this.pending -= slots.length;
    this.inserted += slots.length;
  }

  private grow(slot: number): void {
    if (slot < this.keyOfSlot.length) return;
    let size = this.keyOfSlot.length;
    while (size <= slot) size *= 2;
    const keys = new Float64Array(size);
    keys.set(this.keyOfSlot);
    this.keyOfSlot = keys;
    const flags = new Uint8Array(size);
    flags.set(this.pendingFlag);
    this.pendingFlag = flags;
  }
}

// Keeps the k best of a stream of scored items in a binary min-heap: O(n log k) instead of sorting all n
// candidates, which matters when a query scores every chunk in the store.

export interface Ranked<T> {
  item: T;
  score: number;
}

/** A bounded collector: push candidates, then take the k best, best first. */
export class TopK<T> {
  private readonly items: T[] = [];
  private readonly scores: number[] = [];

  constructor(readonly k: number) {}

  get size(): number {
    return this.items.length;
  }

  /** The score a candidate must beat to enter; -Infinity until k items are held. */
  get threshold(): number {
    return this.items.length < this.k ? Number.NEGATIVE_INFINITY : this.scores[0];
  }

  push(item: T, score: number): void {
    if (this.k <= 0 || Number.isNaN(score)) return;
    if (this.items.length < this.k) {
      this.items.push(item);
      this.scores.push(score);
      this.siftUp(this.items.length - 1);
      return;
    }
    // A tie does not displace a held candidate: at the cut-off the first seen wins, deterministically.
    if (score <= this.scores[0]) return;
    this.items[0] = item;
    this.scores[0] = score;
    this.siftDown(0);
  }

  /** The held items, best first; the collector is left empty. */
  take(): Ranked<T>[] {
    const out: Ranked<T>[] = new Array(this.items.length);
    for (let i = this.items.length - 1; i >= 0; i--) {
      out[i] = { item: this.items[0], score: this.scores[0] };
      const lastItem = this.items.pop() as T;
      const lastScore = this.scores.pop() as number;
      if (i > 0) {
        this.items[0] = lastItem;
        this.scores[0] = lastScore;
        this.siftDown(0);
      }
    }
    return out;
  }

  private siftUp(i: number): void {
    const { items, scores } = this;
    const item = items[i];
    const score = scores[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (scores[parent] <= score) break;
      items[i] = items[parent];
      scores[i] = scores[parent];
      i = parent;
    }
    items[i] = item;
    scores[i] = score;
  }

  private siftDown(i: number): void {
    const { items, scores } = this;
    const n = items.length;
    const item = items[i];
    const score = scores[i];
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && scores[child + 1] < scores[child]) child += 1;
      if (scores[child] >= score) break;
      items[i] = items[child];
      scores[i] = scores[child];
      i = child;
    }
    items[i] = item;
    scores[i] = score;
  }
}

/** The k best of `items` by `score`, best first; items scored NaN are skipped. */
export function topK<T>(items: Iterable<T>, k: number, score: (item: T) => number): Ranked<T>[] {
  const heap = new TopK<T>(k);
  for (const item of items) heap.push(item, score(item));
  return heap.take();
}

// One writer per document at a time: two ingestions of one doc_id (two uploads, two jobs on two workers) never
// interleave their writes. In-process a promise chain per id; with Redis a lease every process honours.
// Beside the lock, the order of the last job that wrote each document: jobs are numbered as they are submitted,
// and a job reaching a document that a later job has already written leaves it alone, so the last submitted
// wins whole whichever worker runs first.

export interface DocumentLock {
  /** Runs `work` while holding `docId`'s lock, waiting for the holder before it. */
  withLock<T>(docId: string, work: () => Promise<T>): Promise<T>;
  /** Whether someone (any process sharing the lock) is writing `docId` now. */
  isHeld(docId: string): Promise<boolean>;
  /** The order of the last ordered write of `docId` (read under its lock), undefined when none. */
  lastOrder(docId: string): Promise<number | undefined>;
  /** Records that the write of order `order` reached `docId` (under its lock). */
  recordOrder(docId: string, order: number): Promise<void>;
  /** Forgets `docId`'s order (the document is deleted). */
  forgetOrder(docId: string): Promise<void>;
}

/**
 * The lock of one process: waiters queue behind the holder, in order. Orders are kept in memory: without Redis
 * jobs run in this process, and a restart re-runs the unfinished ones in the order they were submitted.
 */
export class LocalDocumentLock implements DocumentLock {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly orders = new Map<string, number>();

  async withLock<T>(docId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(docId) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(work);
    this.tails.set(docId, current);
    try {
      return await current;
    } finally {
      if (this.tails.get(docId) === current) this.tails.delete(docId);
    }
  }

  async isHeld(docId: string): Promise<boolean> {
    return this.tails.has(docId);
  }

  async lastOrder(docId: string): Promise<number | undefined> {
    return this.orders.get(docId);
  }

  async recordOrder(docId: string, order: number): Promise<void> {
    this.orders.set(docId, Math.max(order, this.orders.get(docId) ?? order));
  }

  async forgetOrder(docId: string): Promise<void> {
    this.orders.delete(docId);
  }
}

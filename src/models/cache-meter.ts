// Lookups of Counsel's two caches, counted as hits and misses: the embedding cache (one lookup per text, documents
// and queries) and the LLM response cache (one per prompt). A cache that never hits only costs a round trip, so
// operators need its hit rate (GET /metrics) to know whether it earns its keep. Totals live in the process; each
// count is also handed to listeners, as UsageMeter does for model tokens.

export type CacheName = "embeddings" | "llm";
export type CacheOutcome = "hit" | "miss";

export interface CacheRecord {
  cache: CacheName;
  outcome: CacheOutcome;
  /** Lookups counted at once: an embedding batch reads many texts in one call. */
  count: number;
}

export type CacheTotals = Record<CacheName, Record<CacheOutcome, number>>;

export class CacheMeter {
  private readonly counts: CacheTotals = { embeddings: { hit: 0, miss: 0 }, llm: { hit: 0, miss: 0 } };
  private readonly listeners: ((record: CacheRecord) => void)[] = [];

  record(cache: CacheName, outcome: CacheOutcome, count = 1): void {
    if (count <= 0) return; // an empty batch looked nothing up
    this.counts[cache][outcome] += count;
    for (const listener of this.listeners) listener({ cache, outcome, count });
  }

  onRecord(listener: (record: CacheRecord) => void): void {
    this.listeners.push(listener);
  }

  /** A copy of the counts since start, for tests and debugging. */
  totals(): CacheTotals {
    return { embeddings: { ...this.counts.embeddings }, llm: { ...this.counts.llm } };
  }
}

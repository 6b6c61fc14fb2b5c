// A Map bounded in size (least recently used out first) and optionally in age, for the in-process stand-ins of
// Redis state (chat sessions, the LLM cache): without Redis's eviction and TTLs, they would grow without limit.
// A Map subclass, so that LangChain classes taking a Map (InMemoryCache) can use it as is.

export interface LruMapOptions {
  /** Most entries kept; setting one more drops the least recently used. */
  maxSize: number;
  /** Entries not set again for this long read as absent. */
  maxAgeMs?: number;
  /** For tests. */
  now?: () => number;
}

export class LruMap<K, V> extends Map<K, V> {
  private readonly maxSize: number;
  private readonly maxAgeMs?: number;
  private readonly now: () => number;
  private readonly setAt = new Map<K, number>();

  constructor(options: LruMapOptions) {
    super();
    if (!(Number.isInteger(options.maxSize) && options.maxSize > 0)) {
      throw new RangeError(`maxSize must be a positive integer, got ${options.maxSize}`);
    }
    this.maxSize = options.maxSize;
    this.maxAgeMs = options.maxAgeMs;
    this.now = options.now ?? Date.now;
  }

  override get(key: K): V | undefined {
    if (!this.has(key)) return undefined;
    // Re-inserting moves the entry to the end of the iteration order: the first entry is the least recent.
    const value = super.get(key) as V;
    super.delete(key);
    super.set(key, value);
    return value;
  }

  override has(key: K): boolean {
    if (!super.has(key)) return false;
    if (this.maxAgeMs !== undefined && this.now() - (this.setAt.get(key) ?? 0) >= this.maxAgeMs) {
      this.delete(key);
      return false;
    }
    return true;
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    this.setAt.set(key, this.now());
    for (const oldest of super.keys()) {
      if (this.size <= this.maxSize) break;
      this.delete(oldest);
    }
    return this;
  }

  override delete(key: K): boolean {
    this.setAt.delete(key);
    return super.delete(key);
  }

  override clear(): void {
    this.setAt.clear();
    super.clear();
  }
}

// An offline, deterministic embedder: signed feature hashing of stemmed words, character n-grams within words
// and (optionally) word bigrams into a fixed number of dimensions. No model, no network. The n-grams let it
// match morphology and spelling variants (immunisation / immunization / immunity) that exact terms miss.
import { performance } from "node:perf_hooks";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { Embeddings, type EmbeddingsParams } from "@langchain/core/embeddings";
import { isStopWord, searchTerms, searchWords } from "../../text/analysis.ts";

export interface LocalHashEmbeddingsOptions extends EmbeddingsParams {
  /** Vector length. Default 1024. */
  dimensions?: number;
  /** Relative weight of each feature family; each family is normalised first, so weights are shares. */
  weights?: Partial<FeatureWeights>;
  /** Shortest and longest character n-gram taken inside a word. Default 3..5. */
  charNgrams?: [min: number, max: number];
}

export interface FeatureWeights {
  unigram: number;
  bigram: number;
  char: number;
}

export const DEFAULT_DIMENSIONS = 1024;
// Tuned on BEIR SciFact: word bigrams cost more in hash collisions than they add at 1024 dimensions.
export const DEFAULT_FEATURE_WEIGHTS: FeatureWeights = { unigram: 1, bigram: 0, char: 1 };
const DEFAULT_CHAR_NGRAMS: [number, number] = [3, 5];
// Longest stretch of embedding work between two yields to the event loop, in ms: texts vary from a line to a
// long chunk, so the budget is time rather than a count.
const YIELD_AFTER_MS = 10;
const GRAM_CACHE_LIMIT = 50_000;

// Distinct FNV offset bases per family, so that the unigram "cat" and the trigram "cat" are different features.
const SEED_UNIGRAM = 0x811c9dc5;
const SEED_BIGRAM = 0x050c5d1f;
const SEED_CHAR = 0x2f8a3b71;
const FNV_PRIME = 0x01000193;
const BIGRAM_SEPARATOR = 0x1f;

export class LocalHashEmbeddings extends Embeddings {
  readonly dimensions: number;
  readonly weights: FeatureWeights;
  readonly charNgrams: [number, number];
  /**
   * Names the feature scheme, size and any non-default weights: indexes are keyed by it, so changing any of
   * them starts a new index instead of mixing incompatible vectors.
   */
  readonly modelId: string;

  // Scratch counters, reused: embed() is synchronous, so two calls never share them at once.
  private readonly counters = {
    unigrams: new FeatureCounter(),
    bigrams: new FeatureCounter(),
    chars: new FeatureCounter(),
  };
  // Words repeat (Zipf), so each word's n-gram hashes are computed once; bounded by clearing when full.
  private readonly gramCache = new GramCache(GRAM_CACHE_LIMIT);

  constructor(options: LocalHashEmbeddingsOptions = {}) {
    const { dimensions, weights, charNgrams, ...params } = options;
    super(params);
    this.dimensions = dimensions ?? DEFAULT_DIMENSIONS;
    if (!Number.isInteger(this.dimensions) || this.dimensions < 8) {
      throw new RangeError(`dimensions must be an integer >= 8, got ${dimensions}`);
    }
    this.weights = { ...DEFAULT_FEATURE_WEIGHTS, ...weights };
    this.charNgrams = charNgrams ?? DEFAULT_CHAR_NGRAMS;
    const { unigram, bigram, char } = this.weights;
    const d = DEFAULT_FEATURE_WEIGHTS;
    const tuned =
      unigram !== d.unigram ||
      bigram !== d.bigram ||
      char !== d.char ||
      this.charNgrams[0] !== DEFAULT_CHAR_NGRAMS[0] ||
      this.charNgrams[1] !== DEFAULT_CHAR_NGRAMS[1];
    const variant = tuned ? `-u${unigram}-b${bigram}-c${char}-n${this.charNgrams.join("_")}` : "";
    this.modelId = `local-hash-v1-${this.dimensions}${variant}`;
  }

  async embedDocuments(documents: string[]): Promise<number[][]> {
    const out: number[][] = [];
    let since = performance.now();
    for (const text of documents) {
      if (performance.now() - since > YIELD_AFTER_MS) {
        await yieldToLoop();
        since = performance.now();
      }
      out.push(this.embed(text));
    }
    return out;
  }

  async embedQuery(document: string): Promise<number[]> {
    return this.embed(document);
  }

  /** The embedding of one text, synchronously. */
  embed(text: string): number[] {
    const { unigrams, bigrams, chars } = this.counters;
    const tokens = searchWords(text);
    const stems = searchTerms(tokens);
    for (let i = 0; i < stems.length; i++) {
      unigrams.add(fnv(SEED_UNIGRAM, stems[i]));
      if (i > 0 && this.weights.bigram !== 0) {
        bigrams.add(fnv(fnvCode(fnv(SEED_BIGRAM, stems[i - 1]), BIGRAM_SEPARATOR), stems[i]));
      }
    }
    if (this.weights.char !== 0) {
      for (const w of tokens) {
        if (isStopWord(w)) continue;
        let grams = this.gramCache.get(w);
        if (!grams) {
          grams = this.gramCache.set(w, this.charGrams(w));
        }
        const { pool, start, end } = grams;
        for (let i = start; i < end; i++) chars.add(pool[i]);
      }
    }

    const vector = new Float64Array(this.dimensions);
    unigrams.drainInto(vector, this.weights.unigram);
    bigrams.drainInto(vector, this.weights.bigram);
    chars.drainInto(vector, this.weights.char);
    let norm = 0;
    for (let i = 0; i < vector.length; i++) norm += vector[i] * vector[i];
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    // A plain loop: Array.from with a mapping function allocated several times the result in garbage, the
    // largest share of an ingestion's allocations.
    const out = new Array<number>(vector.length);
    for (let i = 0; i < vector.length; i++) out[i] = vector[i] * scale;
    return out;
  }

  /** Hashes of the character n-grams of one word, with boundary marks ("<im", "ion>") as features too. */
  private charGrams(word: string): number[] {
    const [minN, maxN] = this.charNgrams;
    const padded = `<${word}>`;
    const out: number[] = [];
    for (let start = 0; start + minN <= padded.length; start++) {
      let h = SEED_CHAR;
      for (let j = start; j < padded.length && j - start < maxN; j++) {
        h = fnvCode(h, padded.charCodeAt(j));
        if (j - start + 1 >= minN) out.push(h);
      }
    }
    return out;
  }
}

/** Where a word's n-gram hashes are: `pool[start..end)`. Valid until the cache's next `set`. */
interface GramRange {
  pool: Uint32Array;
  start: number;
  end: number;
}

/**
 * Each cached word's n-gram hashes, end to end in one growing array, found through a map of word → entry number.
 * A Uint32Array per word cost two objects and a separately allocated buffer each (tens of thousands of them:
 * about 6 MiB over SciFact's 36k distinct words, and as many objects for the GC to trace).
 */
export class GramCache {
  private readonly entries = new Map<string, number>();
  private pool = new Uint32Array(1 << 16);
  private used = 0;
  private starts = new Int32Array(1024);
  private ends = new Int32Array(1024);
  private readonly range: GramRange = { pool: this.pool, start: 0, end: 0 };

  constructor(private readonly limit: number) {}

  get(word: string): GramRange | undefined {
    const entry = this.entries.get(word);
    if (entry === undefined) return undefined;
    return this.at(entry);
  }

  /** Caches `grams` for `word` (emptied first when full) and returns where they are. */
  set(word: string, grams: number[]): GramRange {
    if (this.entries.size >= this.limit) {
      this.entries.clear();
      this.used = 0;
    }
    if (this.used + grams.length > this.pool.length) {
      const grown = new Uint32Array(Math.max(this.pool.length * 2, this.used + grams.length));
      grown.set(this.pool.subarray(0, this.used));
      this.pool = grown;
    }
    const entry = this.entries.size;
    if (entry === this.starts.length) {
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
    }
    this.pool.set(grams, this.used);
    this.starts[entry] = this.used;
    this.used += grams.length;
    this.ends[entry] = this.used;
    this.entries.set(word, entry);
    return this.at(entry);
  }

  private at(entry: number): GramRange {
    // One reused object: the caller reads it before the next get or set.
    const range = this.range;
    range.pool = this.pool;
    range.start = this.starts[entry];
    range.end = this.ends[entry];
    return range;
  }
}

function grow(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/**
 * Counts feature hashes in an open-addressing table (much faster than a Map for thousands of features per
 * text), then adds them to a vector: sublinear in term frequency, scaled so the family has norm `weight`.
 */
class FeatureCounter {
  private keys = new Uint32Array(1024);
  private counts = new Uint32Array(1024);
  private readonly used: number[] = [];

  add(hash: number): void {
    // 0 marks an empty cell, so the hash 0 is counted as 1: one more collision among 2^32.
    const key = hash === 0 ? 1 : hash;
    if ((this.used.length + 1) * 2 > this.keys.length) this.grow();
    const mask = this.keys.length - 1;
    let i = fmix32(key) & mask;
    while (this.keys[i] !== 0 && this.keys[i] !== key) i = (i + 1) & mask;
    if (this.keys[i] === 0) {
      this.keys[i] = key;
      this.used.push(i);
    }
    this.counts[i] += 1;
  }

  /** Adds the counted features to `vector` and empties the counter. */
  drainInto(vector: Float64Array, weight: number): void {
    const { keys, counts, used } = this;
    if (weight !== 0 && used.length > 0) {
      let norm = 0;
      for (const i of used) {
        const v = 1 + Math.log(counts[i]);
        norm += v * v;
      }
      const scale = weight / Math.sqrt(norm);
      const dims = vector.length;
      for (const i of used) {
        const mixed = fmix32(keys[i]);
        // Index and sign from different mixes of the hash, so that colliding features cancel out on average.
        const sign = fmix32(keys[i] ^ 0x9e3779b9) & 1 ? -1 : 1;
        vector[mixed % dims] += sign * scale * (1 + Math.log(counts[i]));
      }
    }
    for (const i of used) {
      keys[i] = 0;
      counts[i] = 0;
    }
    used.length = 0;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldCounts = this.counts;
    const oldUsed = [...this.used];
    this.keys = new Uint32Array(oldKeys.length * 2);
    this.counts = new Uint32Array(oldKeys.length * 2);
    this.used.length = 0;
    const mask = this.keys.length - 1;
    for (const j of oldUsed) {
      let i = fmix32(oldKeys[j]) & mask;
      while (this.keys[i] !== 0) i = (i + 1) & mask;
      this.keys[i] = oldKeys[j];
      this.counts[i] = oldCounts[j];
      this.used.push(i);
    }
  }
}

function fnv(seed: number, text: string): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) h = fnvCode(h, text.charCodeAt(i));
  return h;
}

function fnvCode(h: number, code: number): number {
  return Math.imul(h ^ code, FNV_PRIME) >>> 0;
}

/** MurmurHash3's finaliser: spreads FNV's weak low bits over the whole word. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

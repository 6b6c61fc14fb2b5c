// An offline, deterministic embedder: signed feature hashing of stemmed words, word bigrams and character
// n-grams into a fixed number of dimensions. No model, no network; close texts share features, so it ranks
// paraphrases and morphology (immunisation / immunization / immune) that exact-term search misses.
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { Embeddings, type EmbeddingsParams } from "@langchain/core/embeddings";
import { isStopWord, terms, words } from "../../text/analysis.ts";

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
export const DEFAULT_FEATURE_WEIGHTS: FeatureWeights = { unigram: 1, bigram: 0.35, char: 0.6 };
const DEFAULT_CHAR_NGRAMS: [number, number] = [3, 5];
// Texts embedded between two yields to the event loop: a few milliseconds of work at most.
const YIELD_EVERY = 256;

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
  /** Names the feature scheme and size: indexes are keyed by it, so changing either starts a new index. */
  readonly modelId: string;

  constructor(options: LocalHashEmbeddingsOptions = {}) {
    const { dimensions, weights, charNgrams, ...params } = options;
    super(params);
    this.dimensions = dimensions ?? DEFAULT_DIMENSIONS;
    if (!Number.isInteger(this.dimensions) || this.dimensions < 8) {
      throw new RangeError(`dimensions must be an integer >= 8, got ${dimensions}`);
    }
    this.weights = { ...DEFAULT_FEATURE_WEIGHTS, ...weights };
    this.charNgrams = charNgrams ?? DEFAULT_CHAR_NGRAMS;
    this.modelId = `local-hash-v1-${this.dimensions}`;
  }

  async embedDocuments(documents: string[]): Promise<number[][]> {
    const out: number[][] = [];
    for (let i = 0; i < documents.length; i++) {
      if (i > 0 && i % YIELD_EVERY === 0) await yieldToLoop();
      out.push(this.embed(documents[i]));
    }
    return out;
  }

  async embedQuery(document: string): Promise<number[]> {
    return this.embed(document);
  }

  /** The embedding of one text, synchronously. */
  embed(text: string): number[] {
    const dims = this.dimensions;
    const stems = terms(text);
    const unigrams = new Map<number, number>();
    const bigrams = new Map<number, number>();
    for (let i = 0; i < stems.length; i++) {
      const h = fnv(SEED_UNIGRAM, stems[i]);
      count(unigrams, h);
      if (i > 0) count(bigrams, fnv(fnvCode(fnv(SEED_BIGRAM, stems[i - 1]), BIGRAM_SEPARATOR), stems[i]));
    }
    const chars = new Map<number, number>();
    const [minN, maxN] = this.charNgrams;
    for (const w of words(text)) {
      if (isStopWord(w)) continue;
      // Boundary marks make prefixes and suffixes features of their own ("<im", "ion>").
      const padded = `<${w}>`;
      for (let start = 0; start + minN <= padded.length; start++) {
        let h = SEED_CHAR;
        for (let j = start; j < padded.length && j - start < maxN; j++) {
          h = fnvCode(h, padded.charCodeAt(j));
          if (j - start + 1 >= minN) count(chars, h);
        }
      }
    }

    const vector = new Float64Array(dims);
    addFamily(vector, unigrams, this.weights.unigram);
    addFamily(vector, bigrams, this.weights.bigram);
    addFamily(vector, chars, this.weights.char);
    let norm = 0;
    for (let i = 0; i < dims; i++) norm += vector[i] * vector[i];
    norm = Math.sqrt(norm);
    const result = new Array<number>(dims);
    for (let i = 0; i < dims; i++) result[i] = norm > 0 ? vector[i] / norm : 0;
    return result;
  }
}

function count(features: Map<number, number>, hash: number): void {
  features.set(hash, (features.get(hash) ?? 0) + 1);
}

/** Adds one feature family, sublinear in term frequency and scaled to `weight` (its own norm before hashing). */
function addFamily(vector: Float64Array, features: Map<number, number>, weight: number): void {
  if (weight === 0 || features.size === 0) return;
  let norm = 0;
  for (const tf of features.values()) {
    const v = 1 + Math.log(tf);
    norm += v * v;
  }
  const scale = weight / Math.sqrt(norm);
  const dims = vector.length;
  for (const [hash, tf] of features) {
    const mixed = fmix32(hash);
    const index = mixed % dims;
    // The sign comes from a different mix of the hash, so that colliding features cancel out on average.
    const sign = fmix32(hash ^ 0x9e3779b9) & 1 ? -1 : 1;
    vector[index] += sign * scale * (1 + Math.log(tf));
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

// A synthetic corpus for the million-chunk run, the same in every process that asks for it: chunk i is a function
// of (seed, i) alone, so a child process can generate its share without the parent sending 4 GB of vectors.
//
// Vectors have the shape real embeddings have at a coarse level: each chunk belongs to one of `topics` topics and
// one of `subtopics` within it, and its unit vector is topic + subtopic + noise (cosine ≈ 0.65 within a subtopic,
// 0.43 within a topic, ≈ 0 across topics). Texts draw half their words from the topic's own vocabulary, so BM25
// and the vector side agree roughly, as they do on real text. Queries come from the same model with other seeds.

import { random } from "../../test/helpers/random-vectors.ts";

export interface CorpusSpec {
  chunks: number;
  dims: number;
  seed: number;
  topics: number;
  subtopics: number;
}

export const DEFAULT_SPEC: Omit<CorpusSpec, "chunks"> = { dims: 1024, seed: 7, topics: 1000, subtopics: 16 };

const TOPIC_WEIGHT = 1;
const SUBTOPIC_WEIGHT = 0.7;
const NOISE_WEIGHT = 0.9;
const WORDS_PER_CHUNK = 40;
const TOPIC_WORDS = 200;
const VOCABULARY = 50_000;

function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
}

const SYLLABLES = "b c d f g h k l m n p r s t v z ch sh th tr"
  .split(" ")
  .flatMap((c) => ["a", "e", "i", "o", "u"].map((v) => c + v));

/** Word number n as three syllables ("kabote"): real-looking tokens the analyzer keeps whole. */
function word(n: number): string {
  const s = SYLLABLES.length;
  return SYLLABLES[n % s] + SYLLABLES[Math.floor(n / s) % s] + SYLLABLES[Math.floor(n / s / s) % s];
}

export interface Chunk {
  id: string;
  docId: string;
  text: string;
  topic: number;
}

export class SyntheticCorpus {
  readonly spec: CorpusSpec;
  private readonly topicCentres: Float32Array;
  private readonly subtopicCentres: Float32Array;

  constructor(spec: CorpusSpec) {
    this.spec = spec;
    const { dims, topics, subtopics, seed } = spec;
    const normal = gaussian(random(seed));
    const scale = 1 / Math.sqrt(dims);
    this.topicCentres = Float32Array.from({ length: topics * dims }, () => normal() * scale);
    this.subtopicCentres = Float32Array.from({ length: topics * subtopics * dims }, () => normal() * scale);
  }

  /** Chunks [from, to): their texts and their unit vectors, row after row in `vectors`. */
  batch(from: number, to: number): { chunks: Chunk[]; vectors: Float32Array } {
    const { dims } = this.spec;
    const chunks: Chunk[] = [];
    const vectors = new Float32Array((to - from) * dims);
    for (let i = from; i < to; i++) {
      const { chunk, vector } = this.item(this.spec.seed * 1_000_003 + i, `c${i}`, WORDS_PER_CHUNK);
      chunks.push(chunk);
      vectors.set(vector, (i - from) * dims);
    }
    return { chunks, vectors };
  }

  /** Query q: a short text and its vector, drawn like a chunk (never one of them). */
  query(q: number): { text: string; vector: Float32Array } {
    const { chunk, vector } = this.item(-(this.spec.seed * 7919 + q + 1), `q${q}`, 6);
    return { text: chunk.text, vector };
  }

  private item(seed: number, id: string, words: number): { chunk: Chunk; vector: Float32Array } {
    const { dims, topics, subtopics } = this.spec;
    const next = random(seed);
    const normal = gaussian(next);
    const topic = Math.floor(next() * topics);
    const subtopic = topic * subtopics + Math.floor(next() * subtopics);
    const vector = new Float32Array(dims);
    const noise = NOISE_WEIGHT / Math.sqrt(dims);
    let norm = 0;
    for (let d = 0; d < dims; d++) {
      const x =
        TOPIC_WEIGHT * this.topicCentres[topic * dims + d] +
        SUBTOPIC_WEIGHT * this.subtopicCentres[subtopic * dims + d] +
        noise * normal();
      vector[d] = x;
      norm += x * x;
    }
    const scale = 1 / Math.sqrt(norm);
    for (let d = 0; d < dims; d++) vector[d] *= scale;
    const text: string[] = [];
    for (let w = 0; w < words; w++) {
      // Zipf-like: squaring a uniform draw favours the first words of each list.
      const rank = next() ** 2;
      text.push(
        next() < 0.5
          ? word(VOCABULARY + topic * TOPIC_WORDS + Math.floor(rank * TOPIC_WORDS))
          : word(Math.floor(rank * VOCABULARY)),
      );
    }
    return {
      chunk: { id, docId: `d${Math.floor(Number(id.slice(1)) / 8)}`, text: text.join(" "), topic },
      vector,
    };
  }
}

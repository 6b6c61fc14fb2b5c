// An offline answerer: it quotes the retrieved sentences that best match the question, each followed by [n]
// (n = 1-based position of its chunk in the sources), and abstains when no sentence matches well enough.
import { type Runnable, RunnableLambda } from "@langchain/core/runnables";
import type { ScoredDocument } from "../../contracts/search.ts";
import { terms } from "../../text/analysis.ts";
import { splitSentences } from "../../text/sentences.ts";
import { ANSWERABILITY_MODEL, type AnswerEvidence, answerConfidence } from "./answerability.ts";

export const ABSTAIN_ANSWER = "I couldn't find an answer to that in the knowledge base.";

/**
 * Default abstention threshold on a sentence's relevance: the IDF-weighted share (0..1) of the question's content
 * terms that the sentence contains (plus up to 0.1 for shared word pairs; ×0.85 for fragments). At 0.35 a sentence
 * can answer with one of two equally rare question terms (0.5) but not with one of three (0.33): retrieval returns
 * chunks sharing some word with any question, so one shared term in three is typical of an unanswerable question.
 * On SciFact's test claims (BM25 top 5) it answers 74% of claims whose abstract was retrieved, and none when the
 * sources are unrelated documents.
 */
export const DEFAULT_MIN_RELEVANCE = 0.35;

/**
 * How the answerer decides to abstain: `relevance`, when the best sentence's relevance is below minRelevance;
 * `calibrated`, when the answerability model's confidence is below minConfidence (answerability.ts).
 */
export type AbstentionRule = "relevance" | "calibrated";

export interface ExtractiveAnswererOptions {
  /** Default "relevance". */
  abstention?: AbstentionRule;
  /** relevance: abstain when the best sentence's relevance is below this (0..1). Default {@link DEFAULT_MIN_RELEVANCE}. */
  minRelevance?: number;
  /**
   * calibrated: abstain when the confidence that the best sentence answers is below this (0..1). Default: the
   * model's own threshold, at which it answered 97% of the calibration split's answerable questions.
   */
  minConfidence?: number;
  /** Most sentences quoted in one answer. Default 3. */
  maxSentences?: number;
  /** A further sentence is quoted only if its relevance is at least this share of the best one's. Default 0.5. */
  relativeCutoff?: number;
  /** MMR trade-off: 1 ranks by relevance only, lower values favour sentences unlike those already chosen. Default 0.7. */
  lambda?: number;
  /** What to say when abstaining. */
  abstainMessage?: string;
}

export interface AnswerInput {
  question: string;
  sources: ScoredDocument[];
}

export interface AnswerSentence {
  text: string;
  /** 1-based index into the sources. */
  citation: number;
  relevance: number;
}

export interface ExtractiveAnswer {
  answer: string;
  /** 1-based indices into the sources that the answer cites, ascending. */
  citations: number[];
  abstained: boolean;
  /** The quoted sentences in answer order (empty when abstaining). */
  sentences: AnswerSentence[];
  /** The best sentence's relevance, also when abstaining: useful to tune minRelevance. */
  relevance: number;
  /** calibrated: the confidence that the best sentence answers, also when abstaining. */
  confidence?: number;
}

interface Ranked {
  candidates: Candidate[];
  /** The best candidate (the first of equals), and the relevance of the best other one. */
  top?: Candidate;
  runnerUp: number;
  questionTerms: string[];
}

// Question scaffolding that the general stop list keeps but that says nothing about the topic
// ("How many laptops…", "Tell me about…"); stemmed like every other term.
const QUESTION_FILLER = new Set(terms("many much tell explain describe please show give know"));

const REFERENCE_MARK = /\s?(?:\[\d{1,3}(?:[,–-]\s?\d{1,3})*\])+/g;
const BIGRAM_BONUS = 0.1;
const RANK_PRIOR = 0.05;
// Discount for text that is not a whole sentence: a fragment cut at a chunk boundary (starts in lower case) or
// a heading, figure label or table cell (no closing punctuation). Such text can still answer, but loses ties.
const FRAGMENT = 0.85;
// Two sentences sharing this share of their terms say the same thing (e.g. the same sentence in overlapping chunks).
const REDUNDANT = 0.6;

interface Candidate {
  text: string;
  source: number;
  position: number;
  terms: Set<string>;
  bigrams: Set<string>;
  /** Below 1 for text that is not a whole sentence. */
  form: number;
  relevance: number;
  score: number;
}

/** The answerer a chain's model settings describe. */
export function extractiveAnswerer(model: {
  minRelevance?: number;
  abstention?: AbstentionRule;
  minConfidence?: number;
}): ExtractiveAnswerer {
  return new ExtractiveAnswerer({
    minRelevance: model.minRelevance,
    abstention: model.abstention,
    minConfidence: model.minConfidence,
  });
}

export class ExtractiveAnswerer {
  readonly abstention: AbstentionRule;
  readonly minRelevance: number;
  readonly minConfidence: number;
  readonly maxSentences: number;
  readonly relativeCutoff: number;
  readonly lambda: number;
  readonly abstainMessage: string;

  constructor(options: ExtractiveAnswererOptions = {}) {
    this.abstention = options.abstention ?? "relevance";
    this.minRelevance = options.minRelevance ?? DEFAULT_MIN_RELEVANCE;
    this.minConfidence = options.minConfidence ?? ANSWERABILITY_MODEL.threshold;
    this.maxSentences = options.maxSentences ?? 3;
    this.relativeCutoff = options.relativeCutoff ?? 0.5;
    this.lambda = options.lambda ?? 0.7;
    this.abstainMessage = options.abstainMessage ?? ABSTAIN_ANSWER;
    if (!(this.minRelevance >= 0 && this.minRelevance <= 1))
      throw new RangeError("minRelevance must be in 0..1");
    if (!(this.minConfidence >= 0 && this.minConfidence <= 1))
      throw new RangeError("minConfidence must be in 0..1");
    if (!(Number.isInteger(this.maxSentences) && this.maxSentences >= 1))
      throw new RangeError("maxSentences must be a positive integer");
  }

  answer({ question, sources }: AnswerInput): ExtractiveAnswer {
    const { candidates, top, runnerUp, questionTerms } = this.rank(question, sources);
    const best = top?.relevance ?? 0;
    if (!top || best === 0) return this.abstain(best);
    let confidence: number | undefined;
    if (this.abstention === "calibrated") {
      confidence = answerConfidence(evidenceOf(question, questionTerms, top, runnerUp, sources));
      if (confidence < this.minConfidence) return this.abstain(best, confidence);
    } else if (best < this.minRelevance) return this.abstain(best);

    // Sentences besides the best need minRelevance too (the best may have less when the model answers).
    const floor = Math.max(Math.min(this.minRelevance, best), this.relativeCutoff * best, Number.MIN_VALUE);
    const chosen = this.select(candidates.filter((c) => c.relevance >= floor));
    chosen.sort((a, b) => a.source - b.source || a.position - b.position);
    const sentences = chosen.map((c) => ({
      text: c.text,
      citation: c.source + 1,
      relevance: round(c.relevance),
    }));
    return {
      answer: sentences.map((s) => `${s.text} [${s.citation}]`).join(" "),
      citations: [...new Set(sentences.map((s) => s.citation))].sort((a, b) => a - b),
      abstained: false,
      sentences,
      relevance: round(best),
      ...(confidence !== undefined ? { confidence: round(confidence) } : {}),
    };
  }

  /** The answerer as a LangChain runnable, so that it composes with `.pipe()` and serves `.invoke()`/`.stream()`. */
  asRunnable(): Runnable<AnswerInput, ExtractiveAnswer> {
    return RunnableLambda.from((input: AnswerInput) => this.answer(input)).withConfig({
      runName: "ExtractiveAnswerer",
    });
  }

  /**
   * What the decision to answer rests on: the best sentence, its chunk and the runner-up's relevance; undefined
   * when nothing matches at all. For fitting the answerability model (bench/calibrate-abstention.ts).
   */
  evidence({ question, sources }: AnswerInput): AnswerEvidence | undefined {
    const { top, runnerUp, questionTerms } = this.rank(question, sources);
    if (!top || top.relevance === 0) return undefined;
    return evidenceOf(question, questionTerms, top, runnerUp, sources);
  }

  /** Every sentence of the sources, scored for relevance to the question; the best and the runner-up. */
  private rank(question: string, sources: ScoredDocument[]): Ranked {
    const questionTerms = terms(question).filter((t) => !QUESTION_FILLER.has(t));
    const wanted = new Set(questionTerms);
    const candidates = this.candidates(sources);
    if (wanted.size === 0 || candidates.length === 0) return { candidates, runnerUp: 0, questionTerms };

    const idf = inverseDocumentFrequency(candidates, wanted);
    let total = 0;
    for (const t of wanted) total += idf.get(t) ?? 0;
    const questionBigrams = bigrams(questionTerms);

    let top: Candidate | undefined;
    let runnerUp = 0;
    for (const c of candidates) {
      let matched = 0;
      for (const t of wanted) if (c.terms.has(t)) matched += idf.get(t) ?? 0;
      let shared = 0;
      for (const b of questionBigrams) if (c.bigrams.has(b)) shared++;
      const bonus = questionBigrams.size ? (BIGRAM_BONUS * shared) / questionBigrams.size : 0;
      c.relevance = total > 0 ? (matched / total + bonus) * c.form : 0;
      c.score = c.relevance + RANK_PRIOR * (1 - c.source / sources.length);
      if (!top || c.relevance > top.relevance) {
        if (top) runnerUp = Math.max(runnerUp, top.relevance);
        top = c;
      } else runnerUp = Math.max(runnerUp, c.relevance);
    }
    return { candidates, top, runnerUp, questionTerms };
  }

  private abstain(relevance: number, confidence?: number): ExtractiveAnswer {
    return {
      answer: this.abstainMessage,
      citations: [],
      abstained: true,
      sentences: [],
      relevance: round(relevance),
      ...(confidence !== undefined ? { confidence: round(confidence) } : {}),
    };
  }

  /** Sentences of every source; a sentence repeated (overlapping chunks) counts once, at its best-ranked source. */
  private candidates(sources: ScoredDocument[]): Candidate[] {
    const seen = new Set<string>();
    const out: Candidate[] = [];
    sources.forEach((scored, source) => {
      splitSentences(scored.document.pageContent).forEach((raw, position) => {
        // The text's own reference marks ("announced [1]") would read as our citations.
        const text = raw.replace(REFERENCE_MARK, "");
        const key = text.toLowerCase();
        if (seen.has(key)) return;
        seen.add(key);
        const sentenceTerms = terms(text);
        if (sentenceTerms.length === 0) return;
        out.push({
          text,
          source,
          position,
          terms: new Set(sentenceTerms),
          bigrams: bigrams(sentenceTerms),
          form: form(text),
          relevance: 0,
          score: 0,
        });
      });
    });
    return out;
  }

  /** Maximal marginal relevance: the best sentence first, then those that add most beyond what is chosen. */
  private select(pool: Candidate[]): Candidate[] {
    const chosen: Candidate[] = [];
    const left = [...pool];
    while (chosen.length < this.maxSentences && left.length > 0) {
      let bestIndex = -1;
      let bestValue = Number.NEGATIVE_INFINITY;
      left.forEach((c, i) => {
        const similarity = Math.max(0, ...chosen.map((s) => jaccard(c.terms, s.terms)));
        if (similarity >= REDUNDANT) return;
        const value = this.lambda * c.score - (1 - this.lambda) * similarity;
        // Strict ">" keeps the earlier (better-ranked source, earlier position) candidate on ties: deterministic.
        if (value > bestValue) {
          bestValue = value;
          bestIndex = i;
        }
      });
      if (bestIndex < 0) break;
      chosen.push(left.splice(bestIndex, 1)[0]);
    }
    return chosen;
  }
}

function evidenceOf(
  question: string,
  questionTerms: string[],
  top: Candidate,
  runnerUp: number,
  sources: ScoredDocument[],
): AnswerEvidence {
  return {
    question,
    questionTerms,
    sentence: top.text,
    relevance: top.relevance,
    chunk: sources[top.source].document.pageContent,
    runnerUp,
    sourceTexts: sources.map((s) => s.document.pageContent),
  };
}

/**
 * IDF over the retrieved sentences (BM25 form, always positive). A question term missing from them is weighted
 * like the rarest term present: its real rarity is unknown, and weighting it higher would make paraphrased
 * questions abstain whenever one of their words is not in the text.
 */
function inverseDocumentFrequency(candidates: Candidate[], wanted: Set<string>): Map<string, number> {
  const n = candidates.length;
  const idf = new Map<string, number>();
  for (const t of wanted) {
    let df = 0;
    for (const c of candidates) if (c.terms.has(t)) df++;
    df = Math.max(df, 1);
    idf.set(t, Math.log(1 + (n - df + 0.5) / (df + 0.5)));
  }
  return idf;
}

function form(text: string): number {
  let f = 1;
  if (/^\p{Ll}/u.test(text)) f *= FRAGMENT;
  if (!/[.!?…]["'”’)\]]*$/u.test(text)) f *= FRAGMENT;
  return f;
}

function bigrams(sequence: string[]): Set<string> {
  const out = new Set<string>();
  for (let i = 1; i < sequence.length; i++) out.add(`${sequence[i - 1]} ${sequence[i]}`);
  return out;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  let shared = 0;
  for (const t of a) if (b.has(t)) shared++;
  const union = a.size + b.size - shared;
  return union === 0 ? 0 : shared / union;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

// Whether the extractive answerer's best sentence answers the question: a logistic model over lexical signals,
// fitted on SQuAD 2.0's answerable and unanswerable questions (bench/calibrate-abstention.ts, calibration
// split; the weights in answerability-weights.ts, which that script writes). Relevance alone (the share of the question's weighted
// terms in the sentence) cannot tell "the text says something about this" from "the text answers this"; the
// other signals catch some of what SQuAD's unanswerable questions do: a name or a number the passage does not
// hold, a negation only one side has, no candidate of the kind the question asks for (a number for "how many",
// a year for "when", a name for "who").
import { terms } from "../../text/analysis.ts";
import { FITTED } from "./answerability-weights.ts";

/** What the answerer knows when it decides, for one question. */
export interface AnswerEvidence {
  question: string;
  /** The question's content terms (stemmed, stop words and question filler out). */
  questionTerms: readonly string[];
  /** The best sentence, its relevance, and the chunk it comes from. */
  sentence: string;
  relevance: number;
  chunk: string;
  /** The second-best sentence's relevance (0 when there is none). */
  runnerUp: number;
}

export const FEATURES = [
  "relevance",
  "termsInSentence",
  "termsInChunk",
  "nameMissing",
  "numberMissing",
  "negationMismatch",
  "answerTypeFound",
  "relevanceGap",
  "questionLength",
] as const;

export interface AnswerabilityModel {
  /** Per feature, in {@link FEATURES} order: the mean and deviation it is standardised with, and its weight. */
  mean: number[];
  deviation: number[];
  weights: number[];
  bias: number;
  /** The confidence at which the calibration split's answerable questions were answered 97% of the time. */
  threshold: number;
  /** Where the model came from: dataset, split, counts. */
  fittedOn: string;
}

export const ANSWERABILITY_MODEL: AnswerabilityModel = FITTED;

const NEGATION = /\b(?:not|never|no|none|neither|nor|without)\b|n't\b/i;
const MONTH = /\b(?:January|February|March|April|May|June|July|August|September|October|November|December)\b/;

/** The signals, in {@link FEATURES} order. */
export function answerFeatures(e: AnswerEvidence): number[] {
  const wanted = [...new Set(e.questionTerms)];
  const inSentence = new Set(terms(e.sentence));
  const inChunk = new Set(terms(e.chunk));
  const share = (found: Set<string>) =>
    wanted.length ? wanted.filter((t) => found.has(t)).length / wanted.length : 0;
  // A name in the question (a capitalised word past the first) that the chunk never mentions.
  const names = e.question
    .split(/\s+/)
    .slice(1)
    .map((w) => w.replace(/[^\p{L}\p{N}]/gu, ""))
    .filter((w) => /^\p{Lu}/u.test(w));
  const nameMissing = names.some((w) => !terms(w).every((t) => inChunk.has(t)));
  const numberMissing = (e.question.match(/\d+/g) ?? []).some((n) => !e.chunk.includes(n));
  const negationMismatch = NEGATION.test(e.question) !== NEGATION.test(e.sentence);
  return [
    e.relevance,
    share(inSentence),
    share(inChunk),
    nameMissing ? 1 : 0,
    numberMissing ? 1 : 0,
    negationMismatch ? 1 : 0,
    answerTypeFound(e.question, e.sentence) ? 1 : 0,
    e.relevance - e.runnerUp,
    Math.min(wanted.length, 10) / 10,
  ];
}

/** The probability (0..1) that the sentence answers the question, by `model`. */
export function answerConfidence(e: AnswerEvidence, model: AnswerabilityModel = ANSWERABILITY_MODEL): number {
  return confidenceOf(answerFeatures(e), model);
}

export function confidenceOf(features: readonly number[], model: AnswerabilityModel): number {
  let z = model.bias;
  features.forEach((x, i) => {
    z += model.weights[i] * ((x - model.mean[i]) / (model.deviation[i] || 1));
  });
  return 1 / (1 + Math.exp(-z));
}

/**
 * Whether the sentence holds something of the kind the question asks for, not already in the question: a number
 * for "how many", a year or month for "when", a capitalised name for "who" and "where". Other questions: true.
 */
function answerTypeFound(question: string, sentence: string): boolean {
  const q = question.toLowerCase();
  const fresh = (pattern: RegExp) => [...sentence.matchAll(pattern)].some((m) => !question.includes(m[0]));
  if (/\bhow (?:many|much)\b|\bwhat (?:percentage|number)\b/.test(q)) return fresh(/\d[\d,.]*/g);
  if (/\bwhen\b|\b(?:what|which) year\b/.test(q)) return fresh(/\b\d{3,4}\b/g) || MONTH.test(sentence);
  if (/\bwho(?:m|se)?\b|\bwhere\b/.test(q)) return fresh(/(?<!^)\b\p{Lu}\p{L}+/gu);
  return true;
}

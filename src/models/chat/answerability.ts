// Whether the extractive answerer's best sentence answers the question: a logistic model over lexical signals,
// fitted on SQuAD 2.0's answerable and unanswerable questions (bench/calibrate-abstention.ts, calibration
// split; the weights in answerability-weights.ts, which that script writes). Relevance alone (the share of the question's weighted
// terms in the sentence) cannot tell "the text says something about this" from "the text answers this"; the
// other signals catch some of what SQuAD's unanswerable questions do: a name or a number the passage does not
// hold, a negation only one side has, a word swapped for its opposite, a rare question term the sentence lacks,
// no candidate of the kind the question asks for (a number for "how many", a year for "when", a name for "who").
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
  /** The texts of every retrieved chunk, for how rare each question term is among them. */
  sourceTexts: readonly string[];
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
  "antonymInstead",
  "heaviestMissing",
  "missingFromChunk",
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

// Words that SQuAD 2.0's unanswerable questions swap for their opposite ("the first" asked where the passage
// says "the last"); stemmed as the question and the passage are.
const OPPOSITES = (
  "first last|first final|before after|increase decrease|largest smallest|most least|earliest latest|high low|" +
  "higher lower|more less|more fewer|many few|north south|east west|northern southern|western eastern|win lose|" +
  "start end|begin end|major minor|new old|young old|long short|rise fall|open close|accept reject|allow forbid|" +
  "larger smaller|better worse|best worst|maximum minimum|top bottom|early late|inside outside|include exclude|" +
  "strong weak|rich poor|success failure|positive negative|public private|internal external|upper lower|" +
  "primary secondary|always never|legal illegal|ancient modern|above below|over under|same different|" +
  "support oppose|agree disagree|gain loss|import export|buy sell|enter leave|lowest highest|least greatest"
).split("|");
const OPPOSITE = new Map<string, string[]>();
for (const pair of OPPOSITES) {
  const [a, b] = pair.split(" ").map((word) => terms(word)[0] ?? word);
  OPPOSITE.set(a, [...(OPPOSITE.get(a) ?? []), b]);
  OPPOSITE.set(b, [...(OPPOSITE.get(b) ?? []), a]);
}

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
  // Every term of the question (question words too), against the sentence, its chunk and all retrieved chunks.
  const asked = new Set(terms(e.question));
  const antonymInstead = [...asked].some(
    (t) => !inSentence.has(t) && (OPPOSITE.get(t) ?? []).some((o) => inSentence.has(o) || inChunk.has(o)),
  );
  const chunks = e.sourceTexts.map((text) => new Set(terms(text)));
  const idf = (t: string) => {
    const df = chunks.filter((c) => c.has(t)).length;
    return Math.log(1 + (chunks.length - df + 0.5) / (df + 0.5));
  };
  let total = 0;
  let heaviestMissing = 0;
  for (const t of asked) {
    total += idf(t);
    if (!inSentence.has(t)) heaviestMissing = Math.max(heaviestMissing, idf(t));
  }
  const missingFromChunk = [...asked].filter((t) => !inChunk.has(t)).length;
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
    antonymInstead ? 1 : 0,
    total > 0 ? heaviestMissing / total : 0,
    Math.min(missingFromChunk, 3) / 3,
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

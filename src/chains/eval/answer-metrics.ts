// Answer metrics for the evaluation runner: SQuAD's token F1 and exact match against reference answers, whether
// the retrieved text held a reference at all, and whether an answer's citations land on a document the judgements
// call relevant. Pure functions.
import type { Qrels } from "../../retrieval/metrics.ts";

// "[1]", "[2, 3]", "[1-3]": our citation marks, which are not part of the answer's words.
const CITATION_MARK = /\[\d{1,3}(?:\s*[,–-]\s*\d{1,3})*\]/g;
const PUNCTUATION = /[\p{P}\p{S}]/gu;
const ARTICLES = /\b(?:a|an|the)\b/g;

/** SQuAD's normalisation: lower case, no punctuation, no articles, single spaces; citation marks removed first. */
export function normalizeAnswer(text: string): string {
  return text
    .replace(CITATION_MARK, " ")
    .toLowerCase()
    .replace(PUNCTUATION, "")
    .replace(ARTICLES, " ")
    .split(/\s+/)
    .filter(Boolean)
    .join(" ");
}

/**
 * Token-overlap F1 of an answer against a reference, after {@link normalizeAnswer}: precision is the share of
 * the answer's tokens found in the reference (each counted as often as it occurs in both), recall the share
 * of the reference's. When either side has no tokens, 1 if both are empty, else 0 (as SQuAD scores it).
 */
export function tokenF1(answer: string, reference: string): number {
  const predicted = tokens(answer);
  const gold = tokens(reference);
  if (predicted.length === 0 || gold.length === 0) return predicted.length === gold.length ? 1 : 0;
  const left = new Map<string, number>();
  for (const t of gold) left.set(t, (left.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of predicted) {
    const n = left.get(t) ?? 0;
    if (n > 0) {
      common += 1;
      left.set(t, n - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / predicted.length;
  const recall = common / gold.length;
  return (2 * precision * recall) / (precision + recall);
}

/** SQuAD's exact match: the answer and the reference are equal once normalised ({@link normalizeAnswer}). */
export function exactMatch(answer: string, reference: string): boolean {
  return normalizeAnswer(answer) === normalizeAnswer(reference);
}

/** A score against the closest of several references (SQuAD takes the best over its annotators' answers). */
export function bestOver(references: readonly string[], score: (reference: string) => number): number {
  let best = 0;
  for (const reference of references) best = Math.max(best, score(reference));
  return best;
}

/**
 * Whether any reference answer occurs in any of the texts, both normalised, on word boundaries: for answerable
 * questions, tells an answerer's miss from retrieval's (the answer was never in what it was given).
 */
export function containsAnswer(texts: readonly string[], references: readonly string[]): boolean {
  const wanted = references.map(normalizeAnswer).filter(Boolean);
  if (wanted.length === 0) return false;
  return texts.some((text) => {
    const haystack = ` ${normalizeAnswer(text)} `;
    return wanted.some((reference) => haystack.includes(` ${reference} `));
  });
}

/**
 * Whether the answer cites at least one relevant document: `citations` are 1-based positions in `sourceDocIds`
 * (the document id of each source the chain returned). An answer that cites nothing does not.
 */
export function citesRelevant(
  citations: readonly number[],
  sourceDocIds: readonly string[],
  relevant: Qrels,
): boolean {
  return citations.some((n) => {
    const id = sourceDocIds[n - 1];
    if (id === undefined) return false;
    const grade = relevant instanceof Map ? relevant.get(id) : (relevant as Record<string, number>)[id];
    return typeof grade === "number" && grade > 0;
  });
}

function tokens(text: string): string[] {
  const normal = normalizeAnswer(text);
  return normal ? normal.split(" ") : [];
}

// Questions that ask several things ("what is X and why does Y", "compare X and Y", two questions in one
// message) split into sub-queries, each retrieved on its own and the results merged in turns, so that one part
// does not crowd the other out of the k chunks. Offline by rules (below); with a chat model, by the model
// (chains/qa.ts prompts it with prompts/decompose.md).
import type { ScoredDocument, Searcher, SearchOptions } from "../contracts/search.ts";

/** Splits a question into sub-queries; one (the question itself) when it asks one thing. */
export type Decomposer = (question: string, signal?: AbortSignal) => Promise<string[]>;

const MAX_PARTS = 4;
const WH =
  "what|which|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|can|could|should|will|would";
// "… and why …", "…, and how many …": a conjunction followed by a new question word starts a new question.
const CLAUSE = new RegExp(`\\s*(?:,\\s*)?\\b(?:and|but|also|as well as)\\s+(?=(?:${WH})\\b)`, "i");
// "compare X and Y", "difference between X and Y", "X versus Y".
const COMPARE = /^(?:compare|contrast)\s+(.+?)\s+(?:and|with|to)\s+(.+?)[?.!]*$/i;
const BETWEEN =
  /^(.*?\b(?:difference|differences|similarities|relationship)\s+between)\s+(.+?)\s+and\s+(.+?)[?.!]*$/i;
const VERSUS = /^(.+?)\s+(?:vs\.?|versus)\s+(.+?)[?.!]*$/i;

/** The offline decomposer: sentence by sentence, then by the patterns above; at most four parts. */
export async function decomposeByRules(question: string): Promise<string[]> {
  const parts: string[] = [];
  for (const sentence of question.split(/(?<=\?)\s+/)) {
    const text = sentence.trim();
    if (!text) continue;
    const compared = COMPARE.exec(text) ?? VERSUS.exec(text);
    const between = BETWEEN.exec(text);
    if (between) parts.push(`${between[2]}`, `${between[3]}`);
    else if (compared) parts.push(compared[1], compared[2]);
    else parts.push(...text.split(CLAUSE).map((part) => part.trim()));
  }
  const distinct = [...new Set(parts.filter((part) => /\p{L}{3}/u.test(part)))].slice(0, MAX_PARTS);
  return distinct.length > 1 ? distinct : [question];
}

/**
 * Reads a model's decomposition: one sub-query per line (list marks and numbering dropped), at most four; the
 * question itself when the model gives fewer than two.
 */
export function parseSubQueries(reply: string, question: string): string[] {
  const lines = reply
    .split("\n")
    .map((line) => line.replace(/^\s*(?:[-*•]|\d{1,2}[.)])\s*/, "").trim())
    .filter((line) => /\p{L}{3}/u.test(line));
  const distinct = [...new Set(lines)].slice(0, MAX_PARTS);
  return distinct.length > 1 ? distinct : [question];
}

/**
 * Each sub-query retrieved on its own (`fetch` chunks each), merged in turns: the first of each, then the second
 * of each, …, a chunk found twice kept once (at its first place). Scores are each search's own: comparable
 * within one sub-query's list only, so the order is by turn, not by score.
 */
export async function searchEach(
  searcher: Searcher,
  queries: string[],
  options: SearchOptions,
): Promise<ScoredDocument[]> {
  const lists = await Promise.all(queries.map((query) => searcher.search(query, options)));
  const merged: ScoredDocument[] = [];
  const seen = new Set<string>();
  for (let turn = 0; merged.length < options.k * queries.length; turn++) {
    let any = false;
    for (const list of lists) {
      const found = list[turn];
      if (!found) continue;
      any = true;
      const key = found.document.id ?? found.document.pageContent;
      if (seen.has(key)) continue;
      seen.add(key);
      merged.push(found);
    }
    if (!any) break;
  }
  return merged;
}

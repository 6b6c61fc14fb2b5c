// [n] citations in generated text, shared by the qa chain and the advisor's tools: which numbers a text
// cites, dropping the ones that point at no source, and how a cited chunk is named and quoted.
import type { DocumentInterface } from "@langchain/core/documents";

export const SNIPPET_CHARS = 300;

// One [n], or a group such as [2, 5] or [2; 5] that models write despite being asked for [2][5].
const CITATION_GROUP = /([ \t]*)\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]/g;

/** [n] marks in a generated text that point at a real source (1..count), ascending. */
export function citedNumbers(text: string, count: number): number[] {
  const cited = new Set<number>();
  for (const match of text.matchAll(CITATION_GROUP))
    for (const n of numbersIn(match[2])) if (n >= 1 && n <= count) cited.add(n);
  return [...cited].sort((a, b) => a - b);
}

/**
 * The text with every citation outside 1..count removed (with the space before it), so that no [n] points at
 * a source that does not exist; groups are rewritten as [a][b] so that one pattern finds every citation.
 */
export function keepValidCitations(text: string, count: number): string {
  return text.replace(CITATION_GROUP, (_whole, space: string, group: string) => {
    const valid = [...new Set(numbersIn(group))].filter((n) => n >= 1 && n <= count);
    return valid.length ? `${space}${valid.map((n) => `[${n}]`).join("")}` : "";
  });
}

/** The text without any citation marks, for a summary shown apart from its sources. */
export function withoutCitations(text: string): string {
  return text.replace(CITATION_GROUP, "");
}

/** A chunk's store id (set by retrieval), else the id a loader put in its metadata; "" if it has neither. */
export function chunkId(document: DocumentInterface): string {
  return document.id ?? (typeof document.metadata.id === "string" ? document.metadata.id : "");
}

/** The first ~300 characters of a chunk, cut at a word, for showing a source without its whole text. */
export function opening(text: string, chars = SNIPPET_CHARS): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat.length <= chars) return flat;
  const cut = flat.slice(0, chars);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(" "), chars / 2))}…`;
}

function numbersIn(group: string): number[] {
  return group.split(/[,;]/).map((n) => Number(n.trim()));
}

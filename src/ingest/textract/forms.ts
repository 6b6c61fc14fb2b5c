// Textract FORMS: KEY_VALUE_SET pairs as `key: value` lines, a checkbox value as "[x]" / "[ ]".
import type { Block } from "@aws-sdk/client-textract";
import { type BlockIndex, boxOf, joinWords, type Structure, unionBox } from "./blocks.ts";

export interface FieldRules {
  /** The LINE a word is printed in, if any (checkboxes are in none). */
  lineOf(word: Block): Block | undefined;
  /** A word this pair may not print: a table or table region prints it, or (for a key) a heading does. */
  unavailable(word: Block, part: "key" | "value"): boolean;
  /** The LAYOUT block that holds a word's line, when the response has LAYOUT. */
  regionOf(word: Block): Block | undefined;
}

/**
 * The pairs worth printing as `key: value`, each word in at most one pair (the more confident pair wins).
 * A pair is left to the plain text, which still prints its words, when:
 * - its key or its value is empty (Textract pairs a lone label such as "March" with nothing);
 * - a table, a LAYOUT_TABLE region or a heading owns one of its words (rows and columns say more than a pair);
 * - key and value are one printed line: that line already reads "key value", and re-cutting it only risks a
 *   wrong split ("Seminar Stream: 1 Tuesday");
 * - its words lie in more than one LAYOUT block: layout keeps a label with what belongs to it, so a pair that
 *   crosses blocks has glued separate things together (a heading and the paragraphs under it).
 */
export function readFields(index: BlockIndex, keys: readonly Block[], rules: FieldRules): Structure[] {
  const taken = new Set<Block>();
  const fields: Structure[] = [];
  const byConfidence = [...keys].sort((a, b) => (b.Confidence ?? 0) - (a.Confidence ?? 0));
  for (const key of byConfidence) {
    const keyWords = index.words(key);
    const valueWords = index.related(key, "VALUE").flatMap((value) => index.words(value));
    const keyText = joinWords(keyWords).replace(/\s*:\s*$/, "");
    const valueText = joinWords(valueWords);
    if (keyText === "" || valueText === "") continue;
    const words = [...keyWords, ...valueWords];
    if (words.some((w) => taken.has(w))) continue;
    if (keyWords.some((w) => rules.unavailable(w, "key"))) continue;
    if (valueWords.some((w) => rules.unavailable(w, "value"))) continue;
    if (onOneLine(words, rules) || acrossRegions(words, rules)) continue;
    for (const word of words) taken.add(word);
    fields.push({
      kind: "field",
      words,
      // The key's box, not the pair's: a value far to the right or below would make the pair's box overlap
      // its neighbours, and reading order could no longer cut between them.
      box: unionBox(keyWords.map(boxOf)),
      markdown: `${keyText}: ${valueText}`,
    });
  }
  return fields;
}

function acrossRegions(words: readonly Block[], rules: FieldRules): boolean {
  const regions = new Set(words.map((w) => rules.regionOf(w)));
  regions.delete(undefined);
  return regions.size > 1;
}

function onOneLine(words: readonly Block[], rules: FieldRules): boolean {
  const lines = new Set(words.map((w) => rules.lineOf(w)));
  return lines.size === 1 && !lines.has(undefined);
}

// Headings on pages without LAYOUT, from font size alone: a short line set noticeably larger than the page's
// usual text is written as the LAYOUT path writes LAYOUT_TITLE (#) and LAYOUT_SECTION_HEADER (##).
import type { Block } from "@aws-sdk/client-textract";
import { type BlockIndex, boxOf } from "./blocks.ts";

export type HeadingLevel = 1 | 2;

/** Font size against the page's median line from which a line is a section header, and a title. Body text
 *  ranges over about 1.3x on a page (bold, a larger lead-in); a heading style is at least 1.5x its body. */
export const SECTION_HEADER_SIZE = 1.5;
const TITLE_SIZE = 2.5;
/** Longer lines are text set large (a pull quote, a banner), not headings. */
const MAX_WORDS = 12;

// A LINE's box runs from its tallest letter to its lowest descender, so "Name of package" stands taller than
// "Cell 1" in the same font. The words that reach cap height without descending measure the font itself.
const DESCENDS = /[gjpqyQ(),;[\]{}|$@]/;
const REACHES_CAP = /[A-Z0-9bdfhklt]/;

/** Each line's font size over the page's median: 1 for the page's usual text. */
export function relativeSizes(index: BlockIndex, lines: readonly Block[]): Map<Block, number> {
  const sizes = lines.map((line) => fontSize(index, line));
  const typical = median(sizes);
  return new Map(lines.map((line, i) => [line, typical > 0 ? sizes[i] / typical : 1]));
}

/** The page's heading lines, with their levels. */
export function findHeadings(index: BlockIndex, lines: readonly Block[]): Map<Block, HeadingLevel> {
  const headings = new Map<Block, HeadingLevel>();
  for (const [line, size] of relativeSizes(index, lines)) {
    if (size >= SECTION_HEADER_SIZE && readsAsHeading(line.Text ?? ""))
      headings.set(line, size >= TITLE_SIZE ? 1 : 2);
  }
  return headings;
}

/** Short, with a word in it (not only codes and numbers such as "ESTS8ET03"), not ending a sentence or a
 *  clause, not a "key: value" pair. Costs a heading such as "Chapter 3: Methods" its mark. */
function readsAsHeading(text: string): boolean {
  const tokens = text.trim().split(/\s+/);
  return (
    tokens.length <= MAX_WORDS &&
    tokens.some((t) => /^\p{L}{2,}/u.test(t) && !/\d/.test(t)) &&
    !/[.,;]$/.test(text.trim()) &&
    !/:\s*\S/.test(text)
  );
}

function fontSize(index: BlockIndex, line: Block): number {
  const heights = index
    .words(line)
    .filter((w) => w.BlockType === "WORD" && REACHES_CAP.test(w.Text ?? "") && !DESCENDS.test(w.Text ?? ""))
    .map((w) => boxOf(w).bottom - boxOf(w).top);
  if (heights.length > 0) return median(heights);
  // Every word descends (or none reaches cap height): a descender adds about a quarter to the height.
  return 0.8 * (boxOf(line).bottom - boxOf(line).top);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length > 0 ? sorted[Math.floor(sorted.length / 2)] : 0;
}

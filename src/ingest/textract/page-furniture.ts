// Running heads, footers and page numbers on pages without LAYOUT, found from where lines sit and what repeats,
// so that they are dropped as the LAYOUT path drops LAYOUT_HEADER, LAYOUT_FOOTER and LAYOUT_PAGE_NUMBER.
import type { Block } from "@aws-sdk/client-textract";
import { type BlockIndex, boxOf } from "./blocks.ts";
import { relativeSizes, SECTION_HEADER_SIZE } from "./line-headings.ts";

/** The top and bottom tenth of a page: about an inch of a Letter or A4 page, where margins put furniture. */
const BAND = 0.1;
/** How far apart (page fractions) the same running head may sit on two pages: scans shift a little. */
const SAME_PLACE = 0.02;
/** Two pages that share half their body lines are one template filled in twice, not a document's pages. */
const TEMPLATE = 0.5;

// "3", "- 3 -", "Page 3", "Page 3 of 10", "3/10", "p. 3", "iv".
const PAGE_NUMBER =
  /^(?:(?:page|p\.)\s*)?[-–—]?\s*(?:\d{1,4}|x{0,3}(?:ix|iv|v?i{1,3}|v)|x{1,3})\s*[-–—]?(?:\s*(?:of|\/)\s*\d{1,4})?$/i;

/**
 * The LINE blocks to drop from these pages (lines by page number). A line is furniture when it lies in the top
 * or bottom band of its page, is not set larger than a heading, and either reads as a page number or comes
 * back at the same height on another page with the same words, digits aside ("Annual report, page 3"). Only a
 * page whose body differs counts: the same form filled in on every page repeats every line, and there
 * repetition says nothing. A one-page document can only lose its page number.
 */
export function findFurniture(index: BlockIndex, pages: ReadonlyMap<number, readonly Block[]>): Set<Block> {
  const candidates: Candidate[] = [];
  const bodies = new Map<number, Set<string>>();
  for (const [page, lines] of pages) {
    const body = new Set<string>();
    for (const [line, size] of relativeSizes(index, lines)) {
      const box = boxOf(line);
      const band = box.bottom <= BAND ? "top" : box.top >= 1 - BAND ? "bottom" : undefined;
      if (!band) body.add(repeatKey(line));
      else if (size < SECTION_HEADER_SIZE) candidates.push({ line, page, band, key: repeatKey(line) });
    }
    bodies.set(page, body);
  }
  const compared = new Map<string, boolean>();
  const differ = (a: number, b: number) => {
    const pair = a < b ? `${a}:${b}` : `${b}:${a}`;
    let answer = compared.get(pair);
    if (answer === undefined) {
      const [mine, theirs] = [bodies.get(a) ?? new Set<string>(), bodies.get(b) ?? new Set<string>()];
      const shared = [...mine].filter((key) => theirs.has(key)).length;
      answer = shared < TEMPLATE * Math.min(mine.size, theirs.size);
      compared.set(pair, answer);
    }
    return answer;
  };
  const furniture = new Set<Block>();
  for (const candidate of candidates) {
    const repeated = candidates.some(
      (other) =>
        other.page !== candidate.page &&
        other.band === candidate.band &&
        other.key === candidate.key &&
        Math.abs(boxOf(other.line).top - boxOf(candidate.line).top) <= SAME_PLACE &&
        differ(candidate.page, other.page),
    );
    if (repeated || PAGE_NUMBER.test((candidate.line.Text ?? "").trim())) furniture.add(candidate.line);
  }
  return furniture;
}

interface Candidate {
  line: Block;
  page: number;
  band: "top" | "bottom";
  key: string;
}

/** A line's words with numbers blanked out, so that "Page 2" and "Page 3" are the same running footer. */
function repeatKey(line: Block): string {
  return (line.Text ?? "").toLowerCase().replace(/\d+/g, "#").replace(/\s+/g, " ").trim();
}

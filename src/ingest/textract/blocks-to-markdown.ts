// Textract Blocks → one Markdown text per page, for indexing scans and images like any other document. Pure:
// the Blocks of AnalyzeDocument, DetectDocumentText or the merged pages of an async job in, text out.
import type { Block } from "@aws-sdk/client-textract";
import { BlockIndex, boxOf, pageOf, type Structure } from "./blocks.ts";
import { readFields } from "./forms.ts";
import { type LayoutOptions, writeLayout } from "./layout.ts";
import { findHeadings } from "./line-headings.ts";
import { findFurniture } from "./page-furniture.ts";
import { PageWriter } from "./page-writer.ts";
import { readTable } from "./tables.ts";

export type MarkdownOptions = LayoutOptions;

export interface PageText {
  /** 1-based, as Textract numbers pages. */
  page: number;
  text: string;
  /** Mean confidence (0-100) of the words in `text`; 0 for a page without words. */
  confidence: number;
}

/**
 * Every page that has blocks, in page order. Reading order comes from LAYOUT blocks when the response has them,
 * else from the lines' positions (see reading-order.ts), with headings told by font size (line-headings.ts)
 * and running heads, footers and page numbers by place and repetition (page-furniture.ts). Tables print as
 * Markdown tables and form fields as `key: value` lines where their first word is met; a word printed by a
 * table or field is not printed again.
 */
export function blocksToMarkdown(blocks: readonly Block[], options: MarkdownOptions = {}): PageText[] {
  const index = new BlockIndex(blocks);
  const pages = new Map<number, Block[]>();
  for (const block of blocks) {
    const page = pageOf(block);
    const list = pages.get(page);
    if (list) list.push(block);
    else pages.set(page, [block]);
  }
  // Furniture repeats from page to page, so it is found over the whole document (its pages without LAYOUT).
  const unlaid = new Map<number, Block[]>();
  for (const [page, list] of pages) {
    if (list.some((b) => b.BlockType?.startsWith("LAYOUT_"))) continue;
    unlaid.set(
      page,
      list.filter((b) => b.BlockType === "LINE"),
    );
  }
  const furniture = options.keepHeadersFooters ? new Set<Block>() : findFurniture(index, unlaid);
  return [...pages.keys()]
    .sort((a, b) => a - b)
    .map((page) => ({ page, ...writePage(index, pages.get(page) ?? [], options, furniture) }));
}

function writePage(
  index: BlockIndex,
  blocks: readonly Block[],
  options: MarkdownOptions,
  furniture: ReadonlySet<Block>,
): { text: string; confidence: number } {
  const ofType = (type: string) => blocks.filter((b) => b.BlockType === type);
  const lines = ofType("LINE");
  const layout = blocks.filter((b) => b.BlockType?.startsWith("LAYOUT_"));

  const lineOf = new Map<Block, Block>();
  for (const line of lines) for (const word of index.words(line)) lineOf.set(word, line);
  const regionOf = new Map<Block, Block>();
  for (const block of layout) {
    for (const line of index.related(block).filter((b) => b.BlockType === "LINE")) {
      for (const word of index.words(line)) regionOf.set(word, block);
    }
  }
  const regionType = (word: Block) => regionOf.get(word)?.BlockType;

  // Tables claim their words first: rows and columns carry more than any key-value reading of the same cells.
  const claims = new Map<Block, Structure>();
  const structures: Structure[] = [];
  for (const table of ofType("TABLE")) {
    const structure = readTable(
      index,
      table,
      (caption) => !index.words(caption).some((w) => regionOf.has(w)),
    );
    if (!structure) continue;
    structures.push(structure);
    for (const word of structure.words) if (!claims.has(word)) claims.set(word, structure);
  }
  const keys = ofType("KEY_VALUE_SET").filter((b) => b.EntityTypes?.includes("KEY"));
  for (const field of readFields(index, keys, {
    lineOf: (word) => lineOf.get(word),
    regionOf: (word) => regionOf.get(word),
    // A LAYOUT_TABLE region reads row by row ("Gross Pay $ 452.43 23,526.80"); a pair cut out of it breaks
    // its rows apart. A heading is not a key, whatever Textract pairs it with.
    unavailable: (word, part) =>
      claims.has(word) ||
      regionType(word) === "LAYOUT_TABLE" ||
      (part === "key" && ["LAYOUT_TITLE", "LAYOUT_SECTION_HEADER"].includes(regionType(word) ?? "")),
  })) {
    structures.push(field);
    for (const word of field.words) claims.set(word, field);
  }

  const writer = new PageWriter({ index, claims, unit: medianHeight(lines) });
  if (layout.length > 0) {
    writeLayout(writer, index, { layout, lines, structures }, options);
  } else {
    const kept = lines.filter((line) => !furniture.has(line));
    const dropped = new Set(lines.filter((line) => furniture.has(line)).flatMap((line) => index.words(line)));
    const segments = writer.segments(kept);
    // As on a LAYOUT page: a table or field that only furniture words belong to goes with them.
    for (const structure of structures) {
      const text = structure.words.filter((w) => w.BlockType === "WORD");
      if (writer.isTaken(structure) || (text.length > 0 && text.every((w) => dropped.has(w)))) continue;
      segments.push(writer.take(structure));
    }
    writer.positioned(segments, findHeadings(index, kept));
  }
  return { text: writer.text(), confidence: writer.confidence() };
}

function medianHeight(lines: readonly Block[]): number {
  const heights = lines.map((l) => boxOf(l).bottom - boxOf(l).top).sort((a, b) => a - b);
  return heights.length > 0 ? heights[Math.floor(heights.length / 2)] : 0.01;
}

// A page read through Textract's LAYOUT blocks, which come in reading order: titles and section headers as
// headings, text and lists as paragraphs, table and key-value regions by position; page furniture dropped.
import type { Block } from "@aws-sdk/client-textract";
import type { BlockIndex, Structure } from "./blocks.ts";
import type { PageWriter, Segment } from "./page-writer.ts";

export interface LayoutOptions {
  /** Print LAYOUT_HEADER, LAYOUT_FOOTER and LAYOUT_PAGE_NUMBER: running heads, footers and page numbers repeat
   *  on every page and say nothing about the page, so they are dropped unless asked for. */
  keepHeadersFooters?: boolean;
  /** Print the words inside LAYOUT_FIGURE: axis labels and calendar grids read as noise, so they are dropped
   *  unless asked for. */
  keepFigureText?: boolean;
}

const FURNITURE = new Set(["LAYOUT_HEADER", "LAYOUT_FOOTER", "LAYOUT_PAGE_NUMBER"]);
const BULLET = /^\s*(?:[•●▪◦·○■□‣⁃*]|-(?=\s))\s*/;
const NUMBERED = /^\s*\d{1,3}[.)]\s/;

/**
 * Writes the page's layout blocks in order. Words no layout block holds (rare) and tables or fields met in no
 * kept block follow at the end, in reading order; a structure all of whose words sit in dropped blocks is
 * dropped with them.
 */
export function writeLayout(
  writer: PageWriter,
  index: BlockIndex,
  page: { layout: readonly Block[]; lines: readonly Block[]; structures: readonly Structure[] },
  options: LayoutOptions,
): void {
  const children = (block: Block) => index.related(block);
  const lineChildren = (block: Block) => children(block).filter((c) => c.BlockType === "LINE");
  const layoutBlocks = page.layout;
  const nested = new Set(layoutBlocks.flatMap(children));
  const inLayout = new Set<Block>();
  const dropped = new Set<Block>();
  for (const block of layoutBlocks) {
    const lines = allLines(block, lineChildren, children);
    for (const line of lines) inLayout.add(line);
    if (isDropped(block, options))
      for (const line of lines) for (const word of index.words(line)) dropped.add(word);
  }

  for (const block of layoutBlocks) {
    if (nested.has(block) || isDropped(block, options)) continue;
    const lines = lineChildren(block);
    switch (block.BlockType) {
      case "LAYOUT_TITLE":
        writer.heading(1, writer.segments(lines));
        break;
      case "LAYOUT_SECTION_HEADER":
        writer.heading(2, writer.segments(lines));
        break;
      case "LAYOUT_TABLE":
      case "LAYOUT_KEY_VALUE":
        // Without TABLES/FORMS the lines of a table region are its cells: joined by row, they keep a row's
        // values together ("Regular 10.00 32.00 320.00").
        writer.positioned(writer.segments(lines));
        break;
      case "LAYOUT_LIST":
        writeList(writer, block, lineChildren, children);
        break;
      default:
        writer.paragraph(writer.segments(lines));
    }
  }

  const rest: Segment[] = writer.segments(page.lines.filter((line) => !inLayout.has(line)));
  // A structure with a word in a kept block was printed there; one whose words (checkboxes aside) all sit in
  // dropped blocks goes with them; any other (words outside every layout block) still belongs to the page.
  for (const structure of page.structures) {
    const text = structure.words.filter((w) => w.BlockType === "WORD");
    if (writer.isTaken(structure) || text.every((w) => dropped.has(w))) continue;
    rest.push(writer.take(structure));
  }
  writer.positioned(rest);
}

function isDropped(block: Block, options: LayoutOptions): boolean {
  if (FURNITURE.has(block.BlockType ?? "")) return !options.keepHeadersFooters;
  if (block.BlockType === "LAYOUT_FIGURE") return !options.keepFigureText;
  return false;
}

/** A list's items are LAYOUT_TEXT children (one item each) or, in some responses, LINEs: a line that starts
 *  with a bullet or a number starts an item, any other continues the item before it. */
function writeList(
  writer: PageWriter,
  list: Block,
  lineChildren: (block: Block) => Block[],
  children: (block: Block) => Block[],
): void {
  const items: string[] = [];
  const add = (segments: Segment[], forceNew: boolean) => {
    for (const segment of segments) {
      if (segment.kind === "table") {
        flushItems(writer, items);
        writer.block(segment.markdown);
        continue;
      }
      const text = segment.kind === "text" ? segment.text : segment.markdown;
      const bullet = text.match(BULLET);
      if (forceNew || bullet || NUMBERED.test(text) || items.length === 0) {
        items.push(NUMBERED.test(text) ? text.trim() : `- ${text.slice(bullet?.[0].length ?? 0).trim()}`);
        forceNew = false;
      } else {
        items[items.length - 1] += ` ${text.trim()}`;
      }
    }
  };
  for (const child of children(list)) {
    if (child.BlockType === "LINE") add(writer.segments([child]), false);
    else add(writer.segments(lineChildren(child)), true);
  }
  flushItems(writer, items);
}

function flushItems(writer: PageWriter, items: string[]): void {
  for (const item of items.splice(0)) writer.line(item);
  writer.endParagraph();
}

function allLines(
  block: Block,
  lineChildren: (block: Block) => Block[],
  children: (block: Block) => Block[],
): Block[] {
  return [
    ...lineChildren(block),
    ...children(block)
      .filter((c) => c.BlockType?.startsWith("LAYOUT_"))
      .flatMap((c) => allLines(c, lineChildren, children)),
  ];
}

// A Textract TABLE as a Markdown table: cells at their RowIndex/ColumnIndex, merged cells printed once, the
// table's title above and footer below as plain lines.
import type { Block } from "@aws-sdk/client-textract";
import { type BlockIndex, boxOf, joinWords, type Structure, unionBox } from "./blocks.ts";

/**
 * `printCaption` decides, per TABLE_TITLE / TABLE_FOOTER, whether the table prints it: with LAYOUT the same
 * words usually belong to a section header or a page footer, which then keeps them in its own role.
 * Returns undefined for a table without cells.
 *
 * A merged cell's text goes in its top-left position and the positions it covers stay empty. Repeating it would
 * print the same words several times (which reads as several values, e.g. "Gross Pay | Gross Pay", and weighs
 * the words twice in search); an empty cell next to a value reads as "spanned", as it does on paper.
 */
export function readTable(
  index: BlockIndex,
  table: Block,
  printCaption: (caption: Block) => boolean,
): Structure | undefined {
  const cells = index.related(table).filter((b) => b.BlockType === "CELL");
  if (cells.length === 0) return undefined;
  const rows = Math.max(...cells.map((c) => (c.RowIndex ?? 1) + (c.RowSpan ?? 1) - 1));
  const columns = Math.max(...cells.map((c) => (c.ColumnIndex ?? 1) + (c.ColumnSpan ?? 1) - 1));
  const grid = Array.from({ length: rows }, () => Array<string>(columns).fill(""));
  const words: Block[] = [];
  const cellText = new Map<Block, string>();
  for (const cell of cells) {
    const cellWords = index.words(cell);
    words.push(...cellWords);
    cellText.set(cell, joinWords(cellWords));
    grid[(cell.RowIndex ?? 1) - 1][(cell.ColumnIndex ?? 1) - 1] = cellText.get(cell) ?? "";
  }
  for (const merged of index.related(table, "MERGED_CELL")) {
    const parts = index
      .related(merged)
      .filter((b) => b.BlockType === "CELL")
      .sort((a, b) => (a.RowIndex ?? 1) - (b.RowIndex ?? 1) || (a.ColumnIndex ?? 1) - (b.ColumnIndex ?? 1));
    for (const part of parts) grid[(part.RowIndex ?? 1) - 1][(part.ColumnIndex ?? 1) - 1] = "";
    grid[(merged.RowIndex ?? 1) - 1][(merged.ColumnIndex ?? 1) - 1] = parts
      .map((p) => cellText.get(p) ?? joinWords(index.words(p)))
      .filter((t) => t !== "")
      .join(" ");
  }

  const captions = (type: "TABLE_TITLE" | "TABLE_FOOTER") => index.related(table, type).filter(printCaption);
  const titles = captions("TABLE_TITLE");
  const footers = captions("TABLE_FOOTER");
  const captionText = (caption: Block) => {
    const captionWords = index.words(caption);
    words.push(...captionWords);
    return joinWords(captionWords);
  };
  const parts = [...titles.map(captionText), markdownTable(grid), ...footers.map(captionText)].filter(
    (p) => p !== "",
  );
  return {
    kind: "table",
    words,
    box: unionBox([table, ...titles, ...footers].map(boxOf)),
    markdown: parts.join("\n\n"),
  };
}

/** The first row is the header row: Markdown tables need one, and Textract's COLUMN_HEADER rows come first. */
function markdownTable(grid: string[][]): string {
  const row = (cells: string[]) => `| ${cells.map(escapeCell).join(" | ")} |`;
  const [header, ...body] = grid;
  return [row(header), row(header.map(() => "---")), ...body.map(row)].join("\n");
}

function escapeCell(text: string): string {
  return text.replace(/\s+/g, " ").replace(/\|/g, "\\|");
}

// Reading order for boxes on a page (lines, tables, form fields) when Textract's LAYOUT does not give one: a
// recursive XY-cut that reads a two-column page column by column but a table-like grid row by row.
import {
  type Columns,
  columnCut,
  continueColumns,
  horizontalBands,
  type Placed,
  proseColumns,
  splitAtColumnChanges,
} from "./line-columns.ts";

export type { Placed } from "./line-columns.ts";

export interface Row<T> {
  /** What sits side by side on one visual row, left to right. */
  items: T[];
  /** The row starts a new paragraph or column: a blank line reads better before it. */
  breakBefore: boolean;
}

/**
 * `unit` is the typical line height on the page (a page fraction). At each region, in this order:
 * 1. it splits into stacked sections, read top to bottom: at each horizontal gap at least one line high (title,
 *    body, footer), and where columns begin or end without such a gap (see line-columns.ts). Two columns of
 *    running text go on across blank rows that cross both: they stay one section, read column by column;
 * 2. else a vertical gap splits it into columns, read left then right, but only where the rows on both sides
 *    do not line up or both sides are running text: side-by-side rows of short items that share their
 *    baselines are a grid (a table, a form, label and value), which reads across;
 * 3. else it reads row by row, each row left to right.
 * Known limit: a grid whose cells hold sentences on both sides reads as two columns.
 */
export function readingOrder<T>(items: readonly Placed<T>[], unit: number): Row<T>[] {
  const rows: Row<T>[] = [];
  cut(items, unit > 0 ? unit : 0.01, rows, false);
  return rows;
}

interface Section<T> {
  items: Placed<T>[];
  /** Set when blocks across blank rows were joined as two columns of running text. */
  columns?: Columns<T>;
}

function cut<T>(items: readonly Placed<T>[], unit: number, out: Row<T>[], breakBefore: boolean): void {
  if (items.length === 0) return;
  const sections = stack(items, unit);
  if (sections.length > 1 || sections[0].columns) {
    for (const [i, section] of sections.entries()) {
      const first = i === 0 ? breakBefore : true;
      if (section.columns) {
        cut(section.columns[0], unit, out, first);
        cut(section.columns[1], unit, out, true);
      } else cut(section.items, unit, out, first);
    }
    return;
  }
  const columns = columnCut(items, unit);
  if (columns) {
    cut(columns[0], unit, out, breakBefore);
    cut(columns[1], unit, out, true);
    return;
  }
  const bands = horizontalBands(items, unit);
  if (bands.length > 1) {
    for (const [i, band] of bands.entries()) cut(band.items, unit, out, i === 0 && breakBefore);
    return;
  }
  out.push({ items: oneRow(items).map((p) => p.value), breakBefore });
}

/** The region's stacked sections, top to bottom (step 1 of readingOrder). */
function stack<T>(items: readonly Placed<T>[], unit: number): Section<T>[] {
  const blocks: Placed<T>[][] = [];
  for (const band of horizontalBands(items, unit)) {
    if (blocks.length === 0 || band.gap >= unit) blocks.push([...band.items]);
    else blocks[blocks.length - 1].push(...band.items);
  }
  const sections: Section<T>[] = [];
  // The columns of running text that the last section ends with, which a block below may carry on.
  let chain: Columns<T> | undefined;
  for (const block of blocks.flatMap((b) => splitAtColumnChanges(b, unit))) {
    const grown = chain && continueColumns(chain, block, unit);
    if (grown) {
      const last = sections[sections.length - 1];
      last.items.push(...block);
      last.columns = grown;
      chain = grown;
      continue;
    }
    chain = proseColumns(block, unit);
    sections.push({ items: [...block] });
  }
  return sections;
}

/** One visual row, left to right; boxes stacked within it (a cell's two lines) top to bottom. */
function oneRow<T>(items: readonly Placed<T>[]): Placed<T>[] {
  const sorted = [...items].sort((a, b) => a.box.left - b.box.left);
  const stacks: Placed<T>[][] = [];
  let right = Number.NEGATIVE_INFINITY;
  for (const item of sorted) {
    if (stacks.length === 0 || item.box.left >= right) stacks.push([item]);
    else stacks[stacks.length - 1].push(item);
    right = Math.max(right, item.box.right);
  }
  return stacks.flatMap((stack) => stack.sort((a, b) => a.box.top - b.box.top));
}

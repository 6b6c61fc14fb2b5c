// Reading order for boxes on a page (lines, tables, form fields) when Textract's LAYOUT does not give one: a
// recursive XY-cut that reads a two-column page column by column but a table-like grid row by row.
import type { Box } from "./blocks.ts";

export interface Placed<T> {
  box: Box;
  value: T;
}

export interface Row<T> {
  /** What sits side by side on one visual row, left to right. */
  items: T[];
  /** The row starts a new paragraph or column: a blank line reads better before it. */
  breakBefore: boolean;
}

/**
 * `unit` is the typical line height on the page (a page fraction). At each region, in this order:
 * 1. a horizontal gap at least one line high splits it into stacked blocks (title, body, footer);
 * 2. else a vertical gap splits it into columns, read left then right, but only where the rows on both sides
 *    do not line up: side-by-side rows that share their baselines are a grid (a table, a form, label and
 *    value), which reads across, while two columns of text break lines independently;
 * 3. else it reads row by row, each row left to right.
 * Known limit: two columns of prose whose lines share baselines exactly look like a grid and read across.
 */
export function readingOrder<T>(items: readonly Placed<T>[], unit: number): Row<T>[] {
  const rows: Row<T>[] = [];
  cut(items, unit > 0 ? unit : 0.01, rows, false);
  return rows;
}

function cut<T>(items: readonly Placed<T>[], unit: number, out: Row<T>[], breakBefore: boolean): void {
  if (items.length === 0) return;
  const bands = horizontalBands(items, unit);
  const blocks: Placed<T>[][] = [];
  for (const band of bands) {
    if (blocks.length === 0 || band.gap >= unit) blocks.push([...band.items]);
    else blocks[blocks.length - 1].push(...band.items);
  }
  if (blocks.length > 1) {
    for (const [i, block] of blocks.entries()) cut(block, unit, out, i === 0 ? breakBefore : true);
    return;
  }
  const columns = columnCut(items, unit);
  if (columns) {
    cut(columns[0], unit, out, breakBefore);
    cut(columns[1], unit, out, true);
    return;
  }
  if (bands.length > 1) {
    for (const [i, band] of bands.entries()) cut(band.items, unit, out, i === 0 && breakBefore);
    return;
  }
  out.push({ items: oneRow(items).map((p) => p.value), breakBefore });
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

interface Band<T> {
  items: Placed<T>[];
  /** Space between this band and the one above (negative when they overlap a little). */
  gap: number;
}

/** Items grouped into horizontal bands by vertical overlap; a sliver of overlap (descenders, skew) still
 *  separates two rows. */
function horizontalBands<T>(items: readonly Placed<T>[], unit: number): Band<T>[] {
  const tolerance = 0.25 * unit;
  const sorted = [...items].sort((a, b) => a.box.top - b.box.top);
  const bands: Band<T>[] = [];
  let bottom = Number.NEGATIVE_INFINITY;
  for (const item of sorted) {
    if (bands.length === 0 || item.box.top >= bottom - tolerance) {
      bands.push({ items: [item], gap: bands.length === 0 ? 0 : item.box.top - bottom });
      bottom = item.box.bottom;
    } else {
      bands[bands.length - 1].items.push(item);
      bottom = Math.max(bottom, item.box.bottom);
    }
  }
  return bands;
}

/**
 * The vertical gap that best splits the region into two columns, if any. A side is independent when fewer
 * than 60% of its items have a partner on the same visual row across the gap. The gap is a column gutter when
 * one side is independent, unless a narrow side (under a quarter of the region's width) lines up with the
 * other: that is a column of row labels ("Regular", "Overtime") beside their values, which reads across. A
 * narrow side that does not line up (vertical text in a margin, a sidebar) is still a column.
 */
function columnCut<T>(items: readonly Placed<T>[], unit: number): [Placed<T>[], Placed<T>[]] | undefined {
  const sorted = [...items].sort((a, b) => a.box.left - b.box.left);
  const width = Math.max(...items.map((p) => p.box.right)) - sorted[0].box.left;
  const narrow = (side: Placed<T>[]) =>
    Math.max(...side.map((p) => p.box.right)) - Math.min(...side.map((p) => p.box.left)) < 0.25 * width;
  let best: { at: number; alignment: number } | undefined;
  let right = sorted[0].box.right;
  for (let i = 1; i < sorted.length; i += 1) {
    if (sorted[i].box.left - right >= 0.5 * unit) {
      const sides = [sorted.slice(0, i), sorted.slice(i)];
      const shares = [partnered(sides[0], sides[1], unit), partnered(sides[1], sides[0], unit)];
      const alignment = Math.min(...shares);
      const labels = sides.some((side, k) => narrow(side) && shares[k] >= INDEPENDENT);
      if (alignment < INDEPENDENT && !labels && (!best || alignment < best.alignment))
        best = { at: i, alignment };
    }
    right = Math.max(right, sorted[i].box.right);
  }
  return best ? [sorted.slice(0, best.at), sorted.slice(best.at)] : undefined;
}

const INDEPENDENT = 0.6;

/** The share of `side`'s items that have a partner in `other` on the same visual row. */
function partnered<T>(side: Placed<T>[], other: Placed<T>[], unit: number): number {
  const middle = (b: Box) => (b.top + b.bottom) / 2;
  const height = (b: Box) => b.bottom - b.top;
  // A box taller than a few lines (a table, vertical text) has no row; it cannot be anyone's partner.
  const isRow = (b: Box) => height(b) <= 3 * unit;
  const count = side.filter(
    (a) =>
      isRow(a.box) &&
      other.some(
        (b) =>
          isRow(b.box) &&
          Math.abs(middle(a.box) - middle(b.box)) <= 0.5 * Math.min(height(a.box), height(b.box)),
      ),
  ).length;
  return count / side.length;
}

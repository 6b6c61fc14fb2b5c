// Columns among the boxes of a page region, from geometry alone: rows, gutters, where one column turns into two
// and back, and whether two sides of a gutter are columns or a grid. Hand-written: amazon-textract-response-parser
// (npm) orders lines by a heuristic too, but over its own object model, blind to the tables and fields printed here.
import type { Box } from "./blocks.ts";

export interface Placed<T> {
  box: Box;
  value: T;
  /** The word count of a line of text; tables and fields leave it out. Tells running text from grid cells. */
  words?: number;
}

export interface Band<T> {
  items: Placed<T>[];
  /** Space between this band and the one above (negative when they overlap a little). */
  gap: number;
}

export type Columns<T> = [Placed<T>[], Placed<T>[]];

/** Items grouped into horizontal bands by vertical overlap; a sliver of overlap (descenders, skew) still
 *  separates two rows. */
export function horizontalBands<T>(items: readonly Placed<T>[], unit: number): Band<T>[] {
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
 * narrow side that does not line up (vertical text in a margin, a sidebar) is still a column. Two sides of
 * running text are columns even when their lines share baselines, as typeset columns do.
 */
export function columnCut<T>(items: readonly Placed<T>[], unit: number): Columns<T> | undefined {
  if (items.length < 2) return undefined;
  const sorted = [...items].sort((a, b) => a.box.left - b.box.left);
  const width = Math.max(...items.map((p) => p.box.right)) - sorted[0].box.left;
  const narrow = (side: Placed<T>[]) => extent(side).right - extent(side).left < 0.25 * width;
  let best: { at: number; alignment: number } | undefined;
  let right = sorted[0].box.right;
  for (let i = 1; i < sorted.length; i += 1) {
    if (sorted[i].box.left - right >= GUTTER * unit) {
      const sides = [sorted.slice(0, i), sorted.slice(i)];
      const shares = [partnered(sides[0], sides[1], unit), partnered(sides[1], sides[0], unit)];
      const alignment = Math.min(...shares);
      const labels = sides.some((side, k) => narrow(side) && shares[k] >= INDEPENDENT);
      const columns = (alignment < INDEPENDENT && !labels) || sides.every((side) => isProse(side));
      if (columns && (!best || alignment < best.alignment)) best = { at: i, alignment };
    }
    right = Math.max(right, sorted[i].box.right);
  }
  return best ? [sorted.slice(0, best.at), sorted.slice(best.at)] : undefined;
}

/**
 * A region without a blank row in it, cut where its columns begin or end: the full-width lines of an
 * introduction, the two columns under them, the full-width lines under both. A band of lines is full-width
 * when a line in it crosses the gutter. The region is cut only where some run of bands between full-width ones
 * reads as columns (see columnCut); a grid under a full-width title, which reads row by row either way, is
 * left whole.
 */
export function splitAtColumnChanges<T>(items: readonly Placed<T>[], unit: number): Placed<T>[][] {
  const bands = horizontalBands(items, unit);
  if (bands.length < 2) return [[...items]];
  // Which bands a line crosses `x` in, as a string of 0 and 1: candidates that agree need one look.
  const crossing = (x: number) =>
    bands.map((band) => (band.items.some((p) => p.box.left < x && p.box.right > x) ? "1" : "0")).join("");
  const tried = new Set<string>();
  let best: { runs: Placed<T>[][]; columned: number } | undefined;
  for (const x of gutterCandidates(bands, unit)) {
    const key = crossing(x);
    if (tried.has(key) || !key.includes("1") || !key.includes("0")) continue;
    tried.add(key);
    const full = [...key].map((c) => c === "1");
    const runs = runsAround(bands, full, x);
    const columned = runs.filter((run) => run.split && readsAsColumns(run.items, x, unit));
    if (columned.length === 0) continue;
    // A full-width band crosses the whole gutter, not just a point near one of its edges: the middle of the
    // strip the columns leave blank must split the bands the same way.
    const strip = gutterOf([
      columned.flatMap((run) => run.items.filter((p) => p.box.right <= x)),
      columned.flatMap((run) => run.items.filter((p) => p.box.left >= x)),
    ]);
    if (crossing((strip.left + strip.right) / 2) !== key) continue;
    const count = columned.reduce((sum, run) => sum + run.items.length, 0);
    if (!best || count > best.columned) best = { runs: runs.map((run) => run.items), columned: count };
  }
  return best?.runs ?? [[...items]];
}

/**
 * Whether `block`, met below two columns of running text with a blank row between, carries those columns on:
 * none of its lines crosses their gutter and each of its sides is running text too. Typeset columns often
 * leave blank rows at the same height in both (paragraph breaks, a heading's space), which are no reason to
 * read across. Gives the columns grown by the block, or undefined.
 */
export function continueColumns<T>(
  columns: Columns<T>,
  block: readonly Placed<T>[],
  unit: number,
): Columns<T> | undefined {
  const gutter = gutterOf(columns);
  const middle = (gutter.left + gutter.right) / 2;
  const left = block.filter((p) => p.box.right <= middle);
  const right = block.filter((p) => p.box.left >= middle);
  if (left.length + right.length < block.length) return undefined;
  if (![left, right].every((side) => side.length === 0 || isProse(side, 1))) return undefined;
  const grown: Columns<T> = [
    [...columns[0], ...left],
    [...columns[1], ...right],
  ];
  const { left: from, right: to } = gutterOf(grown);
  return to - from >= GUTTER * unit ? grown : undefined;
}

/** Two columns of running text: each side mostly lines of several words (see isProse). */
export function proseColumns<T>(block: readonly Placed<T>[], unit: number): Columns<T> | undefined {
  const columns = columnCut(block, unit);
  return columns?.every((side) => isProse(side, 1)) ? columns : undefined;
}

/** A gutter at least half a line wide separates columns; word gaps inside a LINE never show here. */
const GUTTER = 0.5;
const INDEPENDENT = 0.6;

/** Running text: at least `minLines` items, 60% of them lines of four words or more. Grid cells, labels,
 *  values and addresses are shorter. */
function isProse<T>(side: readonly Placed<T>[], minLines = 3): boolean {
  const text = side.filter((p) => (p.words ?? 0) >= 4).length;
  return side.length >= minLines && text >= 0.6 * side.length;
}

function extent<T>(side: readonly Placed<T>[]): { left: number; right: number } {
  return {
    left: Math.min(...side.map((p) => p.box.left)),
    right: Math.max(...side.map((p) => p.box.right)),
  };
}

/** The blank strip between two columns: from the left side's rightmost edge to the right side's leftmost. */
function gutterOf<T>(columns: Columns<T>): { left: number; right: number } {
  return { left: extent(columns[0]).right, right: extent(columns[1]).left };
}

/** The run's own column cut is the one at `x`, with at least two boxes on either side: a gutter crossed only
 *  now and then (between a label and the line under it) is no column gutter. */
function readsAsColumns<T>(run: readonly Placed<T>[], x: number, unit: number): boolean {
  const columns = columnCut(run, unit);
  return (
    columns !== undefined &&
    columns[0].length >= 2 &&
    columns[1].length >= 2 &&
    columns[0].every((p) => p.box.right <= x) &&
    columns[1].every((p) => p.box.left >= x)
  );
}

/** Places to try a gutter: inside each gap between boxes on one band, near either edge and in the middle,
 *  since a ragged or indented line moves one edge of the gutter but rarely both. */
function gutterCandidates<T>(bands: readonly Band<T>[], unit: number): number[] {
  const found = new Set<number>();
  for (const band of bands) {
    const sorted = [...band.items].sort((a, b) => a.box.left - b.box.left);
    let right = sorted[0].box.right;
    for (const item of sorted.slice(1)) {
      if (item.box.left - right >= GUTTER * unit) {
        const inset = 0.25 * unit;
        for (const x of [right + inset, (right + item.box.left) / 2, item.box.left - inset])
          found.add(Math.round(x * 1000) / 1000);
      }
      right = Math.max(right, item.box.right);
    }
  }
  return [...found];
}

/**
 * Bands grouped into runs: full-width ones, and split ones that have boxes on both sides of `x`. A split run
 * with boxes on one side only joins the full-width text around it, and so do the boxes left of `x` that open a
 * split run under full-width text and end above the right column's first line: the short last line of a
 * full-width paragraph leaves the gutter blank without being part of a column.
 */
function runsAround<T>(
  bands: readonly Band<T>[],
  full: readonly boolean[],
  x: number,
): { items: Placed<T>[]; split: boolean }[] {
  const groups: { bands: Band<T>[]; split: boolean }[] = [];
  for (const [i, band] of bands.entries()) {
    const last = groups[groups.length - 1];
    if (last && last.split === !full[i]) last.bands.push(band);
    else groups.push({ bands: [band], split: !full[i] });
  }
  const runs: { items: Placed<T>[]; split: boolean }[] = [];
  for (const group of groups) {
    let items = group.bands.flatMap((band) => band.items);
    const right = items.filter((p) => p.box.left >= x);
    const split = group.split && right.length > 0 && items.some((p) => p.box.right <= x);
    const last = runs[runs.length - 1];
    if (split && last && !last.split) {
      const columnsTop = Math.min(...right.map((p) => p.box.top));
      const opening = items.filter((p) => p.box.right <= x && p.box.bottom <= columnsTop);
      last.items.push(...opening);
      items = items.filter((p) => !opening.includes(p));
    }
    if (last && !last.split && !split) last.items.push(...items);
    else runs.push({ items, split });
  }
  return runs;
}

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

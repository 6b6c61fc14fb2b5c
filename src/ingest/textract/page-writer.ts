// Writes one page's Markdown while keeping count of the words printed: each word at most once, whether it
// comes as loose text or inside a table or form field, and their mean confidence.
import type { Block } from "@aws-sdk/client-textract";
import { type BlockIndex, type Box, boxOf, joinWords, type Structure, unionBox } from "./blocks.ts";
import type { HeadingLevel } from "./line-headings.ts";
import { type Placed, type Row, readingOrder } from "./reading-order.ts";

/** What a page is made of once tables and fields have claimed their words. */
export interface PageContext {
  index: BlockIndex;
  /** The table or field that prints a word, if any. */
  claims: ReadonlyMap<Block, Structure>;
  /** The typical line height, for reading order. */
  unit: number;
}

/** Loose words of one LINE (those no table or field prints), or a structure met while reading lines. */
export type Segment = { kind: "text"; text: string; box: Box; line: Block } | Structure;

export class PageWriter {
  private readonly blocks: string[] = [];
  private lines: string[] = [];
  private readonly printed = new Set<Block>();
  private readonly started = new Set<Structure>();

  constructor(private readonly page: PageContext) {}

  /**
   * The segments of some LINEs in the given order: unclaimed words stay on their line; the first word of a
   * table or field brings in the whole structure (once per page); words printed already are skipped.
   */
  segments(lines: readonly Block[]): Segment[] {
    const segments: Segment[] = [];
    for (const line of lines) {
      const all = this.page.index.words(line);
      let loose: Block[] = [];
      const flush = () => {
        if (loose.length === 0) return;
        const text = loose.length === all.length && line.Text ? line.Text : joinWords(loose);
        segments.push({ kind: "text", text, box: unionBox(loose.map(boxOf)), line });
        for (const word of loose) this.printed.add(word);
        loose = [];
      };
      for (const word of all) {
        if (this.printed.has(word)) continue;
        const structure = this.page.claims.get(word);
        if (!structure) {
          loose.push(word);
          continue;
        }
        if (this.started.has(structure)) continue;
        flush();
        segments.push(this.take(structure));
      }
      flush();
    }
    return segments;
  }

  /** Marks a structure (and its words) as printed by whoever asked for it. */
  take(structure: Structure): Structure {
    this.started.add(structure);
    for (const word of structure.words) this.printed.add(word);
    return structure;
  }

  isTaken(structure: Structure): boolean {
    return this.started.has(structure);
  }

  /** Lines of a paragraph: text lines and field lines together, a table as its own block. */
  paragraph(segments: readonly Segment[]): void {
    for (const segment of segments) {
      if (segment.kind === "table") this.block(segment.markdown);
      else this.line(segment.kind === "text" ? segment.text : segment.markdown);
    }
    this.endParagraph();
  }

  /** A heading from the text segments; fields and tables inside it follow it as they are. */
  heading(level: 1 | 2, segments: readonly Segment[]): void {
    const text = segments
      .filter((s) => s.kind === "text")
      .map((s) => s.text)
      .join(" ");
    if (text !== "") this.block(`${"#".repeat(level)} ${text}`);
    this.paragraph(segments.filter((s) => s.kind !== "text"));
  }

  /** Segments whose order comes from their position (a table region, lines outside any layout block, a page
   *  without LAYOUT): rows read left to right, side-by-side text joined on one line. A row made only of
   *  `headings` lines is a heading; consecutive ones at one level, a line apart, are one wrapped heading. */
  positioned(segments: readonly Segment[], headings?: ReadonlyMap<Block, HeadingLevel>): void {
    const placed: Placed<Segment>[] = segments.map((s) => ({
      box: s.box,
      value: s,
      words: s.kind === "text" ? s.text.split(/\s+/).length : undefined,
    }));
    let heading: { level: HeadingLevel; segments: Segment[]; box: Box } | undefined;
    const flush = () => {
      if (heading) this.heading(heading.level, heading.segments);
      heading = undefined;
    };
    for (const row of readingOrder(placed, this.page.unit)) {
      const level = headings && headingLevel(row.items, headings);
      if (!level) {
        flush();
        this.row(row);
        continue;
      }
      const box = unionBox(row.items.map((s) => s.box));
      if (heading?.level === level && wrapsOnto(heading.box, box)) {
        heading.segments.push(...row.items);
        heading.box = unionBox([heading.box, box]);
      } else {
        flush();
        heading = { level, segments: [...row.items], box };
      }
    }
    flush();
    this.endParagraph();
  }

  line(text: string): void {
    if (text.trim() !== "") this.lines.push(text);
  }

  block(markdown: string): void {
    this.endParagraph();
    if (markdown.trim() !== "") this.blocks.push(markdown);
  }

  endParagraph(): void {
    if (this.lines.length > 0) this.blocks.push(this.lines.join("\n"));
    this.lines = [];
  }

  text(): string {
    this.endParagraph();
    return this.blocks.join("\n\n");
  }

  /** The mean confidence (0-100) of the words printed; 0 when none. */
  confidence(): number {
    if (this.printed.size === 0) return 0;
    let sum = 0;
    for (const word of this.printed) sum += word.Confidence ?? 0;
    return sum / this.printed.size;
  }

  private row(row: Row<Segment>): void {
    if (row.breakBefore) this.endParagraph();
    let text: string[] = [];
    const flush = () => {
      if (text.length > 0) this.line(text.join(" "));
      text = [];
    };
    for (const segment of row.items) {
      if (segment.kind === "text") {
        text.push(segment.text);
        continue;
      }
      flush();
      if (segment.kind === "table") this.block(segment.markdown);
      else this.line(segment.markdown);
    }
    flush();
  }
}

/** The level of a row whose items are all heading lines (the lower level if they differ), else undefined. */
function headingLevel(
  items: readonly Segment[],
  headings: ReadonlyMap<Block, HeadingLevel>,
): HeadingLevel | undefined {
  const levels = items.map((s) => (s.kind === "text" ? headings.get(s.line) : undefined));
  if (levels.length === 0 || levels.some((l) => l === undefined)) return undefined;
  return levels.includes(2) ? 2 : 1;
}

/** `next` is the following line of a heading that wrapped: just below it, less than a line apart, and
 *  overlapping it across. */
function wrapsOnto(above: Box, next: Box): boolean {
  const height = next.bottom - next.top;
  const gap = next.top - above.bottom;
  return gap > -0.5 * height && gap < height && next.left < above.right && next.right > above.left;
}

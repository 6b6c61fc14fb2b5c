// Pages without LAYOUT blocks (DetectDocumentText, AnalyzeDocument without LAYOUT): columns found from the
// lines' geometry, running heads and page numbers dropped, headings told by font size. Page shapes no recording
// has are built with test/helpers/textract-pages.ts; the recordings check that real pages keep reading well.
import type { Block } from "@aws-sdk/client-textract";
import { describe, expect, it } from "vitest";
import { blocksToMarkdown, type MarkdownOptions } from "../../src/ingest/textract/blocks-to-markdown.ts";
import { loadRecording } from "../emulators/textract.ts";
import { BODY, TextractPageBuilder } from "../helpers/textract-pages.ts";

const LEFT = 0.08;
const FULL = 0.84;
const COLUMN = 0.4;
const RIGHT = LEFT + FULL - COLUMN;
const SMALL = 0.009;
const HEADER = "Harbour Authority Annual Review";

const TEXT = {
  intro:
    "This review covers the harbour's second year under the new operating model, from cargo volumes and berth use to the dredging programme and the safety record of the year.",
  cargo:
    "Cargo volumes rose by a fifth over the year, most of the growth coming from containers moved through the eastern terminal after its cranes were replaced.",
  bulk: "Bulk cargo held steady. Grain exports fell in the spring and recovered by autumn, while timber imports kept the western quays busy all year.",
  berths:
    "Berth use averaged seventy per cent, with the deep-water berth booked solid through the summer and the smaller quays free on most weekends.",
  dredging:
    "The dredging programme finished a month early, which let the pilots bring larger vessels in on every tide instead of waiting for high water.",
  closing:
    "The board thanks the harbour staff, the pilots and the port users for a year of steady work in changing conditions.",
  fleet:
    "The tug fleet grew to six with the arrival of two new hybrid tugs, and the older pair were sold to a yard on the east coast.",
  pilots:
    "Pilots boarded four thousand vessels, a tenth more than the year before, and the new launch cut the average boarding time to nine minutes.",
  moorings:
    "Moorings were renewed along the inner harbour, where chains laid in the sixties had worn thin, and the work was done without closing a berth.",
  safety:
    "No lost-time injury was recorded on the quays this year, the first such year since records began, and near-miss reports doubled as the new reporting app took hold.",
};

type Paragraph = { lines: string[]; next: number };
const text = (...parts: (Paragraph | string)[]) =>
  parts.map((p) => (typeof p === "string" ? p : p.lines.join("\n"))).join("\n\n");

/** Two columns side by side from `top`, a paragraph per text; `offset` moves the right column's lines down
 *  (baselines that do not line up). The second paragraphs of both start at one height, after a blank line. */
function columns(page: TextractPageBuilder, top: number, left: string[], right: string[], offset = 0) {
  const lay = (texts: string[], x: number, from: number) => {
    let at = from;
    return texts.map((t) => {
      const paragraph = page.paragraph(t, { left: x, top: at, width: COLUMN });
      at = paragraph.next + BODY.pitch;
      return paragraph;
    });
  };
  // A blank row across both columns, which must not cut them into two sections.
  const first = [lay(left.slice(0, 1), LEFT, top)[0], lay(right.slice(0, 1), RIGHT, top + offset)[0]];
  const second = Math.max(...first.map((p) => p.next)) + BODY.pitch;
  const rest = [lay(left.slice(1), LEFT, second), lay(right.slice(1), RIGHT, second + offset)];
  const all = [
    [first[0], ...rest[0]],
    [first[1], ...rest[1]],
  ];
  return { left: all[0], right: all[1], next: Math.max(...all.flat().map((p) => p.next)) };
}

/** A three-page annual review: a running head on every page, "Page n of 3" at the foot, a title on page 1 and
 *  a section header on page 2, text that turns from one column to two and back. */
function annualReview() {
  const pages = [1, 2, 3].map((n) => new TextractPageBuilder(n));
  for (const [i, page] of pages.entries()) {
    page.line(HEADER, { left: LEFT, top: 0.04, height: SMALL });
    page.line(`Page ${i + 1} of 3`, { left: 0.45, top: 0.95, height: SMALL });
  }

  const [one, two, three] = pages;
  one.line("Annual Review of Harbour Operations", { left: LEFT, top: 0.08, height: 0.03 });
  const intro = one.paragraph(TEXT.intro, { left: LEFT, top: 0.13, width: FULL });
  // The columns start on the next line, with no blank line between: no horizontal gap tells where.
  const body = columns(one, intro.next, [TEXT.cargo, TEXT.bulk], [TEXT.berths, TEXT.dredging]);
  const closing = one.paragraph(TEXT.closing, { left: LEFT, top: body.next + BODY.pitch, width: FULL });

  two.line("Fleet and Berths", { left: LEFT, top: 0.08, height: 0.018 });
  const fleet = two.paragraph(TEXT.fleet, { left: LEFT, top: 0.11, width: FULL });
  // Baselines half a line apart, as when the columns' paragraphs differ in spacing.
  const split = columns(two, fleet.next, [TEXT.pilots], [TEXT.moorings], BODY.pitch / 2);

  const safety = three.paragraph(TEXT.safety, { left: LEFT, top: 0.1, width: FULL });

  return {
    blocks: pages.flatMap((p) => p.build()),
    expected: [
      text(
        "# Annual Review of Harbour Operations",
        intro,
        body.left[0],
        body.left[1],
        body.right[0],
        body.right[1],
        closing,
      ),
      text("## Fleet and Berths", fleet, split.left[0], split.right[0]),
      text(safety),
    ],
  };
}

function pages(blocks: Block[], options: MarkdownOptions = {}): string[] {
  return blocksToMarkdown(blocks, options).map((p) => p.text);
}

describe("blocksToMarkdown without LAYOUT: columns", () => {
  it("reads full-width text, then the whole left column, the whole right column, then the text below both", () => {
    const review = annualReview();
    expect(pages(review.blocks)[0]).toBe(review.expected[0]);
  });

  it("reads columns whose baselines do not line up column by column", () => {
    const review = annualReview();
    expect(pages(review.blocks)[1]).toBe(review.expected[1]);
  });

  it("starts the columns afresh after a full-width paragraph between two column sections", () => {
    const page = new TextractPageBuilder();
    const intro = page.paragraph(TEXT.intro, { left: LEFT, top: 0.1, width: FULL });
    const upper = columns(page, intro.next + BODY.pitch, [TEXT.cargo], [TEXT.berths]);
    const middle = page.paragraph(TEXT.closing, { left: LEFT, top: upper.next + BODY.pitch, width: FULL });
    const lower = columns(page, middle.next + BODY.pitch, [TEXT.bulk], [TEXT.dredging]);
    expect(pages(page.build())).toEqual([
      text(intro, upper.left[0], upper.right[0], middle, lower.left[0], lower.right[0]),
    ]);
  });

  it("reads three columns one after another", () => {
    const page = new TextractPageBuilder();
    const intro = page.paragraph(TEXT.intro, { left: LEFT, top: 0.1, width: FULL });
    const thirds = [TEXT.cargo, TEXT.berths, TEXT.dredging].map((t, i) =>
      page.paragraph(t, { left: LEFT + 0.29 * i, top: intro.next + BODY.pitch, width: 0.26 }),
    );
    expect(pages(page.build())).toEqual([text(intro, ...thirds)]);
  });

  it("still reads a grid of short cells row by row", () => {
    // Cells whose rows share baselines and hold a word or two: a table read without TABLES.
    const page = new TextractPageBuilder();
    page.line("Results by quarter", { left: LEFT, top: 0.1 });
    const cells = [
      ["Quarter", "Containers", "Bulk"],
      ["First", "1,200", "800"],
      ["Second", "1,450", "760"],
    ];
    for (const [r, row] of cells.entries())
      for (const [c, cell] of row.entries()) page.line(cell, { left: LEFT + 0.25 * c, top: 0.13 + 0.03 * r });
    expect(pages(page.build())).toEqual([
      "Results by quarter\n\nQuarter Containers Bulk\n\nFirst 1,200 800\n\nSecond 1,450 760",
    ]);
  });
});

describe("blocksToMarkdown without LAYOUT: running heads, footers and page numbers", () => {
  it("drops a small line repeated at the top of every page, and the page numbers", () => {
    const review = annualReview();
    const texts = pages(review.blocks);
    expect(texts).toEqual(review.expected);
    for (const page of texts) {
      expect(page).not.toContain(HEADER);
      expect(page).not.toMatch(/Page \d of 3/);
    }
  });

  it("keeps them when asked to keep headers and footers, in their places", () => {
    const review = annualReview();
    const texts = pages(review.blocks, { keepHeadersFooters: true });
    expect(texts).toEqual(review.expected.map((t, i) => `${HEADER}\n\n${t}\n\nPage ${i + 1} of 3`));
  });

  it.each(["7", "- 7 -", "Page 7", "Page 7 of 12", "7 / 12", "vii"])(
    "drops %j at the foot of a single page as a page number",
    (number) => {
      const page = new TextractPageBuilder();
      const body = page.paragraph(TEXT.cargo, { left: LEFT, top: 0.1, width: FULL });
      page.line(number, { left: 0.48, top: 0.95, height: SMALL });
      expect(pages(page.build())).toEqual([text(body)]);
    },
  );

  it.each([
    ["a top-band line on one page only", "Draft for consultation", 0.04],
    ["a number in the body", "7", 0.5],
  ])("keeps %s", (_, line, top) => {
    const page = new TextractPageBuilder();
    page.paragraph(TEXT.cargo, { left: LEFT, top: 0.1, width: FULL });
    page.line(line, { left: LEFT, top, height: SMALL });
    expect(pages(page.build())[0].split("\n")).toContain(line);
  });

  it("keeps a line that repeats at the top of every page when it is set large", () => {
    const document = [1, 2].flatMap((n) => {
      const page = new TextractPageBuilder(n);
      page.line("Harbour Authority", { left: LEFT, top: 0.03, height: 0.03 });
      page.paragraph(n === 1 ? TEXT.cargo : TEXT.bulk, { left: LEFT, top: 0.12, width: FULL });
      return page.build();
    });
    for (const page of pages(document)) expect(page).toMatch(/^# Harbour Authority\n/);
  });

  it("keeps every line of a form repeated page after page, where repetition says nothing", async () => {
    // textractor-multipage-doc.pdf: the same test page twice; "Un-Selected Checkbox" sits in the bottom tenth
    // of both at the same height.
    const blocks = ((await loadRecording("get-document-text-detection_textractor-multipage-doc-pdf.json"))
      .Blocks ?? []) as Block[];
    for (const page of blocksToMarkdown(blocks)) {
      const words = blocks.filter((b) => b.BlockType === "WORD" && b.Page === page.page).map((b) => b.Text);
      expect(page.text.replace(/^#+ /gm, "").split(/\s+/).sort()).toEqual(words.sort());
    }
  });

  it("drops the sample invoice's page number from its text-only reading, and keeps it when asked", async () => {
    const blocks = (
      (await loadRecording("analyze-document_layout-tables-forms-signatures_sample-invoice-pdf.json"))
        .Blocks ?? []
    ).filter((b) => ["PAGE", "LINE", "WORD"].includes(String(b.BlockType))) as Block[];
    const [page] = pages(blocks);
    expect(page).not.toContain("Page 1/1");
    expect(page).toMatch(/Thanks for choosing DEMO - Sliced Invoices I admin@slicedinvoices\.com$/);
    expect(pages(blocks, { keepHeadersFooters: true })[0]).toMatch(/\nPage 1\/1$/);
  });
});

describe("blocksToMarkdown without LAYOUT: headings", () => {
  it("writes a title-sized line with # and a section-header-sized one with ##", () => {
    const texts = pages(annualReview().blocks);
    expect(texts[0]).toMatch(/^# Annual Review of Harbour Operations\n\n/);
    expect(texts[1]).toMatch(/^## Fleet and Berths\n\n/);
    expect(texts.join("\n").match(/^#/gm)).toHaveLength(2);
  });

  it("joins a title that wraps onto a second line into one heading", () => {
    const page = new TextractPageBuilder();
    page.line("Annual Review of", { left: LEFT, top: 0.08, height: 0.03 });
    page.line("Harbour Operations", { left: LEFT, top: 0.08 + 0.044, height: 0.03 });
    const intro = page.paragraph(TEXT.intro, { left: LEFT, top: 0.2, width: FULL });
    const cargo = page.paragraph(TEXT.cargo, { left: LEFT, top: intro.next + BODY.pitch, width: FULL });
    expect(pages(page.build())).toEqual([text("# Annual Review of Harbour Operations", intro, cargo)]);
  });

  it.each([
    ["a key and its value", "Total tonnage: 4,200"],
    ["a sentence", "Cargo rose by a fifth."],
    ["a code", "HB2024X7"],
    ["a long line", "A line set large that runs on for far more words than any heading would ever carry"],
  ])("leaves %s set large as text", (_, line) => {
    const page = new TextractPageBuilder();
    page.line(line, { left: LEFT, top: 0.08, height: 0.02 });
    const body = page.paragraph(TEXT.intro, { left: LEFT, top: 0.14, width: FULL });
    expect(pages(page.build())).toEqual([text(line, body)]);
  });

  it("measures font size without descenders: a line of body text is no heading for its g, p and y", async () => {
    // single-page-1.png: the table's "Cell n" lines set the page's median; "Name of package: Textractor" has a
    // taller box for its descenders and underline but is body text.
    const [page] = pages(
      ((await loadRecording("detect-document-text_single-page-1.json")).Blocks ?? []) as Block[],
    );
    expect(page.match(/^#+ .*/gm)).toEqual([
      "# Textractor Test Document",
      "# Page (1)",
      "## Key - Values",
      "## Table 1",
      "## Selection Element",
    ]);
    expect(page).toContain("\nName of package: Textractor\nDate : 08/14/2022\n");
  });

  it("leaves a LAYOUT page's headings to its layout blocks", async () => {
    // The invoice's running head "Sliced/Invoices" is set large, but LAYOUT calls it a header, not a title.
    const blocks = ((
      await loadRecording("analyze-document_layout-tables-forms-signatures_sample-invoice-pdf.json")
    ).Blocks ?? []) as Block[];
    const [kept] = pages(blocks, { keepHeadersFooters: true });
    expect(kept).toMatch(/^Sliced\/Invoices$/m);
    expect(kept.match(/^#+ .*/gm)).toEqual(["# Invoice", "## From:"]);
  });
});

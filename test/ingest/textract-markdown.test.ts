// Textract Blocks → Markdown, checked against the recorded responses in test/fixtures/textract and what their
// source documents show (../shared/data/textract/documents): reading order, headings, table cells in their
// rows and columns, form fields, page furniture, and every word printed once.
import type { Block } from "@aws-sdk/client-textract";
import { describe, expect, it } from "vitest";
import { blocksToMarkdown, type MarkdownOptions } from "../../src/ingest/textract/blocks-to-markdown.ts";
import { loadRecording } from "../emulators/textract.ts";

async function blocksOf(name: string): Promise<Block[]> {
  return ((await loadRecording(name)).Blocks ?? []) as Block[];
}

/** The page texts of a recording. `only` keeps some block types, to get the response another API call would
 *  have given for the same document (AnalyzeDocument without LAYOUT, or DetectDocumentText). */
async function markdown(name: string, options: MarkdownOptions = {}, only?: (type: string) => boolean) {
  const blocks = (await blocksOf(name)).filter((b) => !only || only(b.BlockType ?? ""));
  return blocksToMarkdown(blocks, options);
}

async function pageText(name: string, options?: MarkdownOptions, only?: (type: string) => boolean) {
  const pages = await markdown(name, options, only);
  expect(pages).toHaveLength(1);
  return pages[0].text;
}

const withoutLayout = (type: string) => !type.startsWith("LAYOUT_");
const textDetection = (type: string) => ["PAGE", "LINE", "WORD"].includes(type);

/** Each phrase occurs, each after the one before it. */
function expectInOrder(text: string, phrases: string[]) {
  let at = -1;
  for (const phrase of phrases) {
    const found = text.indexOf(phrase, at + 1);
    expect(found, `"${phrase}" after "${text.slice(Math.max(0, at), at + 40)}"`).toBeGreaterThan(at);
    at = found;
  }
}

/** A Markdown table row with exactly these cells, in this order. */
function row(...cells: string[]): string {
  return `| ${cells.join(" | ")} |`;
}

function occurrences(text: string, phrase: string): number {
  return text.split(phrase).length - 1;
}

/** Words as printed: Markdown's own marks removed, "Key:" and "Key" alike (a field adds the colon). */
function tokens(text: string): string[] {
  return text
    .replace(/\\\|/g, "|")
    .split(/\s+/)
    .filter((t) => t !== "" && !["|", "---", "#", "##", "[x]", "[", "]"].includes(t))
    .map((t) => t.replace(/:$/, ""))
    .filter((t) => t !== "");
}

function countOf(list: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of list) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}

/** The page's words (from its WORD blocks) that the text lacks, and the ones it prints more often than the
 *  page has them. */
function wordAudit(text: string, blocks: Block[], page = 1) {
  const source = countOf(
    tokens(
      blocks
        .filter((b) => b.BlockType === "WORD" && (b.Page ?? 1) === page)
        .map((b) => b.Text)
        .join(" "),
    ),
  );
  const printed = countOf(tokens(text));
  const repeated = [...printed].filter(([t, n]) => n > (source.get(t) ?? 0)).map(([t]) => t);
  const missing = [...source].flatMap(([t, n]) => Array(Math.max(0, n - (printed.get(t) ?? 0))).fill(t));
  return { repeated, missing };
}

/** The words of the lines inside these LAYOUT block types, as tokens. */
function layoutWords(blocks: Block[], types: string[]): string[] {
  const byId = new Map(blocks.map((b) => [b.Id, b]));
  const children = (b: Block) =>
    (b.Relationships ?? []).flatMap((r) => (r.Type === "CHILD" ? (r.Ids ?? []) : []));
  return blocks
    .filter((b) => types.includes(b.BlockType ?? ""))
    .flatMap(children)
    .flatMap((lineId) => children(byId.get(lineId) ?? {}))
    .flatMap((wordId) => tokens(byId.get(wordId)?.Text ?? ""));
}

const FURNITURE = ["LAYOUT_HEADER", "LAYOUT_FOOTER", "LAYOUT_PAGE_NUMBER"];

describe("blocksToMarkdown: DetectDocumentText", () => {
  it("reads single-page-1.png top to bottom, a table's cells row by row on one line", async () => {
    const text = await pageText("detect-document-text_single-page-1.json");
    expectInOrder(text, [
      "Textractor Test",
      "Document",
      "Page (1)",
      "Key - Values",
      "Name of package: Textractor",
      "Date : 08/14/2022",
      "Table 1",
      // The image merges Cell 2 and Cell 3 into one cell: there is no "Cell 3".
      "Cell 1 Cell 2 Cell 4 Cell 5",
      "Cell 6 Cell 7 Cell 8 Cell 9 Cell 10",
      "Cell 11 Cell 12 Cell 13 Cell 14 Cell 15",
      "Selection Element",
      "Selected Checkbox",
      "Un-Selected Checkbox",
    ]);
    expect(text).not.toContain("Cell 3");
  });

  it("prints every word of a text-only response exactly once", async () => {
    for (const name of [
      "detect-document-text_single-page-1.json",
      "detect-document-text_textractor-singlepage-doc-pdf.json",
    ]) {
      const blocks = await blocksOf(name);
      const { repeated, missing } = wordAudit(blocksToMarkdown(blocks)[0].text, blocks);
      expect({ name, repeated, missing }).toEqual({ name, repeated: [], missing: [] });
    }
  });

  it("gives the page's mean word confidence", async () => {
    const blocks = await blocksOf("detect-document-text_single-page-1.json");
    const words = blocks.filter((b) => b.BlockType === "WORD");
    const mean = words.reduce((sum, w) => sum + (w.Confidence ?? 0), 0) / words.length;
    const [page] = blocksToMarkdown(blocks);
    expect(page.confidence).toBeCloseTo(mean, 6);
    expect(page.confidence).toBeGreaterThan(99);
  });

  it("reads textractor-singlepage-doc.pdf with all five cells of the first row", async () => {
    const text = await pageText("detect-document-text_textractor-singlepage-doc-pdf.json");
    expectInOrder(text, [
      "Textractor Test",
      "Page (1)",
      "Table 1",
      "Cell 1 Cell 2 Cell 3 Cell 4 Cell 5",
      "Cell 11 Cell 12 Cell 13 Cell 14 Cell 15",
      "Un-Selected Checkbox",
    ]);
  });

  it("splits a two-page async result into its pages", async () => {
    const pages = await markdown("get-document-text-detection_textractor-multipage-doc-pdf.json");
    expect(pages.map((p) => p.page)).toEqual([1, 2]);
    expectInOrder(pages[0].text, [
      "Textractor Test",
      "Page (1)",
      "Table 1",
      "Cell 15",
      "Un-Selected Checkbox",
    ]);
    expectInOrder(pages[1].text, [
      "Textractor Test",
      "Page (2)",
      "Table 2",
      "Cell 15",
      "Un-Selected Checkbox",
    ]);
    expect(pages[0].text).not.toContain("Page (2)");
    expect(pages[1].text).not.toContain("Table 1");
  });

  it("ignores QUERY answers and keeps the page's text", async () => {
    const text = await pageText("analyze-document_queries_single-page-1.json");
    expectInOrder(text, ["Textractor Test", "Name of package: Textractor", "Cell 1 Cell 2 Cell 4 Cell 5"]);
    expect(text).not.toContain("What is the");
    expect(occurrences(text, "Textractor Test")).toBe(1);
  });

  it("reads a two-column page column by column", async () => {
    // tutorial.pdf: three module columns side by side. Column 1 ends with "13 March 2018", far below where
    // column 2 starts, so a top-to-bottom reading would interleave them.
    const tutorial = await pageText(
      "analyze-document_layout-tables-forms-signatures_tutorial-pdf.json",
      {},
      textDetection,
    );
    expectInOrder(tutorial, [
      "Assessment & Feedback",
      "17 January 2018 Room 2.48 FWB",
      "14 March 2018 Room B.18 JCMB",
      "Curriculum Design & Development",
      "13 March 2018",
      "Using Research in Higher Education*\nMonday afternoon 14.00 - 17.00",
      "26 February 2018",
      "Using Research in Higher Education*\nTuesday evening 17.30 - 20.30",
      "27 February 2018",
      "10 January 2018: 09.30 12.30",
    ]);
    // sample-invoice.pdf: the sender's address (left) before the invoice details (right, starting higher up).
    const invoice = await pageText(
      "analyze-document_layout-tables-forms-signatures_sample-invoice-pdf.json",
      {},
      textDetection,
    );
    expectInOrder(invoice, [
      "From:\nDEMO - Sliced Invoices\nSuite 5A-1204\n123 Somewhere Street\nYour City AZ 12345\nadmin@slicedinvoices.com",
      "Invoice Number INV-3337",
      "Due Date January 31, 2016",
      "Total Due $93.50",
      "To:\nTest Business",
    ]);
  });

  it("keeps a table row's values on one line when the response has no TABLES", async () => {
    const text = await pageText("analyze-document_layout-tables-forms_paystub.json", {}, textDetection);
    expect(text).toContain("Regular 10.00 32.00 320.00 16,640.00");
    expect(text).toContain("Federal Income Tax -40.60 2,111.20");
    expect(text).toContain("Gross Pay $ 452.43 23,526.80");
    const blocks = (await blocksOf("analyze-document_layout-tables-forms_paystub.json")).filter((b) =>
      textDetection(b.BlockType ?? ""),
    );
    // The lone "1" at the top of the page reads as a page number and is dropped (LAYOUT puts it in the header).
    expect(wordAudit(text, blocks)).toEqual({ repeated: [], missing: ["1"] });
    const kept = await pageText(
      "analyze-document_layout-tables-forms_paystub.json",
      { keepHeadersFooters: true },
      textDetection,
    );
    expect(wordAudit(kept, blocks)).toEqual({ repeated: [], missing: [] });
  });
});

describe("blocksToMarkdown: tables and forms", () => {
  it("puts the paystub's table cells in their rows and columns", async () => {
    const text = await pageText("analyze-document_layout-tables-forms_paystub.json");
    expectInOrder(text, [
      row("Earnings", "rate", "hours", "this period", "year to date"),
      row("---", "---", "---", "---", "---"),
      row("Regular", "10.00", "32.00", "320.00", "16,640.00"),
      row("Overtime", "15.00", "1.00", "15.00", "780.00"),
      row("Holiday", "10.00", "8.00", "80.00", "4,160.00"),
      row("Tuition", "", "", "37.43", "1,946.80"),
    ]);
    expectInOrder(text, [
      row("Other Benefits and Information", "this period", "total to date"),
      row("Group Term Life", "0.51", "27.00"),
      row("Loan Amt Paid", "", "840.00"),
      row("Title", "Operator", ""),
    ]);
    expect(text).toContain(row("", "Social Security Tax", "-28.05", "1,458.60"));
    expect(text).toContain(row("", "401(k)", "-28.85*", "1,500.20"));
  });

  it("prints a merged cell's text once, in its first position, with the spanned cells empty", async () => {
    const text = await pageText("analyze-document_layout-tables-forms_paystub.json");
    // "Gross Pay" spans columns 2-3 of the earnings table; "Adjustment" spans columns 2-4 of the deductions.
    expect(text).toContain(row("", "Gross Pay", "", "$ 452.43", "23,526.80"));
    expect(text).toContain(row("", "Adjustment", "", ""));
    expect(text).toContain(row("Pay to the order of:", "JOHN STILES", ""));
    expect(occurrences(text, "Gross Pay")).toBe(1);
  });

  it("keeps a table's title above it and its footer below it", async () => {
    const paystub = await pageText("analyze-document_layout-tables-forms_paystub.json");
    expectInOrder(paystub, [row("", "Net Pay", "$291.90", ""), "*Excluded from federal taxable wages"]);
    const application = await pageText("analyze-document_forms-tables_jssdk-v3.json");
    expectInOrder(application, [
      "Previous Employment History",
      row("Start Date", "End Date", "Employer Name", "Position Held", "Reason for leaving"),
      row("1/15/2009", "6/30/2011", "Any Company", "Assistant baker", "relocated"),
      row("7/1/2011", "8/10/2013", "Example Corp.", "Baker", "better opp."),
      row("8/15/2013", "Present", "AnyCompany", "head baker", "N/A, current"),
    ]);
    expect(occurrences(application, "Previous Employment History")).toBe(1);
  });

  it("prints form fields as key: value lines, checkboxes as [x] and [ ]", async () => {
    const text = await pageText("analyze-document_forms-tables_jssdk-v3.json");
    expectInOrder(text, [
      "Employment Application",
      "Full Name: Jane Doe",
      "Phone Number: 555-0100",
      "Home Address: 123 Any Street, Any Town. USA",
      "Mailing Address: same as above",
      "Job fair: [x]",
      "Website: [ ]",
      "Company Employee: [ ]",
      "Previous Employment History",
    ]);
    // Textract also pairs cells of the table ("relocated" → "better opp. N/A, current"); the table prints them.
    expect(text).not.toContain("relocated:");
    expect(text).not.toContain("End Date:");
  });

  it("reads the checkboxes of both pages of textractor-multipage-doc.pdf", async () => {
    const pages = await markdown("get-document-analysis_tables-forms_textractor-multipage-doc-pdf.json");
    expect(pages.map((p) => p.page)).toEqual([1, 2]);
    for (const [i, { text }] of pages.entries()) {
      expectInOrder(text, [
        `Page (${i + 1})`,
        "Name of package: Textractor",
        `Table ${i + 1}`,
        row("Cell 1", "Cell 2", "Cell 3", "Cell 4", "Cell 5"),
        row("Cell 6", "Cell 7", "Cell 8", "Cell 9", "Cell 10"),
        row("Cell 11", "Cell 12", "Cell 13", "Cell 14", "Cell 15"),
        "Selected Checkbox: [x]",
        "Un-Selected Checkbox: [ ]",
      ]);
      expect(occurrences(text, "Textractor")).toBe(2);
    }
  });

  it("puts every cell of the three tables of a paged GetDocumentAnalysis result in place", async () => {
    // Its cells say where they are: "Value <table>.<row>.<column>".
    const text = await pageText("get-document-analysis_page-with-nexttoken_gib.json");
    const shapes = [
      [3, 3],
      [5, 5],
      [8, 3],
    ];
    const rows = shapes.flatMap(([rowCount, columns], t) =>
      Array.from({ length: rowCount }, (_, r) =>
        row(...Array.from({ length: columns }, (_, c) => `Value ${t + 1}.${r + 1}.${c + 1}`)),
      ),
    );
    expectInOrder(text, rows);
    expectInOrder(text, ["Date: 2020-03-27", "Name: SomeName", "Key1: value1", "Key2:value2"]);
  });

  it("escapes a pipe inside a cell", async () => {
    // The recordings have no "|" in any word; this one is the paystub with one cell word changed.
    const blocks = await blocksOf("analyze-document_layout-tables-forms_paystub.json");
    const word = blocks.find((b) => b.BlockType === "WORD" && b.Text === "Overtime");
    if (!word) throw new Error("the recording has no word Overtime");
    word.Text = "Over|time";
    const [page] = blocksToMarkdown(blocks);
    expect(page.text).toContain(row("Over\\|time", "15.00", "1.00", "15.00", "780.00"));
  });

  it("prints no word more often than the page has it", async () => {
    for (const name of [
      "analyze-document_layout-tables-forms_paystub.json",
      "analyze-document_layout-tables-forms-signatures_sample-invoice-pdf.json",
      "analyze-document_layout-tables-forms-signatures_tutorial-pdf.json",
      "analyze-document_forms-tables_jssdk-v3.json",
      "get-document-analysis_page-with-nexttoken_gib.json",
      "get-document-analysis_tables-forms_textractor-multipage-doc-pdf.json",
    ]) {
      const blocks = await blocksOf(name);
      for (const options of [{}, { keepHeadersFooters: true, keepFigureText: true }]) {
        for (const page of blocksToMarkdown(blocks, options)) {
          const { repeated } = wordAudit(page.text, blocks, page.page);
          expect({ name, options, repeated }).toEqual({ name, options, repeated: [] });
        }
      }
    }
  });

  it("loses no word except those of dropped headers, footers, page numbers and figures", async () => {
    for (const name of [
      "analyze-document_layout-tables-forms_paystub.json",
      "analyze-document_layout-tables-forms-signatures_sample-invoice-pdf.json",
      "analyze-document_layout-tables-forms-signatures_tutorial-pdf.json",
      "analyze-document_forms-tables_jssdk-v3.json",
      "get-document-analysis_page-with-nexttoken_gib.json",
    ]) {
      const blocks = await blocksOf(name);
      const dropped = countOf(layoutWords(blocks, [...FURNITURE, "LAYOUT_FIGURE"]));
      const [page] = blocksToMarkdown(blocks);
      const { missing } = wordAudit(page.text, blocks);
      const unexplained = missing.filter((t) => {
        const left = dropped.get(t) ?? 0;
        dropped.set(t, left - 1);
        return left <= 0;
      });
      expect({ name, unexplained }).toEqual({ name, unexplained: [] });
      const kept = blocksToMarkdown(blocks, { keepHeadersFooters: true, keepFigureText: true })[0];
      expect({ name, missing: wordAudit(kept.text, blocks).missing }).toEqual({ name, missing: [] });
    }
  });
});

describe("blocksToMarkdown: LAYOUT", () => {
  it("reads the paystub in layout order with its section headers as headings", async () => {
    const text = await pageText("analyze-document_layout-tables-forms_paystub.json");
    expectInOrder(text, [
      "ANY COMPANY CORP.\n475 ANY AVENUE\nANYTOWN, USA 10101",
      "## Earnings Statement",
      row("Period ending:", "7/18/2008"),
      "Social Security Number: 987-65-4321\nTaxable Marital Status: Married",
      "JOHN STILES\n101 MAIN STREET",
      row("Regular", "10.00", "32.00", "320.00", "16,640.00"),
      row("", "Net Pay", "$291.90", ""),
      "Your federal wages this period are $386.15",
      row("Group Term Life", "0.51", "27.00"),
      "## Important Notes",
      "EFFECTIVE THIS PAY PERIOD YOUR REGULAR\nHOURLY RATE HAS BEEN CHANGED FROM $8.00\nTO $10.00 PER HOUR.",
      "WE WILL BE STARTING OUR UNITED WAY FUND",
      row("Payroll check number:", "0000000000"),
      row("This amount:", "TWO HUNDRED NINETY-ONE AND 90/100 DOLLARS", "$291.90"),
    ]);
    // A heading is not a form key: Textract pairs "Important Notes" with the paragraphs below it.
    expect(text).not.toContain("Important Notes:");
  });

  it("drops the page header, footer and page number unless asked to keep them", async () => {
    const name = "analyze-document_layout-tables-forms-signatures_sample-invoice-pdf.json";
    const text = await pageText(name);
    for (const furniture of ["Sliced/Invoices", "Payment is due within 30 days", "Page 1/1"])
      expect(text).not.toContain(furniture);
    const kept = await pageText(name, { keepHeadersFooters: true });
    expectInOrder(kept, [
      "Sliced/Invoices",
      "# Invoice",
      "ANZ Bank",
      "Payment is due within 30 days from date of invoice.",
      "Page 1/1",
    ]);

    const paystub = await pageText("analyze-document_layout-tables-forms_paystub.json");
    expect(paystub).not.toContain("CLOCK");
    const paystubKept = await pageText("analyze-document_layout-tables-forms_paystub.json", {
      keepHeadersFooters: true,
    });
    // The header holds a table; kept, it is printed as one.
    expectInOrder(paystubKept, [
      row("CO.", "FILE", "DEPT.", "CLOCK", "NUMBER"),
      row("ABC", "126543", "123456", "12345", "00000000"),
      "## Earnings Statement",
    ]);
  });

  it("reads the invoice: title, sections, tables and fields in order", async () => {
    const text = await pageText("analyze-document_layout-tables-forms-signatures_sample-invoice-pdf.json");
    expectInOrder(text, [
      "# Invoice",
      "## From:",
      "DEMO - Sliced Invoices\nSuite 5A-1204",
      row("Invoice Number", "INV-3337"),
      row("Invoice Date", "January 25, 2016"),
      row("Total Due", "$93.50"),
      "To: Test Business 123 Somewhere St Melbourne, VIC 3000 test@test.com",
      row("Hrs/Qty", "Service", "Rate/Price", "Adjust", "Sub Total"),
      row("1.00", "Web Design This is a sample description...", "$85.00", "0.00%", "$85.00"),
      row("Sub Total", "$85.00"),
      row("Tax", "$8.50"),
      row("Total", "$93.50"),
      "ANZ Bank\nACC # 1234 1234\nBSB # 4321 432",
    ]);
  });

  it("reads the timetable: a table title printed once as its heading, figures left out", async () => {
    const name = "analyze-document_layout-tables-forms-signatures_tutorial-pdf.json";
    const text = await pageText(name);
    expectInOrder(text, [
      "# PG Cert in Academic Practice in Higher Education 2017-18",
      "## Term 2 modules",
      row("17 January 2018", "Room 2.48 FWB"),
      row("14 March 2018", "Room B.18 JCMB"),
      "## Post Graduate Diploma modules",
      "## Enhancing Academic Practice across terms 7TTY0023*",
      "Seminar Stream 2\nWednesday afternoon 13.00 - 16.00",
      "24 January 2018: Seminar 4 Room 2.47 FWB",
      "Attendance is required for one stream.",
    ]);
    expect(occurrences(text, "Term 2 modules")).toBe(1);
    // The running header and footer, and the calendars (figures) are gone.
    expect(text).not.toContain("King's Learning Institute");
    expect(text).not.toContain("timetable. Version 1.");
    expect(text).not.toMatch(/^29\b/m);
    const withFigures = await pageText(name, { keepFigureText: true });
    expectInOrder(withFigures, ["January", "01", "31", "February", "March", "## Term 2 modules"]);
  });

  it("reads a page without LAYOUT with its tables column by column", async () => {
    // The same paystub response without its LAYOUT blocks, as AnalyzeDocument TABLES+FORMS returns it. The
    // deductions table (left column) starts below the benefits table (right column) but is read first.
    const text = await pageText("analyze-document_layout-tables-forms_paystub.json", {}, withoutLayout);
    expectInOrder(text, [
      row("CO.", "FILE", "DEPT.", "CLOCK", "NUMBER"),
      row("Regular", "10.00", "32.00", "320.00", "16,640.00"),
      row("Deductions", "Statutory Federal Income Tax", "-40.60", "2,111.20"),
      row("", "Net Pay", "$291.90", ""),
      row("Other Benefits and Information", "this period", "total to date"),
      "Important Notes: EFFECTIVE THIS PAY PERIOD YOUR REGULAR HOURLY RATE",
      row("Payroll check number:", "0000000000"),
    ]);
  });

  it("reads a LAYOUT_TABLE region row by row when the response has no TABLES", async () => {
    // The paystub response as AnalyzeDocument LAYOUT (+ FORMS) returns it: no TABLE or CELL blocks.
    const tableTypes = ["TABLE", "CELL", "MERGED_CELL", "TABLE_TITLE", "TABLE_FOOTER"];
    for (const only of [
      (type: string) => !tableTypes.includes(type) && type !== "KEY_VALUE_SET",
      (type: string) => !tableTypes.includes(type),
    ]) {
      const text = await pageText("analyze-document_layout-tables-forms_paystub.json", {}, only);
      expectInOrder(text, [
        "## Earnings Statement",
        "Period ending:",
        "Earnings rate hours this period year to date\nRegular 10.00 32.00 320.00 16,640.00",
        // With FORMS, Textract pairs "Gross Pay" with "$ 452.43"; inside a table region the row reads better.
        "Tuition 37.43 1,946.80\nGross Pay $ 452.43 23,526.80",
        "Federal Income Tax -40.60 2,111.20",
        "Net Pay $291.90",
        "Group Term Life 0.51 27.00",
        "## Important Notes",
      ]);
    }
  });

  it("prints a LAYOUT_LIST's items as a Markdown list", async () => {
    // No recording has a list: this is the paystub with its two "Important Notes" paragraphs (LAYOUT_TEXT)
    // put under one LAYOUT_LIST, as Textract nests list items.
    const blocks = await blocksOf("analyze-document_layout-tables-forms_paystub.json");
    const byId = new Map(blocks.map((b) => [b.Id, b]));
    const firstLine = (b: Block) => byId.get(b.Relationships?.[0]?.Ids?.[0] ?? "")?.Text;
    const items = blocks.filter(
      (b) =>
        b.BlockType === "LAYOUT_TEXT" &&
        ["EFFECTIVE THIS PAY PERIOD YOUR REGULAR", "WE WILL BE STARTING OUR UNITED WAY FUND"].includes(
          firstLine(b) ?? "",
        ),
    );
    expect(items).toHaveLength(2);
    const list: Block = {
      Id: "list",
      BlockType: "LAYOUT_LIST",
      Geometry: items[0].Geometry,
      Relationships: [{ Type: "CHILD", Ids: items.map((b) => b.Id ?? "") }],
    };
    blocks.splice(blocks.indexOf(items[0]), 0, list);
    const [page] = blocksToMarkdown(blocks);
    expectInOrder(page.text, [
      "## Important Notes\n\n" +
        "- EFFECTIVE THIS PAY PERIOD YOUR REGULAR HOURLY RATE HAS BEEN CHANGED FROM $8.00 TO $10.00 PER HOUR.\n" +
        "- WE WILL BE STARTING OUR UNITED WAY FUND DRIVE SOON AND LOOK FORWARD TO YOUR PARTICIPATION.",
      "ESTS8ET03",
    ]);
    expect(occurrences(page.text, "PARTICIPATION")).toBe(1);
  });

  it("reads a LAYOUT_KEY_VALUE region as key-value lines", async () => {
    // No recording has one: this is the paystub's "Period ending / Pay date" text block typed as key-values,
    // without TABLE blocks, with and without Textract's FORMS pairs.
    for (const forms of [false, true]) {
      const blocks = (await blocksOf("analyze-document_layout-tables-forms_paystub.json")).filter(
        (b) =>
          !["TABLE", "CELL", "MERGED_CELL"].includes(b.BlockType ?? "") &&
          (forms || b.BlockType !== "KEY_VALUE_SET"),
      );
      const byId = new Map(blocks.map((b) => [b.Id, b]));
      const region = blocks.find(
        (b) =>
          b.BlockType === "LAYOUT_TEXT" &&
          byId.get(b.Relationships?.[0]?.Ids?.[0] ?? "")?.Text === "Period ending:",
      );
      if (!region) throw new Error("the recording has no Period ending block");
      region.BlockType = "LAYOUT_KEY_VALUE";
      const [page] = blocksToMarkdown(blocks);
      expect(page.text).toContain(
        "## Earnings Statement\n\nPeriod ending: 7/18/2008\nPay date: 7/25/2008\n\n",
      );
    }
  });

  it("returns an empty page for a result page that holds only the PAGE block", async () => {
    const pages = await markdown("awscli-example_get-document-analysis_page1-nexttoken.json");
    expect(pages).toEqual([{ page: 1, text: "", confidence: 0 }]);
  });

  it("rates the words it printed: a noisy paystub below a clean test page", async () => {
    const [paystub] = await markdown("analyze-document_layout-tables-forms_paystub.json");
    const [clean] = await markdown("detect-document-text_single-page-1.json");
    expect(paystub.confidence).toBeGreaterThan(90);
    expect(paystub.confidence).toBeLessThan(clean.confidence);
  });
});

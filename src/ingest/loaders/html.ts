// HTML → readable text with cheerio: headings as "# " lines, list items as "- " lines, table rows as
// "| cell | cell |" lines, and no scripts, styles or navigation. Also renders DOCX (via mammoth's HTML).
import { BufferLoader } from "@langchain/classic/document_loaders/fs/buffer";
import { Document } from "@langchain/core/documents";
import { load } from "cheerio";

export interface HtmlOptions {
  /** CSS selectors removed before the text is taken. */
  exclude: readonly string[];
}

/** Loads one HTML document from a Blob; `metadata.title` is the page title (or first h1) when there is one. */
export class HtmlBlobLoader extends BufferLoader {
  constructor(
    blob: Blob,
    private readonly options: HtmlOptions,
  ) {
    super(blob);
  }

  protected async parse(raw: Buffer, metadata: Document["metadata"]): Promise<Document[]> {
    const { text, title } = htmlToText(raw.toString("utf8"), this.options);
    if (text === "") return [];
    return [new Document({ pageContent: text, metadata: title ? { ...metadata, title } : metadata })];
  }
}

/** The parts of domhandler's nodes that rendering reads (cheerio's own node types live in a transitive package). */
interface HtmlNode {
  type: string;
  name?: string;
  data?: string;
  children?: HtmlNode[];
}

const BLOCKS = new Set(
  (
    "address article aside blockquote body caption dd details dialog div dl dt fieldset figcaption " +
    "figure footer form header hgroup hr main ol p section summary ul"
  ).split(" "),
);
const HEADINGS = new Set(["h1", "h2", "h3", "h4", "h5", "h6"]);

export function htmlToText(html: string, options: HtmlOptions): { text: string; title?: string } {
  const $ = load(html);
  if (options.exclude.length > 0) $(options.exclude.join(",")).remove();
  const title = collapse($("title").first().text()) || collapse($("h1").first().text()) || undefined;
  const body = $("body").get(0) as unknown as HtmlNode | undefined;
  const writer = new TextWriter(false);
  if (body) writer.node(body);
  return { text: writer.result(), title };
}

function collapse(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** Walks the DOM and writes lines; a blank line separates blocks. */
class TextWriter {
  private readonly lines: string[] = [];
  private current = "";
  private prefix = "";
  private listDepth = 0;

  /** `inCell`: inside a table cell, where nested tables are flattened to "a, b; c, d". */
  constructor(private readonly inCell: boolean) {}

  node(node: HtmlNode): void {
    if (node.type === "text") {
      this.current += node.data ?? "";
      return;
    }
    // Comments, directives, and script and style elements (their own node types) are never text.
    if (node.type !== "tag" && node.type !== "root") return;
    const name = node.name ?? "";
    if (name === "br") {
      this.endLine();
    } else if (name === "pre") {
      this.pre(node);
    } else if (name === "table") {
      this.table(node);
    } else if (HEADINGS.has(name)) {
      this.endBlock();
      this.prefix = `${"#".repeat(Number(name[1]))} `;
      this.children(node);
      this.endBlock();
    } else if (name === "li") {
      this.endLine();
      this.prefix = `${"  ".repeat(Math.max(0, this.listDepth - 1))}- `;
      this.children(node);
      this.endLine();
    } else if (name === "ul" || name === "ol") {
      this.endBlock();
      this.listDepth += 1;
      this.children(node);
      this.listDepth -= 1;
      this.endBlock();
    } else if (BLOCKS.has(name)) {
      this.endBlock();
      this.children(node);
      this.endBlock();
    } else {
      this.children(node);
    }
  }

  private children(node: HtmlNode): void {
    for (const child of node.children ?? []) this.node(child);
  }

  private pre(node: HtmlNode): void {
    this.endBlock();
    const text = rawText(node).replace(/^\n/, "").trimEnd();
    if (text) this.lines.push(...text.split("\n"));
    this.endBlock();
  }

  private table(node: HtmlNode): void {
    const rows = tableRows(node)
      .map((row) => row.map((cell) => cellText(cell)))
      .filter((cells) => cells.some((c) => c !== ""));
    if (this.inCell) {
      this.current += ` ${rows.map((cells) => cells.filter((c) => c !== "").join(", ")).join("; ")} `;
      return;
    }
    this.endBlock();
    for (const cells of rows)
      this.lines.push(`| ${cells.map((c) => c.replaceAll("|", "\\|")).join(" | ")} |`);
    this.endBlock();
  }

  private endLine(): void {
    const text = collapse(this.current);
    if (text) this.lines.push(this.prefix + text);
    this.current = "";
    this.prefix = "";
  }

  private endBlock(): void {
    this.endLine();
    if (this.lines.length > 0 && this.lines.at(-1) !== "") this.lines.push("");
  }

  result(): string {
    this.endLine();
    return this.lines
      .join(this.inCell ? " " : "\n")
      .replace(/\n{3,}/g, "\n\n")
      .trim();
  }
}

/** The rows of a table (through thead, tbody and tfoot, not into nested tables), as lists of cells. */
function tableRows(table: HtmlNode): HtmlNode[][] {
  const rows: HtmlNode[][] = [];
  const visit = (node: HtmlNode) => {
    for (const child of node.children ?? []) {
      if (child.type !== "tag") continue;
      if (child.name === "tr")
        rows.push((child.children ?? []).filter((c) => c.name === "td" || c.name === "th"));
      else if (child.name === "thead" || child.name === "tbody" || child.name === "tfoot") visit(child);
    }
  };
  visit(table);
  return rows;
}

function cellText(cell: HtmlNode): string {
  const writer = new TextWriter(true);
  for (const child of cell.children ?? []) writer.node(child);
  return collapse(writer.result());
}

function rawText(node: HtmlNode): string {
  if (node.type === "text") return node.data ?? "";
  if (node.name === "br") return "\n";
  return (node.children ?? []).map(rawText).join("");
}

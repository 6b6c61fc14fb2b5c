// Each loader on real documents: the text that comes out, the metadata it carries, and corrupt input
// reported as a 400 that names the file.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BadRequestError } from "../../src/errors.ts";
import { loadBlob } from "../../src/ingest/loaders/index.ts";
import { loadPdf } from "../../src/ingest/loaders/pdf.ts";
import { defineRecipe, loadRecipe, type Recipe } from "../../src/ingest/recipe.ts";
import type { SourceBlob } from "../../src/ingest/sources/blob.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FIXTURES = path.join(ROOT, "test/fixtures");

async function fixture(file: string, name = file): Promise<SourceBlob> {
  const source = path.join(FIXTURES, file);
  return { name, source, data: await readFile(source) };
}

let recipe: Recipe;
beforeAll(async () => {
  recipe = await loadRecipe(path.join(ROOT, "loaders"), "default");
});

const withTypes = (types: Parameters<typeof defineRecipe>[0]["types"]) =>
  defineRecipe({ name: "test", types });

describe("loadBlob: PDF", () => {
  it("reads the memo's facts from its single page, with page, source, name and type", async () => {
    const blob = await fixture("fake-memo.pdf");
    const docs = await loadBlob(blob, recipe);
    expect(docs).toHaveLength(1);
    expect(docs[0].pageContent).toContain(
      "There were 20,000 bottles of water, 10,000 blankets, and 200 laptops",
    );
    expect(docs[0].pageContent).toContain("A total of 3 trucks were used for 15 hours.");
    expect(docs[0].metadata).toEqual({ page: 1, source: blob.source, name: "fake-memo.pdf", type: "pdf" });
  });

  it("gives one document per page, numbered from 1", async () => {
    const docs = await loadBlob(await fixture("bitcoin.pdf"), recipe);
    expect(docs.map((d) => d.metadata.page)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(docs[1].pageContent).toContain("3. Timestamp Server");
    expect(docs[2].pageContent.startsWith("4. Proof-of-Work")).toBe(true);
  });

  it("keeps each row of a PDF table on one line, cells separated by tabs", async () => {
    const [doc] = await loadBlob(await fixture("multi-table.pdf"), recipe);
    const lines = doc.pageContent.split("\n");
    expect(lines).toContain("a1 \tb1 \tc1 \td1");
    expect(lines).toContain("1.1 \t2.1 \t3.1 \t4.1");
  });

  it("gives one document without a page when splitPages is false", async () => {
    const docs = await loadBlob(await fixture("bitcoin.pdf"), withTypes({ pdf: { splitPages: false } }));
    expect(docs).toHaveLength(1);
    expect(docs[0].metadata.page).toBeUndefined();
    expect(docs[0].pageContent).toContain("4. Proof-of-Work");
    expect(docs[0].pageContent).toContain("12. Conclusion");
  });

  it("reports a truncated PDF as a 400 naming the file", async () => {
    const blob = await fixture("fake-memo.pdf", "memo.pdf");
    const error = await loadBlob({ ...blob, data: blob.data.subarray(0, 400) }, recipe).catch((e) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.message).toMatch(/^"memo\.pdf" could not be read as a PDF: /);
  });

  it("stops parsing when the time limit passes, checked between pages", async () => {
    const blob = await fixture("bitcoin.pdf");
    const started = performance.now();
    const error = await loadPdf(new Blob([blob.data]), "bitcoin.pdf", {
      timeoutMs: 1,
      splitPages: true,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.message).toBe(
      '"bitcoin.pdf" took longer than 1 ms to parse (the recipe\'s types.pdf.timeoutMs).',
    );
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("stops parsing when the caller's signal aborts, with the caller's reason", async () => {
    const blob = await fixture("bitcoin.pdf");
    const reason = new Error("client went away");
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 0);
    const error = await loadBlob(blob, recipe, { signal: controller.signal }).catch((e) => e);
    expect(error).toBe(reason);
    // Already aborted: nothing is parsed.
    await expect(loadBlob(blob, recipe, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });
});

describe("loadBlob: DOCX", () => {
  it("reads the handbook's headings and paragraphs", async () => {
    const [doc] = await loadBlob(await fixture("handbook-1p.docx"), recipe);
    expect(doc.pageContent).toContain("CHAPTER 1 – INTRODUCTION");
    expect(doc.pageContent).toContain("A. PURPOSE");
    expect(doc.pageContent).toContain(
      "The United States Trustee appoints and supervises standing trustees and monitors and supervises cases",
    );
    expect(doc.metadata).toMatchObject({ name: "handbook-1p.docx", type: "docx" });
  });

  it("keeps the cells of a table row together", async () => {
    const [doc] = await loadBlob(await fixture("docx-tables.docx"), recipe);
    expect(doc.pageContent).toContain("| Header Col 1 | Header Col 2 |\n| Lorem ipsum | A link example |");
    // The nested table inside the middle cell is flattened into that cell.
    expect(doc.pageContent).toContain("| d | e, f; g&t, h | i |");
  });

  it("with format raw, uses LangChain's DocxLoader, where each cell is its own paragraph", async () => {
    const [doc] = await loadBlob(await fixture("docx-tables.docx"), withTypes({ docx: { format: "raw" } }));
    expect(doc.pageContent).toContain("Header Col 1\n\nHeader Col 2\n\nLorem ipsum");
  });

  it("reports a truncated DOCX as a 400 naming the file", async () => {
    const blob = await fixture("handbook-1p.docx", "handbook.docx");
    const error = await loadBlob({ ...blob, data: blob.data.subarray(0, 3000) }, recipe).catch((e) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.message).toMatch(/^"handbook\.docx" could not be read as a Word document: /);
  });

  it("reports a DOCX without text as a 400", async () => {
    const error = await loadBlob(await fixture("mammoth-empty.docx"), recipe).catch((e) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.message).toBe('"mammoth-empty.docx" has no text that could be extracted.');
  });
});

describe("loadBlob: HTML", () => {
  it("keeps the article text and headings, the title as metadata, and drops scripts", async () => {
    const [doc] = await loadBlob(await fixture("what-is-rustdoc.html"), recipe);
    expect(doc.metadata).toMatchObject({ title: "What is rustdoc? - The rustdoc book", type: "html" });
    expect(doc.pageContent).toContain("# What is rustdoc?");
    expect(doc.pageContent).toContain("\n## Basic usage\n");
    expect(doc.pageContent).toContain(
      "The standard Rust distribution ships with a tool called rustdoc. Its job is to generate documentation",
    );
    for (const scriptText of ["localStorage", "playground_copyable", "default_dark_theme", "Font Awesome"]) {
      expect(doc.pageContent).not.toContain(scriptText);
    }
  });

  it("drops the elements the recipe excludes", async () => {
    const html = await fixture("what-is-rustdoc.html");
    const [all] = await loadBlob(html, withTypes({ html: { exclude: [] } }));
    const [trimmed] = await loadBlob(html, withTypes({ html: { exclude: ["h2"] } }));
    expect(all.pageContent).toContain("## Basic usage");
    expect(trimmed.pageContent).not.toContain("Basic usage");
    // Scripts are never text, excluded or not.
    expect(all.pageContent).not.toContain("localStorage");
  });
});

describe("loadBlob: CSV, JSON, Markdown, text", () => {
  it("gives one document per CSV row as column: value lines, with the row number", async () => {
    const docs = await loadBlob(await fixture("debian-releases.csv"), recipe);
    expect(docs).toHaveLength(22);
    expect(docs[0].pageContent).toBe(
      "version: 1.1\ncodename: Buzz\nseries: buzz\ncreated: 1993-08-16\nrelease: 1996-06-17\neol: 1997-06-05\neol-lts: \neol-elts: ",
    );
    expect(docs[0].metadata).toMatchObject({ row: 1, type: "csv", name: "debian-releases.csv" });
    expect(docs[21].pageContent).toContain("codename: Experimental");
  });

  it("gives the whole CSV as one document when rowsAsDocuments is false", async () => {
    const docs = await loadBlob(
      await fixture("debian-releases.csv"),
      withTypes({ csv: { rowsAsDocuments: false } }),
    );
    expect(docs).toHaveLength(1);
    expect(docs[0].pageContent).toContain("codename: Buzz");
    expect(docs[0].pageContent).toContain("eol-elts: \n\nversion: 1.2\ncodename: Rex");
  });

  it("reads the string values of JSON, or the whole value with keys in pretty mode", async () => {
    const json = await fixture("http-status-codes.json");
    const [strings] = await loadBlob(json, recipe);
    expect(strings.pageContent.split("\n")).toContain("I'm a Teapot");
    expect(strings.pageContent).not.toContain("418");
    const [pretty] = await loadBlob(json, withTypes({ json: { mode: "pretty", pointers: [] } }));
    expect(pretty.pageContent).toContain(`"418": I'm a Teapot`);
  });

  it("reports a .json file that is not JSON as a 400", async () => {
    const error = await loadBlob(await fixture("fake-memo.txt", "memo.json"), recipe).catch((e) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.message).toMatch(/^"memo\.json" could not be read as JSON: /);
  });

  it("reads text in a legacy single-byte encoding (Windows-1252)", async () => {
    // Paragraphs of the handbook's text whose characters all exist in Latin-1, saved in that encoding.
    const handbook = (await readFile(path.join(FIXTURES, "handbook-1p.txt"), "utf8")).split("\n");
    const latin1 = handbook
      .filter((line) => line.includes("§") && [...line].every((c) => c.charCodeAt(0) <= 0xff))
      .join("\n");
    expect(latin1).toContain("28 U.S.C. § 586(b)");
    const [doc] = await loadBlob(
      { name: "handbook.txt", source: "test:handbook", data: Buffer.from(latin1, "latin1") },
      recipe,
    );
    expect(doc.pageContent).toBe(latin1);
  });

  it("reads Markdown and text as they are", async () => {
    const md = await fixture("fastify-getting-started.md");
    const [doc] = await loadBlob(md, recipe);
    expect(doc.pageContent).toBe(md.data.toString("utf8"));
    expect(doc.metadata).toEqual({ source: md.source, name: md.name, type: "markdown" });
    const txt = await fixture("fake-memo.txt");
    const [text] = await loadBlob(txt, recipe);
    expect(text.pageContent).toBe(txt.data.toString("utf8"));
    expect(text.metadata.type).toBe("text");
  });
});

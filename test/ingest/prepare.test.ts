// prepareBlob end to end: chunks within the recipe's size, the metadata index() and citations rely on, and
// identical output for identical input (so that re-ingesting an unchanged file is skipped).
import { readFile } from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { UnsupportedTypeError } from "../../src/errors.ts";
import { prepareBlob } from "../../src/ingest/prepare.ts";
import { defineRecipe, loadRecipe, type Recipe } from "../../src/ingest/recipe.ts";
import type { SourceBlob } from "../../src/ingest/sources/blob.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FIXTURES = path.join(ROOT, "test/fixtures");

async function fixture(file: string, extra: Partial<SourceBlob> = {}): Promise<SourceBlob> {
  const source = path.join(FIXTURES, file);
  return { name: file, source, data: await readFile(source), ...extra };
}

let recipe: Recipe;
beforeAll(async () => {
  recipe = await loadRecipe(path.join(ROOT, "loaders"), "default");
});

const SCALAR = ["string", "number", "boolean"];

describe("prepareBlob", () => {
  it("splits a PDF into chunks within chunkSize that keep their page, source, chunk index and checksum", async () => {
    const blob = await fixture("bitcoin.pdf");
    const chunks = await prepareBlob(blob, recipe);
    expect(chunks.length).toBeGreaterThan(9);
    for (const chunk of chunks) {
      expect(chunk.pageContent.length).toBeLessThanOrEqual(recipe.splitter.chunkSize);
      expect(chunk.pageContent.trim()).not.toBe("");
    }
    expect(chunks.map((c) => c.metadata.chunk)).toEqual(chunks.map((_, i) => i));
    expect(new Set(chunks.map((c) => c.metadata.page))).toEqual(new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const pages = chunks.map((c) => c.metadata.page ?? 0);
    expect(pages).toEqual([...pages].sort((a, b) => a - b));
    const timestamp = chunks.find((c) => c.pageContent.includes("3. Timestamp Server"));
    expect(timestamp?.metadata.page).toBe(2);
    expect(chunks[0].metadata).toEqual({
      source: blob.source,
      name: "bitcoin.pdf",
      type: "pdf",
      page: 1,
      chunk: 0,
      checksum: expect.stringMatching(/^[0-9a-f]{16}$/),
      doc_id: blob.source,
    });
    for (const chunk of chunks) {
      for (const value of Object.values(chunk.metadata)) expect(SCALAR).toContain(typeof value);
    }
  });

  it("overlaps neighbouring chunks of one page by up to chunkOverlap characters", async () => {
    const small = defineRecipe({ name: "small", splitter: { chunkSize: 200, chunkOverlap: 50 } });
    const chunks = await prepareBlob(await fixture("fake-memo.pdf"), small);
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.pageContent.length).toBeLessThanOrEqual(200);
    const [first, second] = chunks;
    const shared = [...Array(51).keys()]
      .reverse()
      .find((n) => n > 0 && second.pageContent.startsWith(first.pageContent.slice(-n)));
    expect(shared).toBeGreaterThan(0);
  });

  it("gives identical chunks and metadata for identical input", async () => {
    for (const file of ["bitcoin.pdf", "handbook-1p.docx", "what-is-rustdoc.html", "debian-releases.csv"]) {
      const a = await prepareBlob(await fixture(file), recipe);
      const b = await prepareBlob(await fixture(file), recipe);
      expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    }
  });

  it("changes only the checksums of chunks whose text changed", async () => {
    const blob = await fixture("fastify-getting-started.md");
    const before = await prepareBlob(blob, recipe);
    const text = blob.data.toString("utf8");
    const edited = text.replace("### Install", "### Installation");
    expect(edited).not.toBe(text);
    const after = await prepareBlob({ ...blob, data: Buffer.from(edited) }, recipe);
    const changed = after.filter((c, i) => c.metadata.checksum !== before[i]?.metadata.checksum);
    expect(changed.map((c) => c.pageContent).join("\n")).toContain("### Installation");
    expect(changed.length).toBeLessThan(after.length / 2);
  });

  it("splits Markdown at headings first", async () => {
    const chunks = await prepareBlob(await fixture("fastify-getting-started.md"), recipe);
    for (const chunk of chunks)
      expect(chunk.pageContent.length).toBeLessThanOrEqual(recipe.splitter.chunkSize);
    const headed = chunks.filter((c) => /^#{2,3} /.test(c.pageContent));
    expect(headed.map((c) => c.pageContent.split("\n")[0])).toEqual(
      expect.arrayContaining(["## Getting Started", "### Your first server", "### Validate your data"]),
    );
  });

  it("lets the caller's doc_id and scalar metadata through, but not over the fields it owns", async () => {
    const blob = await fixture("fake-memo.pdf", {
      name: "memo.pdf",
      source: "upload:memo.pdf",
      metadata: {
        doc_id: "memo-2023",
        team: "logistics",
        year: 2023,
        draft: false,
        nested: { a: 1 },
        page: 7,
      },
    });
    const [chunk] = await prepareBlob(blob, recipe);
    expect(chunk.metadata).toEqual({
      team: "logistics",
      year: 2023,
      draft: false,
      source: "upload:memo.pdf",
      name: "memo.pdf",
      type: "pdf",
      page: 1,
      chunk: 0,
      checksum: expect.any(String),
      doc_id: "memo-2023",
    });
  });

  it("stamps CSV chunks with their row and HTML chunks with the page title", async () => {
    const rows = await prepareBlob(await fixture("debian-releases.csv"), recipe);
    expect(rows[1].metadata).toMatchObject({ row: 2, chunk: 1, type: "csv" });
    const html = await prepareBlob(await fixture("what-is-rustdoc.html"), recipe);
    expect(html.every((c) => c.metadata.title === "What is rustdoc? - The rustdoc book")).toBe(true);
  });

  it("refuses an image with 415 before loading anything", async () => {
    await expect(prepareBlob(await fixture("paystub.jpg"), recipe)).rejects.toBeInstanceOf(
      UnsupportedTypeError,
    );
  });
});

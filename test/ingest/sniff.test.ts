// Type detection from content first: misnamed files are read (or refused) for what they are.
import { open, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BadRequestError, UnsupportedTypeError } from "../../src/errors.ts";
import { detectType, SUPPORTED_TYPES, typeFromName } from "../../src/ingest/loaders/sniff.ts";
import { FOLDER_EXTENSIONS } from "../../src/ingest/sources/filesystem.ts";

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures");
const bytes = (file: string) => readFile(path.join(FIXTURES, file));
const head = async (file: string, length: number) => {
  const handle = await open(file);
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(length), 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
};
const blob = (data: Buffer, name: string, mediaType?: string) => ({
  name,
  source: `test:${name}`,
  data,
  mediaType,
});

describe("detectType", () => {
  it("recognises each supported fixture by its content", async () => {
    const cases: [string, string][] = [
      ["fake-memo.pdf", "pdf"],
      ["handbook-1p.docx", "docx"],
      ["docx-tables.docx", "docx"],
      ["what-is-rustdoc.html", "html"],
      ["fastify-getting-started.md", "markdown"],
      ["fake-memo.txt", "text"],
      ["debian-releases.csv", "csv"],
      ["http-status-codes.json", "json"],
    ];
    for (const [file, type] of cases) expect(await detectType(blob(await bytes(file), file))).toBe(type);
  });

  it("reads a PDF named .txt as a PDF, and a DOCX without an extension as a DOCX", async () => {
    expect(await detectType(blob(await bytes("bitcoin.pdf"), "notes.txt", "text/plain"))).toBe("pdf");
    expect(await detectType(blob(await bytes("handbook-1p.docx"), "handbook"))).toBe("docx");
  });

  it("detects images by their content, whatever their name (they go to Textract, or get 415 without it)", async () => {
    expect(await detectType(blob(await bytes("single-page-1.png"), "scan.pdf", "application/pdf"))).toBe(
      "png",
    );
    expect(await detectType(blob(await bytes("paystub.jpg"), "paystub.txt"))).toBe("jpeg");
  });

  it("refuses an executable and a ZIP that is not a Word document", async () => {
    const elf = await head(process.execPath, 64 * 1024);
    await expect(detectType(blob(elf, "report.pdf"))).rejects.toThrow(/an executable \(ELF\)/);
    const zip = await bytes("mammoth-hello.zip");
    await expect(detectType(blob(zip, "hello.zip"))).rejects.toThrow(
      /a ZIP archive that is not a Word document/,
    );
  });

  it("refuses binary data that is no known format with 415", async () => {
    // Bytes from the middle of a real JPEG: compressed data, no header, no text.
    const jpeg = await bytes("paystub.jpg");
    const junk = jpeg.subarray(50_000, 54_096);
    const error = await detectType(blob(junk, "data.txt")).catch((e) => e);
    expect(error).toBeInstanceOf(UnsupportedTypeError);
    expect(error.message).toContain("binary data");
  });

  it("rejects an empty or whitespace-only file with 400", async () => {
    const empty = await detectType(blob(Buffer.alloc(0), "empty.pdf")).catch((e) => e);
    expect(empty).toBeInstanceOf(BadRequestError);
    expect(empty.message).toBe('"empty.pdf" is empty.');
    await expect(detectType(blob(Buffer.from(" \n\t\r\n "), "blank.md"))).rejects.toThrow(/is empty/);
  });

  it("tells text formats apart by content (JSON, HTML) before name (Markdown, CSV)", async () => {
    expect(await detectType(blob(await bytes("http-status-codes.json"), "codes.txt"))).toBe("json");
    expect(await detectType(blob(await bytes("what-is-rustdoc.html"), "page.txt"))).toBe("html");
    expect(await detectType(blob(await bytes("debian-releases.csv"), "debian", "text/csv"))).toBe("csv");
    // Markdown that opens with an inline HTML heading stays Markdown.
    expect(await detectType(blob(await bytes("fastify-getting-started.md"), "guide.md"))).toBe("markdown");
    // Text content under a binary format's name is text.
    expect(await detectType(blob(await bytes("fake-memo.txt"), "memo.pdf"))).toBe("text");
  });

  it("reads text that happens to start with a short binary signature as text", async () => {
    // file-type takes "MZ" for an EXE, "BM" for a BMP and "ID3" for an MP3; prefixed to the real memo text.
    const memo = await bytes("fake-memo.txt");
    for (const signature of ["MZ ", "BMW ", "ID3 "]) {
      expect(await detectType(blob(Buffer.concat([Buffer.from(signature), memo]), "memo.txt"))).toBe("text");
    }
  });

  it("reads UTF-16 text with a byte-order mark", async () => {
    const text = (await bytes("fake-memo.txt")).toString("utf8");
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]);
    expect(await detectType(blob(utf16, "memo.txt"))).toBe("text");
  });

  it("walks folders only for extensions that name a supported type", () => {
    for (const ext of FOLDER_EXTENSIONS) expect(SUPPORTED_TYPES).toContain(typeFromName(`file.${ext}`));
  });
});

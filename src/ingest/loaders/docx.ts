// DOCX → text. LangChain's DocxLoader uses mammoth's extractRawText, which turns every table cell into its own
// paragraph, so a row's cells end up far apart and unrelated ("Header Col 1", "Header Col 2", "Lorem ipsum"...).
// The default `markdown` format converts with mammoth to HTML instead and renders it like any HTML document:
// headings, lists and table rows ("| Lorem ipsum | A link example |") survive.
// Both read the ZIP's sizes first (checkDocxZip, with yauzl): mammoth inflates whole parts into memory, so a
// zip bomb would otherwise take the process down.
import { crc32 } from "node:zlib";
import { BufferLoader } from "@langchain/classic/document_loaders/fs/buffer";
import { DocxLoader } from "@langchain/community/document_loaders/fs/docx";
import { Document } from "@langchain/core/documents";
import mammoth from "mammoth";
import yauzl from "yauzl";
import { CounselError } from "../../errors.ts";
import { htmlToText } from "./html.ts";

/**
 * The largest a single part (word/document.xml above all) may inflate to. mammoth holds a part as text and as
 * a parsed XML tree, measured at ~18× the part's size in resident memory (20 MB of document.xml: +374 MB;
 * 50 MB: +916 MB), so 32 MB costs ~600 MB at worst while still fitting book-length documents.
 */
export const MAX_DOCX_PART_BYTES = 32 * 1024 * 1024;
/**
 * The largest all parts together may inflate to, images included: they are never handed to mammoth, but are
 * inflated once here to prove their declared sizes honest.
 */
export const MAX_DOCX_TOTAL_BYTES = 128 * 1024 * 1024;
/** Word writes tens of parts, a few thousand with many images; each costs jszip an object and this check a stream. */
export const MAX_DOCX_ENTRIES = 10_000;

export interface DocxOptions {
  format: "markdown" | "raw";
}

/** One document per DOCX file. */
export function docxLoader(blob: Blob, options: DocxOptions): BufferLoader {
  return options.format === "raw" ? new CheckedDocxLoader(blob) : new DocxMarkdownLoader(blob);
}

export class DocxMarkdownLoader extends BufferLoader {
  protected async parse(raw: Buffer, metadata: Document["metadata"]): Promise<Document[]> {
    await checkDocxZip(raw);
    const { value } = await mammoth.convertToHtml(
      { buffer: raw },
      {
        // Images are not text: skip mammoth's base64 data URIs, which can be megabytes each.
        convertImage: mammoth.images.imgElement(async () => ({ src: "" })),
        // A DOCX can link images by path or URL; never read local files or the network for it.
        externalFileAccess: false,
      },
    );
    const { text } = htmlToText(value, { exclude: [] });
    return text === "" ? [] : [new Document({ pageContent: text, metadata })];
  }
}

/** LangChain's DocxLoader (mammoth's raw text), behind the same size checks. */
class CheckedDocxLoader extends DocxLoader {
  override async parse(raw: Buffer, metadata: Document["metadata"]): Promise<Document[]> {
    await checkDocxZip(raw);
    return super.parse(raw, metadata);
  }
}

/**
 * Refuses a DOCX whose parts would inflate past MAX_DOCX_PART_BYTES or, together, MAX_DOCX_TOTAL_BYTES, or that
 * has more than MAX_DOCX_ENTRIES parts (CounselError document_too_large, 413), and one that is not a sound ZIP
 * (an Error, which the caller reports as a corrupt file).
 *
 * mammoth reads the ZIP with jszip, which trusts the sizes in the central directory and inflates a whole part
 * before comparing its length, with no limit. So yauzl reads the central directory here, before anything is
 * inflated (a 200 MB bomb is refused from its 46-byte header); then every entry is inflated once as a stream
 * that keeps nothing but a byte count and a CRC-32, which stops as soon as an entry outgrows its declared size:
 * headers that understate a bomb cannot get it past the limit, and memory stays flat.
 *
 * @example
 * await checkDocxZip(buffer); // then mammoth may read it
 */
export async function checkDocxZip(data: Buffer): Promise<void> {
  const zip = await yauzl
    .fromBufferPromise(data, {
      // Sizes are compared here instead, so that a refusal can say "inflates past" and check the CRC-32 too.
      validateEntrySizes: false,
    })
    .catch((error: unknown) => {
      throw corrupt(messageOf(error), error);
    });
  try {
    if (zip.entryCount > MAX_DOCX_ENTRIES) {
      throw tooLarge(`it has ${zip.entryCount} parts, over the limit of ${MAX_DOCX_ENTRIES}`);
    }
    const entries = await readEntries(zip);
    let total = 0;
    for (const entry of entries) {
      total += entry.uncompressedSize;
      if (entry.uncompressedSize > MAX_DOCX_PART_BYTES) {
        throw tooLarge(
          `${entry.fileName.slice(0, 200)} would inflate to ${mb(entry.uncompressedSize)}, over the ${mb(MAX_DOCX_PART_BYTES)} limit`,
        );
      }
    }
    if (total > MAX_DOCX_TOTAL_BYTES) {
      throw tooLarge(`its parts would inflate to ${mb(total)}, over the ${mb(MAX_DOCX_TOTAL_BYTES)} limit`);
    }
    for (const entry of entries) await checkEntry(zip, entry);
  } finally {
    zip.close();
  }
}

function tooLarge(why: string): CounselError {
  return new CounselError("document_too_large", 413, `The Word document is too large to read: ${why}.`);
}

const mb = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;

/** The central directory's entries, as yauzl reads them (ZIP64 included, bounds-checked). */
async function readEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  const entries: yauzl.Entry[] = [];
  try {
    for await (const entry of zip.eachEntry()) entries.push(entry);
  } catch (error) {
    throw corrupt(messageOf(error), error);
  }
  return entries;
}

/** Inflates one entry as a stream, keeping only its length and CRC-32, and compares them with its header. */
async function checkEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<void> {
  const name = entry.fileName.slice(0, 200);
  if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
    throw corrupt(`${name} uses compression method ${entry.compressionMethod}, not DEFLATE`);
  }
  let size = 0;
  let crc = 0;
  try {
    for await (const chunk of await zip.openReadStreamPromise(entry)) {
      size += (chunk as Buffer).length;
      // Leaving the loop destroys the stream: nothing past the declared size is inflated.
      if (size > entry.uncompressedSize) break;
      crc = crc32(chunk as Buffer, crc);
    }
  } catch (error) {
    throw corrupt(`${name}: ${messageOf(error)}`, error);
  }
  if (size > entry.uncompressedSize) {
    throw corrupt(
      `${name} inflates past the ${entry.uncompressedSize} bytes its header declares (a zip bomb?)`,
    );
  }
  if (size !== entry.uncompressedSize || crc >>> 0 !== entry.crc32) {
    throw corrupt(`${name} does not match its size or CRC-32`);
  }
}

/** The Error of a ZIP that cannot be read, which the caller reports as a corrupt file. */
function corrupt(why: string, cause?: unknown): Error {
  return new Error(`corrupt ZIP: ${why}`, { cause });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

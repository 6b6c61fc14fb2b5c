// DOCX → text. LangChain's DocxLoader uses mammoth's extractRawText, which turns every table cell into its own
// paragraph, so a row's cells end up far apart and unrelated ("Header Col 1", "Header Col 2", "Lorem ipsum"...).
// The default `markdown` format converts with mammoth to HTML instead and renders it like any HTML document:
// headings, lists and table rows ("| Lorem ipsum | A link example |") survive.
// Both read the ZIP's sizes first (checkDocxZip): mammoth inflates whole parts into memory, so a zip bomb
// would otherwise take the process down.
import { crc32, createInflateRaw } from "node:zlib";
import { BufferLoader } from "@langchain/classic/document_loaders/fs/buffer";
import { DocxLoader } from "@langchain/community/document_loaders/fs/docx";
import { Document } from "@langchain/core/documents";
import mammoth from "mammoth";
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

/** One entry of a ZIP's central directory. */
interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  /** Where the entry's data starts, after its local header. */
  start: number;
}

/**
 * Refuses a DOCX whose parts would inflate past MAX_DOCX_PART_BYTES or, together, MAX_DOCX_TOTAL_BYTES
 * (CounselError document_too_large, 413), and one that is not a sound ZIP (an Error, which the caller reports
 * as a corrupt file).
 *
 * mammoth reads the ZIP with jszip, which trusts the sizes in the central directory and inflates a whole part
 * before comparing its length, with no limit. So the sizes are read from the central directory here, before
 * anything is inflated (a 200 MB bomb is refused from its 46-byte header); then every entry is inflated once as
 * a stream that keeps nothing but a byte count and a CRC-32, which stops as soon as an entry outgrows its
 * declared size: headers that understate a bomb cannot get it past the limit, and memory stays flat. jszip's
 * internal `_data.uncompressedSize` would give the same declared sizes, but only through a private field of a
 * transitive dependency, and it would still need the check against lying headers.
 */
export async function checkDocxZip(data: Buffer): Promise<void> {
  const entries = readCentralDirectory(data);
  let total = 0;
  for (const entry of entries) {
    total += entry.size;
    if (entry.size > MAX_DOCX_PART_BYTES) {
      throw tooLarge(
        `${entry.name.slice(0, 200)} would inflate to ${mb(entry.size)}, over the ${mb(MAX_DOCX_PART_BYTES)} limit`,
      );
    }
  }
  if (total > MAX_DOCX_TOTAL_BYTES) {
    throw tooLarge(`its parts would inflate to ${mb(total)}, over the ${mb(MAX_DOCX_TOTAL_BYTES)} limit`);
  }
  for (const entry of entries) await checkEntry(data, entry);
}

function tooLarge(why: string): CounselError {
  return new CounselError("document_too_large", 413, `The Word document is too large to read: ${why}.`);
}

const mb = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const U32_MAX = 0xffffffff;

/** The entries named by the central directory (ZIP64 included), bounds-checked against `data`. */
function readCentralDirectory(data: Buffer): ZipEntry[] {
  const corrupt = (why: string) => new Error(`corrupt ZIP: ${why}`);
  const u16 = (at: number) => checked(at, 2, () => data.readUInt16LE(at));
  const u32 = (at: number) => checked(at, 4, () => data.readUInt32LE(at));
  const u64 = (at: number) => checked(at, 8, () => Number(data.readBigUInt64LE(at)));
  function checked<T>(at: number, length: number, read: () => T): T {
    if (at < 0 || at + length > data.length) throw corrupt("a header points past the end of the file");
    return read();
  }

  // The end record is the last 22 bytes, unless a comment (up to 64 KB) follows it.
  let end = -1;
  for (let at = data.length - 22; at >= Math.max(0, data.length - 22 - 0xffff); at -= 1) {
    if (data.readUInt32LE(at) === EOCD) {
      end = at;
      break;
    }
  }
  if (end < 0) throw corrupt("no central directory (truncated, or not a ZIP)");
  let count = u16(end + 10);
  let offset = u32(end + 16);
  if (count === 0xffff || offset === U32_MAX) {
    if (u32(end - 20) !== ZIP64_LOCATOR) throw corrupt("a ZIP64 archive without its locator");
    const zip64End = u64(end - 20 + 8);
    if (u32(zip64End) !== ZIP64_EOCD) throw corrupt("a ZIP64 archive without its end record");
    count = u64(zip64End + 32);
    offset = u64(zip64End + 48);
  }
  if (count > MAX_DOCX_ENTRIES)
    throw tooLarge(`it has ${count} parts, over the limit of ${MAX_DOCX_ENTRIES}`);

  const entries: ZipEntry[] = [];
  for (let i = 0, at = offset; i < count; i += 1) {
    if (u32(at) !== CENTRAL) throw corrupt("a broken central directory");
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const entry: ZipEntry = {
      name: checked(at + 46, nameLength, () => data.toString("utf8", at + 46, at + 46 + nameLength)),
      method: u16(at + 10),
      crc: u32(at + 16),
      compressedSize: u32(at + 20),
      size: u32(at + 24),
      localOffset: u32(at + 42),
      start: 0,
    };
    // ZIP64: each 32-bit field at its maximum is in the extra field (id 1), as 64 bits, in this order.
    const extra = at + 46 + nameLength;
    for (let x = extra; x + 4 <= extra + extraLength; x += 4 + u16(x + 2)) {
      if (u16(x) !== 1) continue;
      let field = x + 4;
      for (const key of ["size", "compressedSize", "localOffset"] as const) {
        if (entry[key] !== U32_MAX) continue;
        entry[key] = u64(field);
        field += 8;
      }
    }
    entries.push(entry);
    at = extra + extraLength + u16(at + 32);
  }

  for (const entry of entries) {
    const at = entry.localOffset;
    if (u32(at) !== LOCAL) throw corrupt(`${entry.name.slice(0, 200)} has no local header`);
    entry.start = at + 30 + u16(at + 26) + u16(at + 28);
    if (entry.start + entry.compressedSize > data.length) {
      throw corrupt(`${entry.name.slice(0, 200)} is cut off`);
    }
  }
  return entries;
}

/** Inflates one entry as a stream, keeping only its length and CRC-32, and compares them with its header. */
async function checkEntry(data: Buffer, entry: ZipEntry): Promise<void> {
  const stored = data.subarray(entry.start, entry.start + entry.compressedSize);
  let size: number;
  let crc: number;
  if (entry.method === 0) {
    size = stored.length;
    crc = crc32(stored);
  } else if (entry.method === 8) {
    ({ size, crc } = await inflateAndMeasure(stored, entry));
  } else {
    throw new Error(`corrupt ZIP: ${entry.name} uses compression method ${entry.method}, not DEFLATE`);
  }
  if (size !== entry.size || crc >>> 0 !== entry.crc) {
    throw new Error(`corrupt ZIP: ${entry.name} does not match its size or CRC-32`);
  }
}

function inflateAndMeasure(deflated: Buffer, entry: ZipEntry): Promise<{ size: number; crc: number }> {
  return new Promise((resolve, reject) => {
    const inflate = createInflateRaw();
    let size = 0;
    let crc = 0;
    inflate.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > entry.size) {
        inflate.destroy();
        reject(
          new Error(
            `corrupt ZIP: ${entry.name} inflates past the ${entry.size} bytes its header declares (a zip bomb?)`,
          ),
        );
        return;
      }
      crc = crc32(chunk, crc);
    });
    inflate.on("end", () => resolve({ size, crc }));
    inflate.on("error", (error) => reject(new Error(`corrupt ZIP: ${entry.name}: ${error.message}`)));
    inflate.end(deflated);
  });
}

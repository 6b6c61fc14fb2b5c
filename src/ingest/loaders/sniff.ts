// Decides which loader reads a blob: the content first (magic bytes, then text checks), the file extension and
// the declared media type only to tell apart text formats that look alike. A .pdf that is really a PNG is
// refused; a .txt that is really a PDF is read as a PDF.
import path from "node:path";
import { BadRequestError, UnsupportedTypeError } from "../../errors.ts";
import type { SourceBlob } from "../sources/blob.ts";

export const SUPPORTED_TYPES = ["pdf", "docx", "html", "markdown", "text", "csv", "json"] as const;
/** Read only through Amazon Textract, when it is enabled. */
export const IMAGE_TYPES = ["png", "jpeg", "tiff"] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];
export type DocType = (typeof SUPPORTED_TYPES)[number] | ImageType;

const BY_EXTENSION: Record<string, DocType> = {
  pdf: "pdf",
  docx: "docx",
  html: "html",
  htm: "html",
  xhtml: "html",
  md: "markdown",
  markdown: "markdown",
  mdx: "markdown",
  txt: "text",
  text: "text",
  csv: "csv",
  tsv: "csv",
  json: "json",
};

const BY_MEDIA_TYPE: Record<string, DocType> = {
  "application/pdf": "pdf",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
  "text/html": "html",
  "application/xhtml+xml": "html",
  "text/markdown": "markdown",
  "text/x-markdown": "markdown",
  "text/plain": "text",
  "text/csv": "csv",
  "text/tab-separated-values": "csv",
  "application/json": "json",
};

// Imported with the first blob sniffed: a process that reads no document never loads file-type's parsers.
let fileType: Promise<typeof import("file-type")> | undefined;

/** The type a file name's extension suggests, if any. */
export function typeFromName(name: string): DocType | undefined {
  return BY_EXTENSION[path.extname(name).slice(1).toLowerCase()];
}

function typeFromMediaType(mediaType: string | undefined): DocType | undefined {
  return mediaType ? BY_MEDIA_TYPE[mediaType.split(";")[0].trim().toLowerCase()] : undefined;
}

/**
 * The document type of a blob. Throws UnsupportedTypeError (415) for anything that is not one of
 * SUPPORTED_TYPES (images, archives, executables, binary data), naming what it is, and BadRequestError (400)
 * for an empty or whitespace-only file.
 */
export async function detectType(blob: SourceBlob): Promise<DocType> {
  if (blob.data.length === 0) throw new BadRequestError(`"${blob.name}" is empty.`);
  const byName = typeFromName(blob.name);
  const declared = typeFromMediaType(blob.mediaType);

  // A UTF-16 byte-order mark (FF FE) is also an MPEG audio frame sync to file-type; text that decodes cleanly wins.
  const utf16 = hasUtf16Bom(blob.data) ? decodeText(blob.data) : undefined;
  fileType ??= import("file-type");
  const magic = utf16 === undefined ? await (await fileType).fileTypeFromBuffer(blob.data) : undefined;
  if (magic?.ext === "pdf") return "pdf";
  if (magic?.ext === "png") return "png";
  if (magic?.ext === "jpg") return "jpeg";
  if (magic?.ext === "tif") return "tiff";
  if (magic?.ext === "docx") return "docx";
  if (magic?.ext === "zip") {
    // file-type reads ZIP entries in order and may stop before word/document.xml (a truncated file, unusual
    // entry order); the entry name is stored uncompressed, so look for it. A .docx that is a broken ZIP is
    // still handed to the DOCX loader, which reports it as corrupt (400) rather than as a ZIP (415).
    if (blob.data.includes("word/document.xml") || byName === "docx" || declared === "docx") return "docx";
    throw unsupported(blob, "a ZIP archive that is not a Word document");
  }

  // Content that is all printable text is text, whatever file-type guessed: its two- to four-byte signatures
  // match prose ("MZ Holdings…" is an EXE, "BMW…" a BMP, "ID3…" an MP3), while real images, executables and
  // archives always contain control bytes.
  const text = utf16 ?? decodeText(blob.data);
  if (text === undefined) {
    throw unsupported(
      blob,
      magic ? describeKind(magic.ext, magic.mime) : "binary data of no known document format",
    );
  }
  if (text.trim() === "") throw new BadRequestError(`"${blob.name}" is empty (only whitespace).`);
  return textType(text, byName ?? declared);
}

/** Among text formats: JSON and HTML by their content, then Markdown, CSV or plain text by name or media type. */
function textType(text: string, hint: DocType | undefined): DocType {
  const trimmed = text.trimStart();
  if ((trimmed.startsWith("{") || trimmed.startsWith("[")) && isJson(trimmed)) return "json";
  if (looksLikeHtml(trimmed)) return "html";
  // A .pdf or .docx name on text content is wrong; the content wins.
  if (hint === "pdf" || hint === "docx" || hint === undefined) return "text";
  return hint;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** An HTML document starts with a doctype or a document-level tag (after comments), as browsers sniff it. */
function looksLikeHtml(text: string): boolean {
  const head = text
    .trimStart()
    .replace(/^(?:<\?xml[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*)*/, "")
    .slice(0, 64)
    .toLowerCase();
  return /^<(?:!doctype html|html|head|body|title|meta|script|style)[\s>/]/.test(head);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The text in `data` if it is text: UTF-8 (with or without BOM), UTF-16 with a BOM, or a legacy single-byte
 * encoding (read as Windows-1252) when it has no control characters. Undefined for binary data.
 */
function hasUtf16Bom(data: Uint8Array): boolean {
  return (data[0] === 0xff && data[1] === 0xfe) || (data[0] === 0xfe && data[1] === 0xff);
}

export function decodeText(data: Uint8Array): string | undefined {
  if (data[0] === 0xff && data[1] === 0xfe) return decodeUtf16(data, "utf-16le");
  if (data[0] === 0xfe && data[1] === 0xff) return decodeUtf16(data, "utf-16be");
  if (hasControlBytes(data)) return undefined;
  try {
    return utf8.decode(data);
  } catch {
    // Old CSV exports and text files are often Windows-1252; random binary data almost always has control
    // bytes, which were ruled out above.
    return new TextDecoder("windows-1252").decode(data);
  }
}

function decodeUtf16(data: Uint8Array, encoding: "utf-16le" | "utf-16be"): string | undefined {
  try {
    const text = new TextDecoder(encoding, { fatal: true }).decode(data);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters mean binary data
    return /[\u0000-\u0008\u000b\u000e-\u001f]/.test(text) ? undefined : text;
  } catch {
    return undefined;
  }
}

/** NUL and other C0 controls (but tab, line feed, form feed, carriage return) never occur in text files. */
function hasControlBytes(data: Uint8Array): boolean {
  for (const byte of data) {
    if (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0c && byte !== 0x0d) return true;
  }
  return false;
}

function describeKind(ext: string, mime: string): string {
  if (mime.startsWith("image/")) return `an image (${ext.toUpperCase()})`;
  if (mime.startsWith("audio/") || mime.startsWith("video/")) return `media (${ext.toUpperCase()})`;
  if (ext === "elf" || ext === "exe" || ext === "macho") return `an executable (${ext.toUpperCase()})`;
  return `${ext.toUpperCase()} (${mime})`;
}

function unsupported(blob: SourceBlob, kind: string): UnsupportedTypeError {
  return new UnsupportedTypeError(
    `"${blob.name}" is ${kind}, which Counsel cannot read. Supported types: ${SUPPORTED_TYPES.join(", ")}.`,
    SUPPORTED_TYPES,
  );
}

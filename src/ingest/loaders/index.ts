// A blob → LangChain Documents, by detected type, with the LangChain loaders reading from a Blob (no temporary
// files). Every document carries `source`, `name` and `type`; a file that cannot be parsed is a BadRequestError
// naming it, never a crash. Each type's loader (and its parser: pdf.js, mammoth, cheerio…) is imported with the
// first file of that type.
import { Document } from "@langchain/core/documents";
import { BadRequestError, CounselError, UnsupportedTypeError } from "../../errors.ts";
import { awsServiceFailure } from "../../models/errors.ts";
import type { Recipe } from "../recipe.ts";
import type { SourceBlob } from "../sources/blob.ts";
import type { TextractRouting } from "../textract/routing.ts";
import {
  type DocType,
  decodeText,
  detectType,
  IMAGE_TYPES,
  type ImageType,
  SUPPORTED_TYPES,
} from "./sniff.ts";

export { type DocType, detectType, SUPPORTED_TYPES } from "./sniff.ts";

export interface LoadOptions {
  /** The type from detectType, when the caller has it already. */
  type?: DocType;
  /** Stops a long parse (checked between PDF pages) when the caller gives up. */
  signal?: AbortSignal;
  /** Reads images and scanned PDFs; undefined when Textract is off. */
  textract?: TextractRouting;
}

/** Runs `load` with Node's source-map support off, restoring it after. */
async function withoutSourceMaps<T>(load: () => Promise<T>): Promise<T> {
  const enabled = process.sourceMapsEnabled;
  process.setSourceMapsEnabled(false);
  try {
    return await load();
  } finally {
    process.setSourceMapsEnabled(enabled);
  }
}

/** `load` called once, on first use; later calls share its promise (a repeated import() is not free). */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load();
    return loaded;
  };
}

// pdf.js ships source maps of tens of MB; when source maps are on (tsx turns them on), Node reads and keeps them
// for every module it loads: measured, the example PDF left 204 MB of heap in use with them, 50 without. Its
// frames are not ours to debug, so it loads (with its worker: pdf.ts) while they are off.
const pdfLoader = once(() => withoutSourceMaps(() => import("./pdf.ts")));
const docxLoaders = once(() => import("./docx.ts"));
const htmlLoader = once(() => import("./html.ts"));
const csvLoader = once(() => import("./csv.ts"));
const jsonLoader = once(() => import("./json.ts"));
const textLoader = once(() => import("@langchain/classic/document_loaders/fs/text"));

const LABELS: Record<DocType, string> = {
  pdf: "a PDF",
  docx: "a Word document",
  html: "HTML",
  markdown: "Markdown",
  text: "text",
  csv: "CSV",
  json: "JSON",
  png: "a PNG image",
  jpeg: "a JPEG image",
  tiff: "a TIFF image",
};

/**
 * The documents in a blob: a PDF page each (`page`), a CSV row each (`row`) or one per file, with `title` for
 * HTML. Throws BadRequestError when the file is corrupt or has no text, UnsupportedTypeError for other types.
 */
export async function loadBlob(
  blob: SourceBlob,
  recipe: Recipe,
  options: LoadOptions = {},
): Promise<Document[]> {
  const type = options.type ?? (await detectType(blob));
  let docs: Document[];
  try {
    docs = await loadByType(blob, type, recipe, options);
  } catch (error) {
    if (error instanceof CounselError || options.signal?.aborted) throw error;
    // Textract throttled or refused us: the service's fault or ours, not the file's.
    const upstream = awsServiceFailure(error, { service: "Amazon Textract", code: "textract" });
    if (upstream) throw upstream;
    throw new BadRequestError(`"${blob.name}" could not be read as ${LABELS[type]}: ${reason(error)}`);
  }
  const kept = docs.filter((d) => d.pageContent.trim() !== "");
  if (kept.length === 0) {
    const hint =
      type === "pdf" && !options.textract
        ? " (a scanned PDF has only images: set TEXTRACT_ENABLED=true to read it with Amazon Textract)"
        : "";
    throw new BadRequestError(`"${blob.name}" has no text that could be extracted${hint}.`);
  }
  return kept.map(
    (d) =>
      new Document({
        pageContent: d.pageContent,
        metadata: { ...loaderFields(d.metadata), source: blob.source, name: blob.name, type },
      }),
  );
}

async function loadByType(
  blob: SourceBlob,
  type: DocType,
  recipe: Recipe,
  { signal, textract }: LoadOptions,
): Promise<Document[]> {
  const { types } = recipe;
  switch (type) {
    case "pdf": {
      const { loadPdf } = await pdfLoader();
      const pages = (await loadPdf(toBlob(blob.data), blob.name, types.pdf, signal)).map(withPage);
      // No text layer on any page: a scan. A PDF with text is read locally, which is free and exact.
      const scanned = pages.every((p) => p.pageContent.trim() === "");
      return scanned && textract ? textract.load(blob.data, blob.name, signal) : pages;
    }
    case "png":
    case "jpeg":
    case "tiff":
      if (!textract) throw imagesNeedTextract(blob, type);
      return textract.load(blob.data, blob.name, signal);
    case "docx": {
      const { docxLoader } = await docxLoaders();
      return docxLoader(toBlob(blob.data), types.docx).load();
    }
    case "html": {
      const { HtmlBlobLoader } = await htmlLoader();
      return new HtmlBlobLoader(new Blob([text(blob)]), types.html).load();
    }
    case "csv": {
      const { loadCsv } = await csvLoader();
      return loadCsv(text(blob), types.csv);
    }
    case "json": {
      const { loadJson } = await jsonLoader();
      return loadJson(text(blob), types.json);
    }
    case "markdown":
    case "text": {
      const { TextLoader } = await textLoader();
      return new TextLoader(new Blob([text(blob)])).load();
    }
  }
}

function imagesNeedTextract(blob: SourceBlob, type: ImageType): UnsupportedTypeError {
  return new UnsupportedTypeError(
    `"${blob.name}" is ${LABELS[type]}: images are read by Amazon Textract, which is off ` +
      "(set TEXTRACT_ENABLED=true, or textract.enabled in the recipe).",
    [...SUPPORTED_TYPES, ...IMAGE_TYPES],
  );
}

function toBlob(data: Buffer): Blob {
  return new Blob([new Uint8Array(data.buffer, data.byteOffset, data.byteLength)]);
}

/** The blob's text, decoded as sniffed (UTF-8, UTF-16 or Windows-1252), so loaders always get UTF-8. */
function text(blob: SourceBlob): string {
  const decoded = decodeText(blob.data);
  if (decoded === undefined) throw new BadRequestError(`"${blob.name}" is not text.`);
  return decoded;
}

/** PDFLoader's `loc.pageNumber` as a plain `page`. */
function withPage(doc: Document): Document {
  const page = (doc.metadata.loc as { pageNumber?: unknown } | undefined)?.pageNumber;
  return typeof page === "number" ? new Document({ pageContent: doc.pageContent, metadata: { page } }) : doc;
}

/**
 * Only the loaders' scalar fields we mean to keep: LangChain loaders add their own ("source": "blob",
 * "blobType", nested "pdf" info) which are noise here, and nested values cannot be filtered on.
 */
function loaderFields(metadata: Record<string, unknown>): Record<string, string | number | boolean> {
  const kept: Record<string, string | number | boolean> = {};
  for (const key of ["page", "row", "title", "loader", "textract_confidence"]) {
    const value = metadata[key];
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
      kept[key] = value;
  }
  return kept;
}

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split("\n")[0].trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line || "unknown error";
}

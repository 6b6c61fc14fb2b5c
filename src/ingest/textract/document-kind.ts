// What Textract is handed: which of its formats the bytes are (by magic bytes, never by name) and how many
// pages they hold, which decides between the one-call sync API and an async job.
import { PDFParse } from "pdf-parse";

export type TextractFormat = "pdf" | "png" | "jpeg" | "tiff";

export const MEDIA_TYPES: Record<TextractFormat, string> = {
  pdf: "application/pdf",
  png: "image/png",
  jpeg: "image/jpeg",
  tiff: "image/tiff",
};

export function textractFormat(bytes: Uint8Array): TextractFormat | undefined {
  const starts = (...magic: number[]) => magic.every((byte, i) => bytes[i] === byte);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "png";
  if (starts(0xff, 0xd8, 0xff)) return "jpeg";
  if (starts(0x49, 0x49, 0x2a, 0x00) || starts(0x4d, 0x4d, 0x00, 0x2a)) return "tiff";
  // The PDF header may follow up to 1 KB of junk, as readers (and Textract) accept.
  if (Buffer.from(bytes.subarray(0, 1024)).includes("%PDF-")) return "pdf";
  return undefined;
}

/**
 * The page count of a PDF, or undefined when it cannot be told (treat it as several pages: the async API
 * reads any count). pdf.js reads the page tree only, not the pages; counting "/Type /Page" objects in the raw
 * bytes is the fallback for files pdf.js refuses, and undercounts PDFs that keep their page objects in
 * compressed object streams (PDF 1.5+), which is why it is not the first choice.
 */
export async function countPdfPages(bytes: Uint8Array): Promise<number | undefined> {
  // A copy: pdf.js takes over (detaches) the buffer it is given, and the caller still needs the bytes.
  const parser = new PDFParse({ data: new Uint8Array(bytes) });
  try {
    return (await parser.getInfo()).total;
  } catch {
    const objects = Buffer.from(bytes)
      .toString("latin1")
      .match(/\/Type\s*\/Page(?![A-Za-z])/g);
    return objects ? objects.length : undefined;
  } finally {
    await parser.destroy().catch(() => {});
  }
}

/** The number of images (IFDs) in a classic TIFF, following the IFD chain; undefined for BigTIFF or a broken
 *  chain. */
export function countTiffPages(bytes: Uint8Array): number | undefined {
  if (bytes.length < 8) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = bytes[0] === 0x49;
  const seen = new Set<number>();
  let offset = view.getUint32(4, little);
  while (offset !== 0) {
    if (seen.has(offset) || offset + 2 > bytes.length || seen.size > 10_000) return undefined;
    seen.add(offset);
    const entries = view.getUint16(offset, little);
    const next = offset + 2 + entries * 12;
    if (next + 4 > bytes.length) return undefined;
    offset = view.getUint32(next, little);
  }
  return seen.size || undefined;
}

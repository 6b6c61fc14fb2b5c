// Stamps each chunk with the metadata retrieval and citations need. Only JSON scalars, and nothing that
// changes between runs (no timestamps): LangChain's index() hashes content and metadata together, so any
// varying field would make an unchanged document look changed and be re-embedded on every run.
import { createHash } from "node:crypto";
import { Document } from "@langchain/core/documents";
import type { SourceBlob } from "../sources/blob.ts";

export type ChunkMetadata = Record<string, string | number | boolean> & {
  source: string;
  name: string;
  type: string;
  /** 0-based position of the chunk within its document (the whole file, across pages). */
  chunk: number;
  /** The first 16 hex digits of the sha256 of the chunk's text. */
  checksum: string;
  /** The document's identity for the record manager: the caller's `doc_id`, else the blob's `source`. */
  doc_id: string;
  page?: number;
  /** `summary`: the document's summary (a recipe's `summarize`), not a piece of its text. */
  kind?: "summary";
};

/** Fields the pipeline owns: caller metadata cannot override them (`doc_id` aside, which it may set). */
export const RESERVED_METADATA = new Set([
  "source",
  "name",
  "type",
  "page",
  "row",
  "chunk",
  "checksum",
  "doc_id",
  "loc",
  "loader",
  "textract_confidence",
  "kind",
  "section",
  "context",
  "header",
]);

/** The document id of a blob: a non-empty `metadata.doc_id`, else its `source`. */
export function documentId(blob: SourceBlob): string {
  const given = blob.metadata?.doc_id;
  return given === undefined || given === null || given === "" ? blob.source : String(given);
}

/**
 * Chunks with their final metadata: what the loader found (`title`), then the caller's scalar metadata, then
 * the reserved fields (`source`, `name`, `type`, `page`, `row`, `loader`, `textract_confidence`, `chunk`,
 * `checksum`, `doc_id`).
 */
export function stampMetadata(chunks: Document[], blob: SourceBlob): Document<ChunkMetadata>[] {
  const docId = documentId(blob);
  const caller = callerMetadata(blob.metadata);
  return chunks.map((chunk, index) => {
    const found = chunk.metadata;
    const metadata: ChunkMetadata = {
      ...(typeof found.title === "string" ? { title: found.title } : {}),
      ...caller,
      source: blob.source,
      name: blob.name,
      type: String(found.type),
      ...(typeof found.page === "number" ? { page: found.page } : {}),
      ...(typeof found.row === "number" ? { row: found.row } : {}),
      // Which reader made the text, and how sure Textract was of it (0-100), when it was Textract.
      ...(typeof found.loader === "string" ? { loader: found.loader } : {}),
      ...(typeof found.textract_confidence === "number"
        ? { textract_confidence: found.textract_confidence }
        : {}),
      ...(found.kind === "summary" ? { kind: "summary" as const } : {}),
      // The headings above the chunk (recipe splitter.contextHeaders), for its embedding and its citation.
      ...(typeof found.section === "string" && found.section ? { section: found.section } : {}),
      // A line of the document's summary for the chunk's embedding (recipe splitter.contextSummary).
      ...(typeof found.context === "string" && found.context ? { context: found.context } : {}),
      chunk: index,
      checksum: checksum(chunk.pageContent),
      doc_id: docId,
    };
    return new Document({ pageContent: chunk.pageContent, metadata });
  });
}

function callerMetadata(
  metadata: Record<string, unknown> | undefined,
): Record<string, string | number | boolean> {
  const kept: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (RESERVED_METADATA.has(key)) continue;
    if (typeof value === "string" || typeof value === "boolean") kept[key] = value;
    else if (typeof value === "number" && Number.isFinite(value)) kept[key] = value;
  }
  return kept;
}

/**
 * The first 16 hex digits of the text's sha256. Made from the first 8 bytes, not sliced from the full hex: V8
 * keeps a slice's whole 64-character parent alive, with every chunk's metadata for as long as the store holds it.
 */
function checksum(text: string): string {
  return createHash("sha256").update(text).digest().toString("hex", 0, 8);
}

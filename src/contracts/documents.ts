// Which documents a tenant's knowledge base holds: the catalog that routes and tools read, and the per-document
// records a record manager keeps beside its chunk keys, written in the same atomic step as those keys.
import type { UpdateOptions } from "@langchain/core/indexing";
import type { DocumentFailure, DocumentStatus } from "./document-status.ts";

/** A chunk's or a document's caller metadata: JSON scalars only, as chunks carry them. */
export type ScalarMetadata = Record<string, string | number | boolean>;

/** What ingestion knows of a document without reading its chunks back: stored with its records. */
export interface DocumentInfo {
  /** Display name: the file name, or the name a caller gave. */
  name?: string;
  /** The detected type: pdf, docx, html, markdown, text, csv, json, or an image type read by Textract. */
  type?: string;
  /** The title its loader found (an HTML page's title). */
  title?: string;
  /** Which reader made the text, when it was not the type's own (textract). */
  loader?: string;
  /** The highest page number any chunk cites (PDFs and scans). */
  pages?: number;
  /** Size of the source as last ingested; unknown for documents indexed before the catalog existed. */
  bytes?: number;
  /** Its summary, when its recipe makes one (`summarize`). */
  summary?: string;
  /** sha256 (hex) of the source's bytes as last ingested. */
  checksum?: string;
  /** The name of the recipe it was last ingested with. */
  recipe?: string;
  /** The caller's scalar metadata (`doc_id` aside), as its chunks carry it: what listing filters on. */
  metadata?: ScalarMetadata;
  /**
   * A hash of everything its chunks were made from (bytes, name, caller metadata, the recipe's settings and
   * the ingestion steps in use): when a re-ingestion's is the same, the document is skipped unread.
   */
  fingerprint?: string;
}

/** Every status a document can have: the in-flight and failed ones a status store keeps, and `indexed`. */
export const DOCUMENT_STATUSES: readonly DocumentStatus[] = [
  "queued",
  "extracting",
  "embedding",
  "indexed",
  "failed",
];

/** One document as GET /documents lists it. */
export interface DocumentSummary extends Omit<DocumentInfo, "fingerprint"> {
  /** The document's identity (`doc_id`): a path, `upload:<name>`, an s3:// or web address, or a given doc_id. */
  source: string;
  /**
   * Where its latest ingestion stands: `indexed` when it has chunks and no ingestion is under way or failed
   * since; a document queued or failed before it was ever indexed has none.
   */
  status: DocumentStatus;
  /** Why its latest ingestion failed (which step, what went wrong); present when status is failed. */
  error?: DocumentFailure;
  /** The job that carries its ingestion, while one does (or whose attempt failed). */
  jobId?: string;
  /** When it entered its status (ISO 8601); absent for `indexed`, whose time is updatedAt. */
  statusAt?: string;
  /** Chunks indexed now. */
  chunks: number;
  /**
   * When its indexed chunks last changed (ISO 8601). Re-ingesting it unchanged leaves this as it was. For a
   * document without chunks, when it entered its status.
   */
  updatedAt: string;
}

/** One chunk of a document, as the vector store holds it. */
export interface DocumentChunk {
  id: string;
  /** 0-based position within the document. */
  index: number;
  page?: number;
  text: string;
  /** Its metadata as stored: the caller's fields and the ones ingestion stamps (source, name, type, checksum…). */
  metadata: ScalarMetadata;
}

export interface DocumentDetail {
  document: DocumentSummary;
  /** In document order. */
  chunks: DocumentChunk[];
}

export interface ListDocumentsOptions {
  /** Only sources that start with this. */
  prefix?: string;
  /** Only documents with this status. */
  status?: DocumentStatus;
  /** Only documents of this detected type (pdf, docx, html…). */
  type?: string;
  /** Only documents whose metadata has every one of these fields with this value (compared as text). */
  metadata?: Record<string, string>;
  /** 1 to 500; default 100. */
  limit?: number;
  /** The `nextCursor` of the page before. */
  cursor?: string;
}

export interface DocumentList {
  documents: DocumentSummary[];
  /** Present when more documents follow: pass it as `cursor` for the next page. */
  nextCursor?: string;
}

export const DEFAULT_DOCUMENTS_LIMIT = 100;
export const MAX_DOCUMENTS_LIMIT = 500;

export interface ListChunksOptions {
  /** 1 to 500; default 100. */
  limit?: number;
  /** The `nextCursor` of the page before. */
  cursor?: string;
}

/** One page of a document's chunks, in document order. */
export interface ChunkPage {
  chunks: DocumentChunk[];
  /** Present when more chunks follow: pass it as `cursor` for the next page. */
  nextCursor?: string;
}

/**
 * A tenant's documents, sorted by source.
 *
 * @example
 * const { documents, nextCursor } = await tenant.documents.list({ prefix: "s3://handbook/", limit: 50 });
 * const detail = await tenant.documents.get(documents[0].source); // summary + chunks in order
 * const failed = await tenant.documents.list({ status: "failed" }); // each with its error
 */
export interface DocumentCatalog {
  /**
   * One page of documents, indexed ones and those with an ingestion under way or failed, in source order;
   * throws a BadRequestError for a limit out of range or a cursor it never gave.
   */
  list(options?: ListDocumentsOptions): Promise<DocumentList>;
  /** A document with its chunks, or undefined when it has neither chunks nor a status entry. */
  get(source: string): Promise<DocumentDetail | undefined>;
  /** A page of a document's chunks in order, or undefined when the document is unknown. */
  chunks(source: string, options?: ListChunksOptions): Promise<ChunkPage | undefined>;
}

/** A document as its record manager keeps it. */
export interface DocumentRecord {
  source: string;
  /** The number of chunk keys in its group: exact, from the record manager's own bookkeeping. */
  chunks: number;
  /** Milliseconds since the epoch. */
  updatedAt: number;
  info?: DocumentInfo;
}

/** `update` options with the info of the documents (groups) whose keys the update carries. */
export type DocumentUpdateOptions = UpdateOptions & { documents?: Record<string, DocumentInfo> };

/**
 * The per-document view of a record manager (a document is a group of chunk keys). Its updates keep, in the
 * same atomic step as the keys: the document's info, and `updatedAt`, the time its group last gained or lost a
 * key. A group that loses its last key loses its record too.
 */
export interface DocumentRecords {
  /** Documents in source order (`compareSources`), after `after` (exclusive), starting with `prefix`. */
  listDocuments(options: { prefix?: string; after?: string; limit: number }): Promise<DocumentRecord[]>;
  /** A document's record and its chunk keys, read together; undefined when it has no keys. */
  getDocument(source: string): Promise<{ record: DocumentRecord; keys: string[] } | undefined>;
  /** Documents that have keys but no info: indexed before record managers kept it. */
  documentsWithoutInfo(): Promise<string[]>;
  /**
   * Gives `info` to a document that still has keys and still has none (a later ingestion wins); its
   * `updatedAt` becomes the last time its keys were indexed, the best that is known of it.
   */
  backfillInfo(source: string, info: DocumentInfo): Promise<void>;
}

/**
 * What a document's chunks tell of it: name, type, title and loader from their metadata (as
 * ingest/transform/metadata.ts stamps it), the highest page any of them cites.
 */
export function describeChunks(
  chunks: { metadata: Record<string, unknown>; pageContent?: string }[],
): DocumentInfo {
  const info: DocumentInfo = {};
  for (const { metadata, pageContent } of chunks) {
    if (metadata.kind === "summary" && typeof pageContent === "string") info.summary = pageContent;
    for (const field of ["name", "type", "title", "loader"] as const) {
      const value = metadata[field];
      if (info[field] === undefined && typeof value === "string" && value !== "") info[field] = value;
    }
    const page = metadata.page;
    if (typeof page === "number" && Number.isInteger(page) && page > (info.pages ?? 0)) info.pages = page;
  }
  return info;
}

/**
 * Orders sources by Unicode code point, which is UTF-8 byte order: the order Redis keeps a sorted set's
 * members in (ZRANGE BYLEX), so that both stores page the same way. JavaScript's `<` compares UTF-16 code
 * units instead, which puts U+E000-U+FFFF after every character beyond U+FFFF.
 */
export function compareSources(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (D800-DFFF) stand for code points above FFFF: move them above E000-FFFF.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

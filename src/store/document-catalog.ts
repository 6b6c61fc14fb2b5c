// A tenant's document catalog over either backend: the documents and their summaries from the record manager's
// per-document records (kept by the same atomic writes as its chunk keys), a document's text from the vector
// store. Listing never reads a chunk; showing one document reads only its own.
import type { DocumentInterface } from "@langchain/core/documents";
import {
  DEFAULT_DOCUMENTS_LIMIT,
  type DocumentCatalog,
  type DocumentChunk,
  type DocumentDetail,
  type DocumentList,
  type DocumentRecord,
  type DocumentSummary,
  describeChunks,
  type ListDocumentsOptions,
  MAX_DOCUMENTS_LIMIT,
} from "../contracts/documents.ts";
import type { PipelineRecordManager } from "../contracts/stores.ts";
import { BadRequestError } from "../errors.ts";

/** Where a document's text lives: the vector store, which keeps each chunk's pageContent. */
export interface ChunkReader {
  getByIds(ids: string[]): Promise<DocumentInterface[]>;
}

export class RecordManagerCatalog implements DocumentCatalog {
  constructor(
    private readonly records: PipelineRecordManager,
    private readonly chunks: ChunkReader,
  ) {}

  async list(options: ListDocumentsOptions = {}): Promise<DocumentList> {
    const { prefix, limit = DEFAULT_DOCUMENTS_LIMIT, cursor } = options;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DOCUMENTS_LIMIT) {
      throw new BadRequestError(`limit must be an integer from 1 to ${MAX_DOCUMENTS_LIMIT}.`);
    }
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    // One more than asked: whether it comes back says whether there is a next page.
    const rows = await this.records.listDocuments({ prefix, after, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      documents: page.map(summarise),
      ...(rows.length > limit && last ? { nextCursor: encodeCursor(last.source) } : {}),
    };
  }

  async get(source: string): Promise<DocumentDetail | undefined> {
    const found = await this.records.getDocument(source);
    if (!found) return undefined;
    // A chunk deleted since the keys were read (a concurrent re-ingestion) is left out.
    const chunks = (await this.chunks.getByIds(found.keys)).map(toChunk);
    chunks.sort((a, b) => a.index - b.index || (a.id < b.id ? -1 : 1));
    return { document: summarise(found.record), chunks };
  }

  /**
   * Gives documents indexed before the record managers kept document info (a store from an older Counsel)
   * the info their chunks tell: name, type, title, pages; not their size, which only ingestion knows. Cheap when
   * there is nothing to do; run when a tenant is opened. Returns how many documents it described.
   */
  async backfill(): Promise<number> {
    const missing = await this.records.documentsWithoutInfo();
    for (const source of missing) {
      const keys = await this.records.listKeys({ groupIds: [source] });
      const info = describeChunks(await this.chunks.getByIds(keys));
      await this.records.backfillInfo(source, info);
    }
    if (missing.length > 0) await this.records.flush();
    return missing.length;
  }
}

function summarise(record: DocumentRecord): DocumentSummary {
  const { name, type, title, loader, pages, bytes, summary } = record.info ?? {};
  return {
    source: record.source,
    chunks: record.chunks,
    updatedAt: new Date(record.updatedAt).toISOString(),
    ...definedOnly({ name, type, title, loader, pages, bytes, summary }),
  };
}

function toChunk(doc: DocumentInterface): DocumentChunk {
  const { chunk, page } = doc.metadata;
  return {
    id: String(doc.id),
    index: typeof chunk === "number" ? chunk : 0,
    ...(typeof page === "number" ? { page } : {}),
    text: doc.pageContent,
  };
}

function definedOnly<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}

// A cursor is the last source of a page, base64url-encoded: opaque to clients, so that its form may change.
function encodeCursor(source: string): string {
  return Buffer.from(source, "utf8").toString("base64url");
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

function decodeCursor(cursor: string): string {
  const bytes = Buffer.from(cursor, "base64url");
  let source: string | undefined;
  try {
    source = UTF8.decode(bytes);
  } catch {
    source = undefined;
  }
  // Buffer.from skips characters outside base64url: re-encoding tells a cursor we gave from a mangled one.
  if (source === undefined || cursor === "" || encodeCursor(source) !== cursor) {
    throw new BadRequestError("cursor is not one this API returned: pass a page's nextCursor unchanged.");
  }
  return source;
}

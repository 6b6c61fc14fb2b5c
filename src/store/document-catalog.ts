// A tenant's document catalog over either backend: the indexed documents from the record manager's per-document
// records (kept by the same atomic writes as its chunk keys), merged in source order with the status store's
// entries (ingestions under way or failed), and a document's text from the vector store. Listing never reads a
// chunk; showing one document reads only its own.
import type { DocumentInterface } from "@langchain/core/documents";
import type { DocumentState, DocumentStatusStore } from "../contracts/document-status.ts";
import {
  type ChunkPage,
  compareSources,
  DEFAULT_DOCUMENTS_LIMIT,
  type DocumentCatalog,
  type DocumentChunk,
  type DocumentDetail,
  type DocumentList,
  type DocumentRecord,
  type DocumentSummary,
  describeChunks,
  type ListChunksOptions,
  type ListDocumentsOptions,
  MAX_DOCUMENTS_LIMIT,
  type ScalarMetadata,
} from "../contracts/documents.ts";
import type { PipelineRecordManager } from "../contracts/stores.ts";
import { BadRequestError } from "../errors.ts";

/** Where a document's text lives: the vector store, which keeps each chunk's pageContent. */
export interface ChunkReader {
  getByIds(ids: string[]): Promise<DocumentInterface[]>;
}

/**
 * Rows one filtered listing may read before it answers with what it found: a filter that matches little in a
 * large catalog then returns a short page (even an empty one) with a cursor to carry on from, instead of reading
 * the whole catalog in one request.
 */
export const SCAN_BUDGET = 5_000;

/** Rows read per store call while a filter is skipping rows. */
const FILTERED_BATCH = 250;

/** One source as the two stores know it: its record (it has chunks), its status entry, or both. */
interface Row {
  source: string;
  record?: DocumentRecord;
  state?: DocumentState;
  /** The record is not read yet (a walk over the status entries alone reads it only for a row that matches). */
  unread?: true;
}

export class RecordManagerCatalog implements DocumentCatalog {
  constructor(
    private readonly records: PipelineRecordManager,
    private readonly chunkReader: ChunkReader,
    private readonly statuses: DocumentStatusStore,
  ) {}

  async list(options: ListDocumentsOptions = {}): Promise<DocumentList> {
    const { prefix, limit = DEFAULT_DOCUMENTS_LIMIT, cursor, status } = options;
    checkLimit(limit);
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const wanted = matcher(options);
    const filtered = status !== undefined || options.type !== undefined || wanted !== undefined;
    // One more than asked when nothing is filtered: whether it comes back says whether there is a next page.
    const batch = filtered ? Math.max(limit + 1, FILTERED_BATCH) : limit + 1;
    // A status other than indexed is only ever in the status store: its entries are walked alone.
    const rows =
      status !== undefined && status !== "indexed"
        ? this.statusRows(prefix, after, batch)
        : this.mergedRows(prefix, after, batch);
    const page: DocumentSummary[] = [];
    let scanned = 0;
    for await (const row of rows) {
      scanned += 1;
      if (status === undefined || statusOf(row) === status) {
        if (row.unread) row.record = (await this.records.getDocument(row.source))?.record;
        const summary = summarise(row);
        if ((options.type === undefined || summary.type === options.type) && (wanted?.(summary) ?? true)) {
          if (page.length === limit) return { documents: page, nextCursor: encodeCursor(lastOf(page)) };
          page.push(summary);
        }
      }
      if (scanned >= SCAN_BUDGET) {
        const from = page.length === limit ? lastOf(page) : row.source;
        return { documents: page, nextCursor: encodeCursor(from) };
      }
    }
    return { documents: page };
  }

  async get(source: string): Promise<DocumentDetail | undefined> {
    const [found, state] = await Promise.all([this.records.getDocument(source), this.statuses.get(source)]);
    if (!found && !state) return undefined;
    const chunks = found ? await this.readChunks(found.keys) : [];
    return { document: summarise({ source, record: found?.record, state }), chunks };
  }

  async chunks(source: string, options: ListChunksOptions = {}): Promise<ChunkPage | undefined> {
    const { limit = DEFAULT_DOCUMENTS_LIMIT, cursor } = options;
    checkLimit(limit);
    const after = cursor === undefined ? undefined : decodeChunkCursor(cursor);
    const [found, state] = await Promise.all([this.records.getDocument(source), this.statuses.get(source)]);
    if (!found && !state) return undefined;
    // A chunk's place is its index, and its id among chunks of one index (old and new while it is replaced):
    // ids are content hashes, so the whole document's chunks are read to put them in order.
    const all = found ? await this.readChunks(found.keys) : [];
    let start = 0;
    if (after) {
      start = all.findIndex((chunk) => byPosition(chunk, after) > 0);
      if (start === -1) start = all.length;
    }
    const chunks = all.slice(start, start + limit);
    const last = chunks.at(-1);
    return {
      chunks,
      ...(start + limit < all.length && last ? { nextCursor: encodeChunkCursor(last) } : {}),
    };
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
      const info = describeChunks(await this.chunkReader.getByIds(keys));
      await this.records.backfillInfo(source, info);
    }
    if (missing.length > 0) await this.records.flush();
    return missing.length;
  }

  /** The chunks in document order; one deleted since its key was read (a concurrent re-ingestion) is left out. */
  private async readChunks(keys: string[]): Promise<DocumentChunk[]> {
    const chunks = (await this.chunkReader.getByIds(keys)).map(toChunk);
    return chunks.sort(byPosition);
  }

  /** Documents and status entries together, in source order, one row per source. */
  private async *mergedRows(
    prefix: string | undefined,
    after: string | undefined,
    batch: number,
  ): AsyncGenerator<Row> {
    const records = paged(
      (from) => this.records.listDocuments({ prefix, after: from, limit: batch }),
      after,
      batch,
    );
    const states = paged((from) => this.statuses.list({ prefix, after: from, limit: batch }), after, batch);
    let record = await records.next();
    let state = await states.next();
    while (!record.done || !state.done) {
      const order = record.done
        ? 1
        : state.done
          ? -1
          : compareSources(record.value.source, state.value.source);
      const row: Row = { source: order > 0 ? (state.value as DocumentState).source : record.value.source };
      if (order <= 0) {
        row.record = record.value as DocumentRecord;
        record = await records.next();
      }
      if (order >= 0) {
        row.state = state.value as DocumentState;
        state = await states.next();
      }
      yield row;
    }
  }

  private async *statusRows(
    prefix: string | undefined,
    after: string | undefined,
    batch: number,
  ): AsyncGenerator<Row> {
    const states = paged((from) => this.statuses.list({ prefix, after: from, limit: batch }), after, batch);
    for await (const state of states) yield { source: state.source, state, unread: true };
  }
}

/** Pages through a store's rows in source order, `batch` per call, from after `after`. */
async function* paged<T extends { source: string }>(
  fetch: (after: string | undefined) => Promise<T[]>,
  after: string | undefined,
  batch: number,
): AsyncGenerator<T> {
  let from = after;
  for (;;) {
    const page = await fetch(from);
    yield* page;
    const last = page.at(-1);
    if (!last || page.length < batch) return;
    from = last.source;
  }
}

function statusOf(row: Row): DocumentSummary["status"] {
  return row.state?.status ?? "indexed";
}

/** The metadata filter as a predicate; undefined when there is none. Values compare as text (a query's are). */
function matcher(options: ListDocumentsOptions): ((summary: DocumentSummary) => boolean) | undefined {
  const fields = Object.entries(options.metadata ?? {});
  if (fields.length === 0) return undefined;
  return ({ metadata }) =>
    metadata !== undefined &&
    fields.every(([field, value]) => Object.hasOwn(metadata, field) && String(metadata[field]) === value);
}

function summarise({ source, record, state }: Row): DocumentSummary {
  const { name, type, title, loader, pages, bytes, summary, checksum, recipe, metadata } = record?.info ?? {};
  // A row always has a record or a state.
  const updatedAt = record?.updatedAt ?? (state as DocumentState).updatedAt;
  return {
    source,
    status: statusOf({ source, state }),
    ...(state?.error ? { error: state.error } : {}),
    ...(state?.jobId !== undefined ? { jobId: state.jobId } : {}),
    ...(state ? { statusAt: new Date(state.updatedAt).toISOString() } : {}),
    chunks: record?.chunks ?? 0,
    updatedAt: new Date(updatedAt).toISOString(),
    ...definedOnly({
      name: name ?? state?.name,
      type,
      title,
      loader,
      pages,
      bytes,
      summary,
      checksum,
      recipe,
      metadata,
    }),
  };
}

function toChunk(doc: DocumentInterface): DocumentChunk {
  const { chunk, page } = doc.metadata;
  const metadata: ScalarMetadata = {};
  for (const [field, value] of Object.entries(doc.metadata)) {
    if (["string", "number", "boolean"].includes(typeof value)) metadata[field] = value;
  }
  return {
    id: String(doc.id),
    index: typeof chunk === "number" ? chunk : 0,
    ...(typeof page === "number" ? { page } : {}),
    text: doc.pageContent,
    metadata,
  };
}

function byPosition(a: { index: number; id: string }, b: { index: number; id: string }): number {
  return a.index - b.index || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function definedOnly<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DOCUMENTS_LIMIT) {
    throw new BadRequestError(`limit must be an integer from 1 to ${MAX_DOCUMENTS_LIMIT}.`);
  }
}

function lastOf(page: DocumentSummary[]): string {
  return (page.at(-1) as DocumentSummary).source;
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

// A chunk cursor is the last chunk's place (`<index>:<id>`), encoded the same way.
function encodeChunkCursor(chunk: { index: number; id: string }): string {
  return encodeCursor(`${chunk.index}:${chunk.id}`);
}

function decodeChunkCursor(cursor: string): { index: number; id: string } {
  const match = /^(\d{1,9}):(.+)$/s.exec(decodeCursor(cursor));
  if (!match) {
    throw new BadRequestError("cursor is not one this API returned: pass a page's nextCursor unchanged.");
  }
  return { index: Number(match[1]), id: match[2] };
}

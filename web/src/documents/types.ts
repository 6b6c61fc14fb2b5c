// The documents API's shapes as the console reads them (GET /documents, GET /documents/:source, POST /ingest):
// see src/server/schemas/documents.ts and ingest.ts for the authoritative ones.

export interface DocumentSummary {
  source: string;
  chunks: number;
  updatedAt: string;
  name?: string;
  type?: string;
  title?: string;
  loader?: string;
  pages?: number;
  bytes?: number;
}

export interface DocumentList {
  documents: DocumentSummary[];
  nextCursor?: string;
}

export interface DocumentChunk {
  id: string;
  index: number;
  page?: number;
  text: string;
}

export interface DocumentDetail {
  document: DocumentSummary;
  chunks: DocumentChunk[];
}

export interface IngestFailure {
  name: string;
  error: string;
}

export interface IngestReport {
  added: number;
  updated: number;
  skipped: number;
  deleted: number;
  failed: IngestFailure[];
  chunks: { added: number; deleted: number; skipped: number };
}

/** The path of one document: its source as one URL-encoded path segment, as the API wants it. */
export const documentPath = (source: string) => `/documents/${encodeURIComponent(source)}`;

// The documents API's shapes as the console reads them (GET /documents, GET /documents/:source, POST /ingest,
// GET /ingest/jobs/:id): see src/server/schemas/documents.ts, ingest.ts and jobs.ts for the authoritative ones.

/** Where a document's latest ingestion stands (docs/documents.md#statuses). */
export type DocumentStatus = "queued" | "extracting" | "embedding" | "indexed" | "failed";

export const DOCUMENT_STATUSES: readonly DocumentStatus[] = [
  "indexed",
  "queued",
  "extracting",
  "embedding",
  "failed",
];

/** Why a document's latest ingestion failed: in which step, a stable code, the HTTP status it means. */
export interface DocumentFailure {
  step: string;
  code: string;
  status: number;
  message: string;
}

export interface DocumentSummary {
  source: string;
  chunks: number;
  updatedAt: string;
  status?: DocumentStatus;
  error?: DocumentFailure;
  jobId?: string;
  statusAt?: string;
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

export type JobState = "queued" | "running" | "completed" | "failed" | "cancelled";

/** An ingestion job as GET /ingest/jobs/:id (and each of its `job` events) gives it. */
export interface JobView {
  id: string;
  state: JobState;
  attempts: number;
  createdAt: string;
  progress: {
    /** `total` is unknown for an S3 prefix until it is listed; `done` counts the failed ones too. */
    documents: { total?: number; done: number; failed: number };
    chunks: { added: number; deleted: number; skipped: number };
  };
  /** Once it has ended: the report a synchronous POST /ingest would have given. */
  report?: IngestReport;
  /** Why it failed or was cancelled; `code: "retrying"` while it waits to run again. */
  error?: { code: string; message: string };
}

/** What POST /ingest answers: the report when done at once (200), or the job that will do it (202). */
export type IngestAnswer = { status: 200; report: IngestReport } | { status: 202; job: JobView };

/** The path of one document: its source as one URL-encoded path segment, as the API wants it. */
export const documentPath = (source: string) => `/documents/${encodeURIComponent(source)}`;

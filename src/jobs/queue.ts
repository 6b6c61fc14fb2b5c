// Ingestion as jobs: what a job carries, how far it has got, and the queue both backends implement (an
// in-process queue persisted under DATA_DIR, and BullMQ on Redis). A job belongs to one tenant: another tenant's
// job id is as unknown as no job.
import type { IngestReport, TextDocument } from "../ingest/pipeline.ts";

export type JobState = "queued" | "running" | "completed" | "failed" | "cancelled";

/** Where a job's documents come from; uploads are stashed (on disk or in Redis) until the job ends. */
export type JobItem =
  | { kind: "upload"; name: string; source: string; mediaType?: string; bytes: number; stash: string }
  | { kind: "texts"; documents: TextDocument[] }
  | { kind: "s3"; url: string; cleanup?: boolean }
  | { kind: "urls"; urls: string[] };

export interface JobInput {
  tenant: string;
  items: JobItem[];
}

export interface JobProgress {
  documents: {
    /** Known at submission for uploads, texts and URLs; an S3 prefix's count is known once listed. */
    total?: number;
    done: number;
    failed: number;
  };
  chunks: { added: number; deleted: number; skipped: number };
}

/** A job as GET /ingest/jobs/:id shows it. */
export interface JobView {
  id: string;
  tenant: string;
  state: JobState;
  /** ISO 8601. */
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Runs started (a retry or a worker lost mid-job starts another). */
  attempts: number;
  progress: JobProgress;
  /** The ingestion report, once the job has ended (completed, or failed after its last attempt). */
  report?: IngestReport;
  /** Why it failed or was cancelled. */
  error?: { code: string; message: string };
}

/**
 * A job's progress before it runs: nothing done, of the documents counted at submission (each upload, text and
 * URL is one; an S3 prefix's are counted once listed).
 */
export function submittedProgress(input: JobInput): JobProgress {
  let total: number | undefined = 0;
  for (const item of input.items) {
    if (item.kind === "s3") {
      total = undefined;
      break;
    }
    total += item.kind === "upload" ? 1 : item.kind === "texts" ? item.documents.length : item.urls.length;
  }
  return {
    documents: { ...(total === undefined ? {} : { total }), done: 0, failed: 0 },
    chunks: { added: 0, deleted: 0, skipped: 0 },
  };
}

/** A job id's sequence number (ids are "j" and the number, given in order of submission): later is larger. */
export function jobSequence(id: string): number {
  return Number(id.slice(1));
}

export const FINISHED: ReadonlySet<JobState> = new Set(["completed", "failed", "cancelled"]);

/** Runs one job's ingestion: the service's tenants and pipeline behind it (src/jobs/run-job.ts). */
export type JobRunner = (
  job: { id: string; input: JobInput; attempt: number },
  context: { signal: AbortSignal; onProgress: (progress: JobProgress) => void },
) => Promise<IngestReport>;

/** What a worker does with jobs: how many at once, and what runs them. */
export interface WorkerOptions {
  concurrency: number;
  run: JobRunner;
}

export interface JobQueue {
  /** Queues a job and answers at once. */
  submit(input: JobInput): Promise<JobView>;
  get(tenant: string, id: string): Promise<JobView | undefined>;
  /** A tenant's jobs, newest first; `state: "failed"` is the dead-letter view. */
  list(tenant: string, options: { state?: JobState; limit: number }): Promise<JobView[]>;
  /**
   * Cancels a queued or running job (a running one stops between documents, keeping what it indexed). Undefined
   * for no such job; throws a ConflictError for a job that has already ended.
   */
  cancel(tenant: string, id: string): Promise<JobView | undefined>;
  /** Calls `listener` with the job's view on every change until it ends; returns the unsubscribe. */
  watch(tenant: string, id: string, listener: (view: JobView) => void): () => void;
  /** Starts taking jobs in this process; resolves once the worker is ready. */
  startWorker(options: WorkerOptions): Promise<void>;
  /** Stops taking jobs, lets running ones finish (or returns them to the queue after `graceMs`), closes. */
  close(graceMs?: number): Promise<void>;
}

// Where each document's latest ingestion stands: queued → extracting → embedding → indexed, or failed with the
// step and a reason a person can act on. Kept per tenant beside the record manager, which stays the truth of
// what is indexed: a status entry exists only while an ingestion is under way or after one failed, and it goes
// when the document is indexed (or deleted), so that documents indexed before statuses existed read as indexed.

export type DocumentStatus = "queued" | "extracting" | "embedding" | "indexed" | "failed";

/** The step an ingestion was in when it failed. */
export type IngestStep = "queued" | "extracting" | "embedding";

export interface DocumentFailure {
  step: IngestStep;
  /** A stable code (unsupported_media_type, textract_failed, ingest_failed…). */
  code: string;
  /** What went wrong and, where it can, what to do about it. */
  message: string;
  /** The HTTP status the failure means: 4xx the document's fault (not retried), 5xx a service's. */
  status: number;
}

/** A document's ingestion in progress, or its last one when that failed. */
export interface DocumentState {
  source: string;
  status: Exclude<DocumentStatus, "indexed">;
  /** Milliseconds since the epoch, when it entered this status. */
  updatedAt: number;
  /** The job that carries it, when it runs as a job. */
  jobId?: string;
  /** Display name, for a document not indexed yet. */
  name?: string;
  /** Present when status is failed. */
  error?: DocumentFailure;
}

/**
 * A tenant's in-flight and failed ingestions, by source. Writers pass the job they act for: an entry another
 * job wrote since is left alone (the later job owns the document now).
 *
 * @example
 * await statuses.setMany(sources.map((source) => ({ source, status: "queued", updatedAt: Date.now(), jobId })));
 * await statuses.set({ source, status: "extracting", updatedAt: Date.now(), jobId });
 * await statuses.clear(source, jobId); // indexed: the record manager says so from now on
 */
export interface DocumentStatusStore {
  /**
   * Records a document's new status (creating or replacing its entry). `queued` always takes the entry (a job
   * claiming the document); any other status written for a job leaves alone an entry of another job that is
   * still in flight (queued, extracting, embedding), since that job owns the document now. A failed entry is
   * always replaced: a new attempt supersedes it.
   */
  set(state: DocumentState): Promise<void>;
  /** Several at once (a job's documents entering `queued`). */
  setMany(states: DocumentState[]): Promise<void>;
  get(source: string): Promise<DocumentState | undefined>;
  /** Entries in source order (`compareSources`), after `after` (exclusive), starting with `prefix`. */
  list(options: { prefix?: string; after?: string; limit: number }): Promise<DocumentState[]>;
  /**
   * Removes a document's entry (it was indexed, deleted, or its job was cancelled before reaching it); with
   * `jobId`, only when the entry is still that job's.
   */
  clear(source: string, jobId?: string): Promise<void>;
}

/**
 * Whether `next` may replace the entry `current` (the rule `set` follows): a job claiming the document
 * (`queued`) always may, and anything may replace a failure; otherwise not another job's entry still in flight.
 * A write for no job (a synchronous ingestion), or over an entry of no job, may.
 */
export function supersedes(next: DocumentState, current: DocumentState): boolean {
  if (next.status === "queued" || current.status === "failed") return true;
  return next.jobId === undefined || current.jobId === undefined || next.jobId === current.jobId;
}

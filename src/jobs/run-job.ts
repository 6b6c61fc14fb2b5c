// What a worker does with one ingestion job: its items through the tenant's pipeline (uploads read back from the
// stash one at a time, so a job of many files holds one in memory), its progress reported as documents finish,
// and the verdict: done, or worth another attempt (a service failed some documents: throttling, a 5xx, Redis).
import type { BaseStore } from "@langchain/core/stores";
import type { DocumentStatusStore } from "../contracts/document-status.ts";
import { CounselError } from "../errors.ts";
import {
  emptyReport,
  type IngestProgress,
  type IngestReport,
  mergeReports,
  textDocumentId,
} from "../ingest/pipeline.ts";
import type { SourceBlob } from "../ingest/sources/blob.ts";
import type { Tenant } from "../tenants/tenant.ts";
import {
  type JobInput,
  type JobItem,
  type JobProgress,
  type JobRunner,
  jobSequence,
  submittedProgress,
} from "./queue.ts";

export interface RunnerDeps {
  tenant(id: string): Promise<Tenant>;
  /** Where uploads wait for their job (DATA_DIR or Redis), by stash key. */
  stash: BaseStore<string, Uint8Array>;
}

/**
 * A job whose documents failed for a reason that may pass (a service's 5xx or throttling, Redis away): the queue
 * tries it again after a backoff. Documents already indexed are skipped as unchanged on the next attempt.
 */
export class RetryableJobError extends CounselError {
  constructor(
    message: string,
    readonly report: IngestReport,
  ) {
    super("ingest_retry", 503, message);
  }
}

/** Failures worth another attempt: the service's fault, not the document's. */
export function isTransient(failure: { status: number }): boolean {
  return failure.status >= 500 || failure.status === 429;
}

export function ingestionRunner(deps: RunnerDeps): JobRunner {
  return async ({ id, input }, { signal, onProgress }) => {
    const tenant = await deps.tenant(input.tenant);
    const progress: JobProgress = submittedProgress(input);
    const reports: IngestReport[] = [];
    const onDocument = (p: IngestProgress) => {
      progress.documents.done += 1;
      if (p.status === "failed") progress.documents.failed += 1;
      onProgress(structuredClone(progress));
    };
    for (const item of input.items) {
      signal.throwIfAborted();
      const report = await runItem(item, { tenant, stash: deps.stash, jobId: id, signal, onDocument });
      reports.push(report);
      progress.chunks.added += report.chunks.added;
      progress.chunks.deleted += report.chunks.deleted;
      progress.chunks.skipped += report.chunks.skipped;
      onProgress(structuredClone(progress));
    }
    const report = reports.length > 0 ? mergeReports(reports) : emptyReport();
    const transient = report.failed.filter(isTransient);
    if (transient.length > 0) {
      throw new RetryableJobError(
        `${transient.length} document(s) failed for a reason that may pass: ${transient[0].error}`,
        report,
      );
    }
    return report;
  };
}

interface ItemContext {
  tenant: Tenant;
  stash: BaseStore<string, Uint8Array>;
  jobId: string;
  signal: AbortSignal;
  onDocument: (progress: IngestProgress) => void;
}

async function runItem(item: JobItem, context: ItemContext): Promise<IngestReport> {
  const { tenant, jobId, signal, onDocument } = context;
  // Jobs are numbered as submitted: the number orders the writes of jobs that share documents.
  const options = { jobId, order: jobSequence(jobId), signal, onProgress: onDocument };
  switch (item.kind) {
    case "upload":
      return tenant.pipeline.ingest(readUpload(item, context.stash), options);
    case "texts":
      return tenant.pipeline.ingestTexts(item.documents, options);
    case "s3":
      return tenant.ingestS3(item.url, { cleanup: item.cleanup, ...options });
    case "urls":
      return tenant.ingestUrls(item.urls, options);
  }
}

async function* readUpload(item: Extract<JobItem, { kind: "upload" }>, stash: BaseStore<string, Uint8Array>) {
  const [data] = await stash.mget([item.stash]);
  if (!data) {
    throw new CounselError(
      "upload_gone",
      410,
      `The upload "${item.name}" is no longer stashed (it expired, or the job's data was removed): upload it again.`,
    );
  }
  const blob: SourceBlob = {
    name: item.name,
    source: item.source,
    data: Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    ...(item.mediaType ? { mediaType: item.mediaType } : {}),
  };
  yield blob;
}

/** The sources a job can name before it runs (S3 objects are known only once listed). */
export function queuedSources(input: JobInput): { source: string; name: string }[] {
  const sources: { source: string; name: string }[] = [];
  for (const item of input.items) {
    if (item.kind === "upload") sources.push({ source: item.source, name: item.name });
    if (item.kind === "urls") for (const url of item.urls) sources.push({ source: url, name: url });
    if (item.kind === "texts")
      for (const doc of item.documents) {
        const id = textDocumentId(doc);
        sources.push({ source: id, name: String(doc.metadata?.name ?? id) });
      }
  }
  return sources;
}

/** Documents a job queued and never reached (it was cancelled, or stopped on an error) are not queued any more. */
export async function clearQueued(
  statuses: DocumentStatusStore,
  input: JobInput,
  jobId: string,
): Promise<void> {
  for (const { source } of queuedSources(input)) {
    const state = await statuses.get(source);
    if (state?.status === "queued" && state.jobId === jobId) await statuses.clear(source, jobId);
  }
}

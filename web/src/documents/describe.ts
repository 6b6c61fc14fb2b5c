// Documents, ingestion reports and jobs in words for people: counts as sentences, sizes and times readable.
import { ApiError } from "../api.ts";
import type { DocumentSummary, IngestFailure, IngestReport, JobView } from "./types.ts";

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** "1 added, 1 unchanged (skipped), 2 failed; 3 chunks indexed." */
export function describeReport(report: IngestReport): string {
  const documents = [
    report.added > 0 ? `${report.added} added` : "",
    report.updated > 0 ? `${report.updated} updated` : "",
    report.skipped > 0 ? `${report.skipped} unchanged (skipped)` : "",
    report.deleted > 0 ? `${report.deleted} removed` : "",
    report.failed.length > 0 ? `${report.failed.length} failed` : "",
  ].filter(Boolean);
  const chunks = [
    report.chunks.added > 0 ? `${plural(report.chunks.added, "chunk")} indexed` : "",
    report.chunks.deleted > 0 ? `${plural(report.chunks.deleted, "old chunk")} removed` : "",
  ].filter(Boolean);
  if (documents.length === 0) return "Nothing was found to ingest.";
  return `${documents.join(", ")}${chunks.length > 0 ? `; ${chunks.join(", ")}` : ""}.`;
}

/** Whole tens of a share: a screen reader reads each change of a status line, so it changes ten times, not 100. */
export const tens = (part: number, whole: number) => Math.floor((part / Math.max(whole, 1)) * 10) * 10;

/** A job under way: "Queued as job j3; waiting for a worker…", "Indexing 40 documents: 30% done, 1 failed". */
export function describeJobProgress(job: JobView): string {
  const { total, done, failed } = job.progress.documents;
  if (job.state === "queued") {
    return job.error?.code === "retrying"
      ? `Waiting to try again (job ${job.id}): ${job.error.message}`
      : `Queued as job ${job.id}; waiting for a worker…`;
  }
  const failures = failed > 0 ? `, ${failed} failed` : "";
  if (total === undefined) {
    return done === 0 ? "Listing the documents…" : `Indexing: ${plural(done, "document")} done${failures}`;
  }
  return `Indexing ${plural(total, "document")}: ${tens(done, total)}% done${failures}`;
}

/** A job that has ended: its report's sentence, or why it failed or stopped. */
export function describeJobEnd(job: JobView): string {
  const report = job.report ? describeReport(job.report) : "";
  switch (job.state) {
    case "failed":
      return `The ingestion failed after ${plural(job.attempts, "attempt")}: ${job.error?.message ?? "no reason given"}${report ? ` ${report}` : ""}`;
    case "cancelled": {
      const { done } = job.progress.documents;
      const kept = done > 0 ? ` ${plural(done, "document")} had been done by then.` : "";
      return `${job.error?.message ?? "Cancelled."}${kept}`;
    }
    default:
      return report || "Done.";
  }
}

/**
 * A document's status when it is not simply indexed: "Queued (job j3)", "Failed while extracting: …". Undefined
 * for an indexed one.
 */
export function describeStatus(doc: DocumentSummary): string | undefined {
  if (!doc.status || doc.status === "indexed") return undefined;
  if (doc.status === "failed") {
    const step = doc.error?.step ? ` while ${doc.error.step}` : "";
    return `Failed${step}: ${doc.error?.message ?? "no reason was recorded"}`;
  }
  const job = doc.jobId ? ` (job ${doc.jobId})` : "";
  return `${doc.status[0].toUpperCase()}${doc.status.slice(1)}${job}`;
}

/**
 * The documents a refusal names as failed, each with its reason: when every document of a request fails, the
 * service answers with a problem that lists them (`failed`) beside its summary.
 */
export function failuresOf(error: unknown): IngestFailure[] {
  if (!(error instanceof ApiError)) return [];
  const failed = error.problem?.failed;
  if (!Array.isArray(failed)) return [];
  return failed.filter(
    (f): f is IngestFailure => typeof f?.name === "string" && typeof f?.error === "string",
  );
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return plural(bytes, "byte");
  const units = ["KB", "MB", "GB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** What the catalog knows of a document, as short facts: type, chunks, pages, size. */
export function documentFacts(doc: DocumentSummary): string[] {
  return [
    doc.type ? doc.type.toUpperCase() : "",
    plural(doc.chunks, "chunk"),
    doc.pages ? plural(doc.pages, "page") : "",
    doc.bytes !== undefined ? formatBytes(doc.bytes) : "",
    doc.loader ? `read by ${doc.loader}` : "",
  ].filter(Boolean);
}

/** A date and time in the reader's own locale and time zone. */
export function formatWhen(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

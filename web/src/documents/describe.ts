// Documents and ingestion reports in words for people: counts as sentences, sizes and times readable.
import { ApiError } from "../api.ts";
import type { DocumentSummary, IngestFailure, IngestReport } from "./types.ts";

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

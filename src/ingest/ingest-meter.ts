// Documents through ingestion, by outcome, as they are counted: what POST /ingest answers at once is counted by
// its route; a job's report (POST /ingest?async=true, large ingestions) is counted here when a worker in this
// process finishes it, and the metrics (/metrics, CloudWatch's IngestFailures) subscribe.
import type { IngestReport } from "./pipeline.ts";

export type IngestOutcome = "added" | "updated" | "skipped" | "deleted" | "failed";

export interface IngestRecord {
  outcome: IngestOutcome;
  count: number;
}

export class IngestMeter {
  private readonly listeners: ((record: IngestRecord) => void)[] = [];

  /** Counts a finished report's documents, by outcome (outcomes with none are left out). */
  record(report: IngestReport): void {
    const counts: [IngestOutcome, number][] = [
      ["added", report.added],
      ["updated", report.updated],
      ["skipped", report.skipped],
      ["deleted", report.deleted],
      ["failed", report.failed.length],
    ];
    for (const [outcome, count] of counts) {
      if (count === 0) continue;
      for (const listener of this.listeners) listener({ outcome, count });
    }
  }

  onRecord(listener: (record: IngestRecord) => void): void {
    this.listeners.push(listener);
  }
}

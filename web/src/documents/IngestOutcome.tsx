// What an ingestion came to, in words: the report's counts as a sentence and each failed document with its
// reason; when the service refused the whole request, its message and the documents it names; when it made a
// job of it, the job's progress and then how it ended.
import { messageOf } from "../api.ts";
import { describeJobEnd, describeReport, failuresOf } from "./describe.ts";
import { JobProgress } from "./JobProgress.tsx";
import { hasEnded } from "./jobs.ts";
import type { IngestFailure, IngestReport, JobView } from "./types.ts";

export type Outcome = { report: IngestReport } | { job: JobView } | { error: unknown };

export function Failures({ failed }: { failed: IngestFailure[] }) {
  if (failed.length === 0) return null;
  return (
    <ul className="failures">
      {failed.map((f, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: one report's fixed list; two failures may share a name
        <li key={`${f.name}-${i}`}>
          <span className="failure-name">{f.name}</span>: {f.error}
        </li>
      ))}
    </ul>
  );
}

function Report({ report }: { report: IngestReport }) {
  return (
    <div className="outcome">
      <p className={report.failed.length > 0 ? "outcome-partial" : "outcome-ok"}>{describeReport(report)}</p>
      <Failures failed={report.failed} />
    </div>
  );
}

function JobOutcome({ job }: { job: JobView }) {
  if (!hasEnded(job)) {
    return (
      <div className="outcome">
        <JobProgress job={job} label={`Ingestion job ${job.id}`} statusClass="job-status" />
      </div>
    );
  }
  // Completed is the synchronous answer's report, whatever ran it.
  if (job.state === "completed" && job.report) return <Report report={job.report} />;
  return (
    <div className="outcome" role={job.state === "failed" ? "alert" : undefined}>
      <p className={job.state === "failed" ? "error" : "outcome-partial"}>{describeJobEnd(job)}</p>
      <Failures failed={job.report?.failed ?? []} />
    </div>
  );
}

export function IngestOutcome({ outcome }: { outcome: Outcome }) {
  if ("report" in outcome) return <Report report={outcome.report} />;
  if ("job" in outcome) return <JobOutcome job={outcome.job} />;
  const failed = failuresOf(outcome.error);
  return (
    <div className="outcome" role="alert">
      <p className="error">{messageOf(outcome.error)}</p>
      {failed.length > 1 ? <Failures failed={failed} /> : null}
    </div>
  );
}

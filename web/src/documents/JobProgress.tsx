// A job under way, as the upload rows and the source forms show it: a bar of its documents done of their total
// (indeterminate while the total is unknown), the same in words, and a button that cancels it.
import { useState } from "react";
import { messageOf } from "../api.ts";
import { ErrorAlert } from "../components/ErrorAlert.tsx";
import { describeJobProgress } from "./describe.ts";
import { cancelJob } from "./jobs.ts";
import type { JobView } from "./types.ts";

export function JobProgress({
  job,
  label,
  statusClass,
}: {
  job: JobView;
  /** What the bar and the button name: "Upload of handbook.pdf". */
  label: string;
  statusClass: string;
}) {
  const [cancelling, setCancelling] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const { total, done } = job.progress.documents;
  const cancel = async () => {
    setCancelling(true);
    setError(null);
    try {
      // The job's stream says when it has stopped (a running one finishes its current document first).
      await cancelJob(job.id);
    } catch (e) {
      setError(`The job could not be cancelled: ${messageOf(e)}`);
      setCancelling(false);
    }
  };
  return (
    <>
      {total === undefined ? (
        <progress aria-label={label} />
      ) : (
        <progress aria-label={label} max={Math.max(total, 1)} value={done} />
      )}
      <div className="job-line">
        <p className={statusClass}>{describeJobProgress(job)}</p>
        <button
          type="button"
          className="secondary danger job-cancel"
          aria-label={`Cancel: ${label}`}
          disabled={cancelling}
          onClick={cancel}
        >
          {cancelling ? "Cancelling…" : "Cancel"}
        </button>
      </div>
      <ErrorAlert message={error} />
    </>
  );
}

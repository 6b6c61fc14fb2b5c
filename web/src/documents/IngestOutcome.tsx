// What an ingestion came to, in words: the report's counts as a sentence and each failed document with its
// reason; or, when the service refused the whole request, its message and the documents it names.
import { messageOf } from "../api.ts";
import { describeReport, failuresOf } from "./describe.ts";
import type { IngestFailure, IngestReport } from "./types.ts";

export type Outcome = { report: IngestReport } | { error: unknown };

function Failures({ failed }: { failed: IngestFailure[] }) {
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

export function IngestOutcome({ outcome }: { outcome: Outcome }) {
  if ("report" in outcome) {
    return (
      <div className="outcome">
        <p className={outcome.report.failed.length > 0 ? "outcome-partial" : "outcome-ok"}>
          {describeReport(outcome.report)}
        </p>
        <Failures failed={outcome.report.failed} />
      </div>
    );
  }
  const failed = failuresOf(outcome.error);
  return (
    <div className="outcome" role="alert">
      <p className="error">{messageOf(outcome.error)}</p>
      {failed.length > 1 ? <Failures failed={failed} /> : null}
    </div>
  );
}

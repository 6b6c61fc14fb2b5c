// Uploads files chosen with the file picker or dropped on the zone: one POST /ingest per file, so that each has
// its own progress bar and its own result or refusal, a few at a time (a browser keeps six connections per
// host, and the service parses and embeds each file while the next ones are sent). A file past the service's
// INGEST_ASYNC_BYTES is answered with a job (202), which its row follows to its end.
import pMap from "p-map";
import { type DragEvent, useId, useRef, useState } from "react";
import { messageOf, upload } from "../api.ts";
import { describeJobEnd, describeReport, failuresOf, formatBytes, tens } from "./describe.ts";
import { Failures } from "./IngestOutcome.tsx";
import { JobProgress } from "./JobProgress.tsx";
import { followJob, useUnmountSignal } from "./jobs.ts";
import type { IngestFailure, IngestReport, JobView } from "./types.ts";

/** Files sent at once; a file answered with a job keeps its place while it is followed, as a report's wait did. */
const CONCURRENCY = 3;

type UploadState =
  | { stage: "waiting" }
  | { stage: "sending"; sent: number; total: number }
  | { stage: "indexing" }
  | { stage: "job"; job: JobView }
  | { stage: "done"; message: string; failed?: IngestFailure[] }
  | { stage: "failed"; message: string; failed?: IngestFailure[] }
  | { stage: "cancelled"; message: string };

interface UploadItem {
  id: number;
  name: string;
  size: number;
  state: UploadState;
}

function statusText(state: Exclude<UploadState, { stage: "job" }>): string {
  switch (state.stage) {
    case "waiting":
      return "Waiting to be sent";
    case "sending":
      return `Sending: ${tens(state.sent, state.total)}%`;
    case "indexing":
      return "Sent; reading and indexing…";
    case "done":
    case "failed":
    case "cancelled":
      return state.message;
  }
}

/** A job that has ended, as a row's last state: the report as a synchronous answer gives it, or why not. */
function ended(job: JobView): UploadState {
  const failed = job.report?.failed ?? [];
  if (job.state === "cancelled") return { stage: "cancelled", message: describeJobEnd(job) };
  if (job.state === "completed" && failed.length === 0)
    return { stage: "done", message: describeJobEnd(job) };
  return { stage: "failed", message: describeJobEnd(job), failed };
}

function UploadRow({ item }: { item: UploadItem }) {
  const { state } = item;
  const label = `Upload of ${item.name}`;
  return (
    <li className={`upload upload-${state.stage}`}>
      <div className="upload-head">
        <span className="upload-name">{item.name}</span>
        <span className="upload-size">{formatBytes(item.size)}</span>
      </div>
      {state.stage === "job" ? (
        <JobProgress job={state.job} label={label} statusClass="upload-status" />
      ) : (
        <>
          {state.stage === "sending" ? (
            <progress aria-label={label} max={state.total} value={state.sent} />
          ) : state.stage === "waiting" || state.stage === "indexing" ? (
            // No value: an indeterminate bar, for the wait whose length nobody knows.
            <progress aria-label={label} />
          ) : state.stage === "done" ? (
            <progress aria-label={label} max={1} value={1} />
          ) : null}
          <p className="upload-status" role={state.stage === "failed" ? "alert" : undefined}>
            {statusText(state)}
          </p>
          {state.stage === "done" || state.stage === "failed" ? (
            <Failures failed={state.failed ?? []} />
          ) : null}
        </>
      )}
    </li>
  );
}

export function UploadPanel({ onIngested }: { onIngested: () => void }) {
  const [items, setItems] = useState<UploadItem[]>([]);
  const [dragging, setDragging] = useState(false);
  const nextId = useRef(0);
  const inputId = useId();
  const unmounted = useUnmountSignal();

  const update = (id: number, state: UploadState) =>
    setItems((all) => all.map((item) => (item.id === id ? { ...item, state } : item)));

  const send = async (id: number, file: File) => {
    const signal = unmounted();
    const form = new FormData();
    form.append("files", file, file.name);
    let accepted: JobView | undefined;
    try {
      const answer = await upload<IngestReport | JobView>("/ingest", form, {
        onProgress: (sent, total) =>
          update(id, sent < total ? { stage: "sending", sent, total } : { stage: "indexing" }),
      });
      if (answer.status === 202) {
        accepted = answer.body as JobView;
        update(id, { stage: "job", job: accepted });
        onIngested(); // the file is listed as queued from now on
        const last = await followJob(accepted.id, {
          signal,
          onChange: (job) => update(id, { stage: "job", job }),
        });
        update(id, ended(last));
      } else {
        update(id, { stage: "done", message: describeReport(answer.body as IngestReport) });
      }
      onIngested();
    } catch (error) {
      if (signal.aborted) return;
      if (accepted) {
        // The job goes on in the service; only this page lost sight of it (its document's status still tells).
        update(id, {
          stage: "failed",
          message: `Job ${accepted.id} could not be followed: ${messageOf(error)}`,
        });
        return;
      }
      // The one document the service names as failed has its own reason; else the service's whole message.
      const [failure, ...others] = failuresOf(error);
      const reason = failure && others.length === 0 ? failure.error : messageOf(error);
      update(id, { stage: "failed", message: `Refused: ${reason}` });
      onIngested(); // the refused file is listed as failed, with its reason
    }
  };

  const add = (files: FileList | null) => {
    const chosen = [...(files ?? [])];
    if (chosen.length === 0) return;
    const queued = chosen.map((file) => ({ id: nextId.current++, file }));
    setItems((all) => [
      ...queued.map(({ id, file }) => ({
        id,
        name: file.name,
        size: file.size,
        state: { stage: "waiting" } as const,
      })),
      ...all,
    ]);
    // Each selection or drop runs its own small pool; a file's failure is its own row's, never the batch's.
    void pMap(queued, ({ id, file }) => send(id, file), { concurrency: CONCURRENCY });
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    add(event.dataTransfer.files);
  };

  return (
    <section className="upload-panel" aria-labelledby="docs-upload-title">
      <h3 id="docs-upload-title">Add files</h3>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: dropping is a pointer's shortcut; the keyboard's way in is the file input inside */}
      <div
        className={`drop-zone${dragging ? " dragging" : ""}`}
        onDragOver={(event) => {
          event.preventDefault();
          event.dataTransfer.dropEffect = "copy";
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <label htmlFor={inputId}>Drop files here, or choose them</label>
        <input
          id={inputId}
          type="file"
          multiple
          aria-describedby={`${inputId}-hint`}
          onChange={(event) => {
            add(event.currentTarget.files);
            // Cleared, so that choosing the same file again (after changing it) sends it again.
            event.currentTarget.value = "";
          }}
        />
        <p id={`${inputId}-hint`} className="hint">
          Documents such as PDF, Word, HTML, Markdown, text, CSV or JSON; many at once. A changed file
          replaces its old version; an unchanged one is skipped.
        </p>
      </div>
      {items.length > 0 ? (
        // Live: each file's status line (its progress in tens, then its result) is read out as it changes.
        <ul className="uploads" aria-label="Uploads" aria-live="polite">
          {items.map((item) => (
            <UploadRow key={item.id} item={item} />
          ))}
        </ul>
      ) : null}
    </section>
  );
}

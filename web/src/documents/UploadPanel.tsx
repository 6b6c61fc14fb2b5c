// Uploads files chosen with the file picker or dropped on the zone: one POST /ingest per file, so that each has
// its own progress bar and its own result or refusal, a few at a time (a browser keeps six connections per
// host, and the service parses and embeds each file while the next ones are sent).
import pMap from "p-map";
import { type DragEvent, useId, useRef, useState } from "react";
import { messageOf, upload } from "../api.ts";
import { describeReport, failuresOf, formatBytes } from "./describe.ts";
import type { IngestReport } from "./types.ts";

/** Files sent at once. */
const CONCURRENCY = 3;

type UploadState =
  | { stage: "waiting" }
  | { stage: "sending"; sent: number; total: number }
  | { stage: "indexing" }
  | { stage: "done"; message: string }
  | { stage: "failed"; message: string };

interface UploadItem {
  id: number;
  name: string;
  size: number;
  state: UploadState;
}

function statusText(state: UploadState): string {
  switch (state.stage) {
    case "waiting":
      return "Waiting to be sent";
    case "sending":
      // Whole tens: a screen reader reads each change of this text, so it changes ten times, not a hundred.
      return `Sending: ${Math.floor((state.sent / Math.max(state.total, 1)) * 10) * 10}%`;
    case "indexing":
      return "Sent; reading and indexing…";
    case "done":
    case "failed":
      return state.message;
  }
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
    </li>
  );
}

export function UploadPanel({ onIngested }: { onIngested: () => void }) {
  const [items, setItems] = useState<UploadItem[]>([]);
  const [dragging, setDragging] = useState(false);
  const nextId = useRef(0);
  const inputId = useId();

  const update = (id: number, state: UploadState) =>
    setItems((all) => all.map((item) => (item.id === id ? { ...item, state } : item)));

  const send = async (id: number, file: File) => {
    const form = new FormData();
    form.append("files", file, file.name);
    try {
      const report = await upload<IngestReport>("/ingest", form, {
        onProgress: (sent, total) =>
          update(id, sent < total ? { stage: "sending", sent, total } : { stage: "indexing" }),
      });
      update(id, { stage: "done", message: describeReport(report) });
      onIngested();
    } catch (error) {
      // The one document the service names as failed has its own reason; else the service's whole message.
      const [failure, ...others] = failuresOf(error);
      const reason = failure && others.length === 0 ? failure.error : messageOf(error);
      update(id, { stage: "failed", message: `Refused: ${reason}` });
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

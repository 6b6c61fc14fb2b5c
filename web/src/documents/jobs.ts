// Ingestion jobs from the console: POST /ingest with its 200-or-202 answer, a job followed over its SSE stream
// (GET /ingest/jobs/:id/events) until it ends, and cancelled (DELETE). The stream is read with fetch, not
// EventSource, because EventSource cannot send the Authorization header that carries the tab's key.
import { EventSourceParserStream } from "eventsource-parser/stream";
import { useEffect, useRef } from "react";
import { ApiError, api, apiFetch } from "../api.ts";
import type { IngestAnswer, IngestReport, JobView } from "./types.ts";

/** A stream that ends before its job did (a proxy's idle timeout, a restart) is picked up again after this. */
const RETRY_MS = 1_000;

export const jobPath = (id: string) => `/ingest/jobs/${encodeURIComponent(id)}`;

export const hasEnded = (job: JobView) =>
  job.state === "completed" || job.state === "failed" || job.state === "cancelled";

/** POST /ingest with a JSON body (`urls`, `s3`): the report, or the job the service made of it. */
export async function ingestJson(body: unknown): Promise<IngestAnswer> {
  const res = await apiFetch("/ingest", {
    method: "POST",
    headers: { accept: "application/json", "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return res.status === 202
    ? { status: 202, job: (await res.json()) as JobView }
    : { status: 200, report: (await res.json()) as IngestReport };
}

/** Cancels a job; one that ended meanwhile (409) is left to its stream's last event to tell. */
export async function cancelJob(id: string): Promise<void> {
  try {
    await api<JobView>(jobPath(id), { method: "DELETE" });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 409)) throw error;
  }
}

/**
 * Follows a job until it ends: `onChange` with each state the service sends, then the last one returned. Throws
 * what the service refuses (an unknown job: 404; a key gone: 401), and an AbortError once `signal` aborts.
 *
 * @example
 * const ended = await followJob(job.id, { signal, onChange: (job) => setJob(job) });
 */
export async function followJob(
  id: string,
  { signal, onChange }: { signal: AbortSignal; onChange: (job: JobView) => void },
): Promise<JobView> {
  for (;;) {
    try {
      const last = await readEvents(id, signal, onChange);
      if (last && hasEnded(last)) return last;
    } catch (error) {
      // A refusal is final; a dropped connection (a TypeError mid-read, or ApiError 0) is tried again below.
      if (signal.aborted || (error instanceof ApiError && error.status !== 0)) throw error;
    }
    await sleep(RETRY_MS, signal);
    const job = await api<JobView>(jobPath(id), { signal });
    onChange(job);
    if (hasEnded(job)) return job;
  }
}

/** One connection to the job's events: the last job it gave, if any. */
async function readEvents(
  id: string,
  signal: AbortSignal,
  onChange: (job: JobView) => void,
): Promise<JobView | undefined> {
  const res = await apiFetch(`${jobPath(id)}/events`, { headers: { accept: "text/event-stream" }, signal });
  if (!res.body) return undefined;
  const reader = res.body
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream())
    .getReader();
  let last: JobView | undefined;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return last;
      if (value.event !== "job") continue;
      last = JSON.parse(value.data) as JobView;
      onChange(last);
      if (hasEnded(last)) return last;
    }
  } finally {
    // Closes the connection at once when we stop early; a no-op on a stream that has ended, and a rejection
    // on one that failed, whose error is already on its way up.
    await reader.cancel().catch(() => undefined);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/**
 * A signal that aborts when the component unmounts, so that a job followed from a view stops holding its
 * connection once the person leaves the view (made in the effect, so StrictMode's second mount gets a fresh one).
 */
export function useUnmountSignal(): () => AbortSignal {
  const controller = useRef<AbortController | null>(null);
  useEffect(() => {
    const current = new AbortController();
    controller.current = current;
    return () => current.abort();
  }, []);
  return () => {
    controller.current ??= new AbortController();
    return controller.current.signal;
  };
}

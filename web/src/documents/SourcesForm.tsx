// Ingests web addresses ({"urls": [...]}) or everything under an S3 prefix ({"s3": "s3://bucket/prefix"}) with
// POST /ingest, and shows what came of it: the report, or, when the service makes a job of it, the job followed
// to its end. The service checks the addresses (and refuses private ones): the form only splits the lines.
import { type FormEvent, useState } from "react";
import { IngestOutcome, type Outcome } from "./IngestOutcome.tsx";
import { followJob, ingestJson, useUnmountSignal } from "./jobs.ts";

function useIngest(onIngested: () => void) {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const unmounted = useUnmountSignal();
  const run = async (body: unknown) => {
    const signal = unmounted();
    setBusy(true);
    setOutcome(null);
    try {
      const answer = await ingestJson(body);
      if (answer.status === 202) {
        setOutcome({ job: answer.job });
        onIngested(); // its documents are listed as queued from now on
        const ended = await followJob(answer.job.id, { signal, onChange: (job) => setOutcome({ job }) });
        setOutcome({ job: ended });
      } else {
        setOutcome({ report: answer.report });
      }
      onIngested();
    } catch (error) {
      if (signal.aborted) return;
      setOutcome({ error });
      onIngested(); // a refused document may now be listed as failed, with its reason
    } finally {
      setBusy(false);
    }
  };
  return { busy, outcome, setOutcome, run };
}

export function UrlForm({ onIngested }: { onIngested: () => void }) {
  const [text, setText] = useState("");
  const { busy, outcome, setOutcome, run } = useIngest(onIngested);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const urls = text
      .split(/\s+/)
      .map((line) => line.trim())
      .filter(Boolean);
    if (urls.length === 0) {
      setOutcome({ error: new Error("Type at least one web address, one per line.") });
      return;
    }
    void run({ urls });
  };
  return (
    <form className="source-form" onSubmit={submit} noValidate aria-labelledby="docs-urls-title">
      <h4 id="docs-urls-title">Web pages</h4>
      <div className="field">
        <label htmlFor="docs-urls">Web addresses, one per line</label>
        <textarea
          id="docs-urls"
          rows={3}
          spellCheck={false}
          placeholder="https://example.com/handbook.html"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
      </div>
      <button type="submit" disabled={busy}>
        {busy ? "Ingesting…" : "Ingest web pages"}
      </button>
      <div aria-live="polite" aria-busy={busy}>
        {outcome ? <IngestOutcome outcome={outcome} /> : null}
      </div>
    </form>
  );
}

export function S3Form({ onIngested }: { onIngested: () => void }) {
  const [prefix, setPrefix] = useState("");
  const { busy, outcome, setOutcome, run } = useIngest(onIngested);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!prefix.trim()) {
      setOutcome({ error: new Error("Type an S3 prefix, such as s3://bucket/handbook/.") });
      return;
    }
    void run({ s3: prefix.trim() });
  };
  return (
    <form className="source-form" onSubmit={submit} noValidate aria-labelledby="docs-s3-title">
      <h4 id="docs-s3-title">S3</h4>
      <div className="field">
        <label htmlFor="docs-s3">S3 prefix</label>
        <input
          id="docs-s3"
          type="text"
          spellCheck={false}
          placeholder="s3://bucket/handbook/"
          value={prefix}
          onChange={(e) => setPrefix(e.target.value)}
        />
      </div>
      <button type="submit" disabled={busy}>
        {busy ? "Ingesting…" : "Ingest from S3"}
      </button>
      <div aria-live="polite" aria-busy={busy}>
        {outcome ? <IngestOutcome outcome={outcome} /> : null}
      </div>
    </form>
  );
}

// The document catalog (GET /documents, a page at a time, narrowed by source prefix and status): each document
// with its status (and, failed, in which step and why), type, chunks, pages, size and when it last changed; its
// chunks on request; and deletion after a confirmation.
import { type FormEvent, useEffect, useId, useRef, useState } from "react";
import { api, messageOf } from "../api.ts";
import { ErrorAlert } from "../components/ErrorAlert.tsx";
import { DocumentChunks } from "./DocumentChunks.tsx";
import { describeStatus, documentFacts, formatWhen } from "./describe.ts";
import {
  DOCUMENT_STATUSES,
  type DocumentStatus,
  type DocumentSummary,
  documentPath,
  type DocumentList as Page,
} from "./types.ts";

const PAGE_SIZE = 50;

const STATUS_NAMES: Record<DocumentStatus, string> = {
  indexed: "Indexed",
  queued: "Queued",
  extracting: "Extracting",
  embedding: "Embedding",
  failed: "Failed",
};

function Confirm({
  doc,
  onDelete,
  onCancel,
}: {
  doc: DocumentSummary;
  onDelete: () => Promise<void>;
  onCancel: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  // Focus on the harmless choice: a stray Enter keeps the document.
  useEffect(() => cancel.current?.focus(), []);
  const remove = async () => {
    setBusy(true);
    setError(null);
    try {
      await onDelete();
    } catch (e) {
      setError(messageOf(e));
      setBusy(false);
    }
  };
  return (
    <div className="confirm" role="alertdialog" aria-labelledby={titleId}>
      <p id={titleId}>
        Delete <strong>{doc.name ?? doc.source}</strong>?{" "}
        {doc.chunks === 0
          ? "It has no chunks in the knowledge base; its status and any failure are forgotten."
          : `Its ${doc.chunks === 1 ? "chunk leaves" : `${doc.chunks} chunks leave`} the knowledge base, and answers will no longer cite it.`}{" "}
        {doc.status === "queued"
          ? "A job still has it queued and will ingest it anyway: cancel that job to stop it."
          : "Uploading it again adds it anew."}
      </p>
      <div className="actions">
        <button type="button" className="danger" disabled={busy} onClick={remove}>
          {busy ? "Deleting…" : "Yes, delete"}
        </button>
        <button type="button" className="secondary" ref={cancel} onClick={onCancel}>
          Cancel
        </button>
      </div>
      <ErrorAlert message={error} />
    </div>
  );
}

function DocumentRow({
  doc,
  onDeleted,
}: {
  doc: DocumentSummary;
  onDeleted: (doc: DocumentSummary) => void;
}) {
  const [open, setOpen] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const chunksId = useId();
  const name = doc.name ?? doc.source;
  const status = describeStatus(doc);
  return (
    <li className={`document document-${doc.status ?? "indexed"}`}>
      <div className="document-head">
        <div className="document-heading">
          <h4 className="document-name">{name}</h4>
          {doc.status && doc.status !== "indexed" ? (
            <span className={`badge status-${doc.status}`}>{doc.status}</span>
          ) : null}
        </div>
        <div className="document-actions">
          <button
            type="button"
            className="secondary"
            aria-expanded={open}
            aria-controls={open ? chunksId : undefined}
            aria-label={`${open ? "Hide" : "Show"} chunks of ${name}`}
            onClick={() => setOpen((o) => !o)}
          >
            {open ? "Hide chunks" : "Show chunks"}
          </button>
          <button
            type="button"
            className="secondary danger"
            aria-label={`Delete ${name}`}
            disabled={confirming}
            onClick={() => setConfirming(true)}
          >
            Delete
          </button>
        </div>
      </div>
      {status ? (
        <p className="document-status">
          {status}
          {doc.statusAt ? (
            <>
              {" "}
              · since <time dateTime={doc.statusAt}>{formatWhen(doc.statusAt)}</time>
            </>
          ) : null}
        </p>
      ) : null}
      <p className="document-facts">
        {documentFacts(doc).join(" · ")} · updated{" "}
        <time dateTime={doc.updatedAt}>{formatWhen(doc.updatedAt)}</time>
      </p>
      {doc.title && doc.title !== name ? <p className="document-title">{doc.title}</p> : null}
      {doc.source !== name ? <p className="document-source">{doc.source}</p> : null}
      {confirming ? (
        <Confirm
          doc={doc}
          onCancel={() => setConfirming(false)}
          onDelete={async () => {
            await api<void>(documentPath(doc.source), { method: "DELETE" });
            onDeleted(doc);
          }}
        />
      ) : null}
      {open ? <DocumentChunks source={doc.source} id={chunksId} /> : null}
    </li>
  );
}

export function DocumentList({ version }: { version: number }) {
  const [draft, setDraft] = useState("");
  const [prefix, setPrefix] = useState("");
  const [documents, setDocuments] = useState<DocumentSummary[] | null>(null);
  const [nextCursor, setNextCursor] = useState<string | undefined>();
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState("");
  // One status per request, as the API takes it; "" lists them all.
  const [only, setOnly] = useState<DocumentStatus | "">("");

  const query = (cursor?: string) => {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (only) params.set("status", only);
    if (prefix) params.set("prefix", prefix);
    if (cursor) params.set("cursor", cursor);
    return `/documents?${params}`;
  };

  // The first page again whenever the filter changes or something was ingested or deleted (version).
  // biome-ignore lint/correctness/useExhaustiveDependencies: version is the refresh signal itself
  useEffect(() => {
    const controller = new AbortController();
    api<Page>(query(), { signal: controller.signal })
      .then((page) => {
        setDocuments(page.documents);
        setNextCursor(page.nextCursor);
        setError(null);
      })
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(`The documents could not be listed: ${messageOf(e)}`);
      });
    return () => controller.abort();
  }, [prefix, only, version]);

  const more = async () => {
    if (!nextCursor) return;
    setLoadingMore(true);
    try {
      const page = await api<Page>(query(nextCursor));
      setDocuments((all) => [...(all ?? []), ...page.documents]);
      setNextCursor(page.nextCursor);
    } catch (e) {
      setError(`More documents could not be listed: ${messageOf(e)}`);
    } finally {
      setLoadingMore(false);
    }
  };

  const filter = (event: FormEvent) => {
    event.preventDefault();
    setPrefix(draft.trim());
  };

  const deleted = (doc: DocumentSummary) => {
    setDocuments((all) => (all ?? []).filter((d) => d.source !== doc.source));
    setStatus(`Deleted ${doc.name ?? doc.source}.`);
  };

  return (
    <section className="document-list" aria-labelledby="docs-list-title">
      <h3 id="docs-list-title">Document catalog</h3>
      <form className="filter" onSubmit={filter} aria-label="Filter the documents">
        <div className="field">
          <label htmlFor="docs-prefix">Source starts with</label>
          <input
            id="docs-prefix"
            type="search"
            spellCheck={false}
            placeholder="upload: or s3://bucket/handbook/"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="docs-status">Status</label>
          <select
            id="docs-status"
            value={only}
            onChange={(e) => setOnly(e.target.value as DocumentStatus | "")}
          >
            <option value="">All</option>
            {DOCUMENT_STATUSES.map((s) => (
              <option key={s} value={s}>
                {STATUS_NAMES[s]}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Filter</button>
        {prefix || only ? (
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setDraft("");
              setPrefix("");
              setOnly("");
            }}
          >
            Show all
          </button>
        ) : null}
      </form>
      <p role="status" className="list-status">
        {status}
      </p>
      <ErrorAlert message={error} />
      {documents === null ? (
        error ? null : (
          <p className="hint">Listing the documents…</p>
        )
      ) : documents.length === 0 ? (
        <p className="hint">
          {only
            ? `No documents with the status “${STATUS_NAMES[only]}”${prefix ? ` whose source starts with “${prefix}”` : ""}.`
            : prefix
              ? `No document's source starts with “${prefix}”.`
              : "No documents yet: add files, web pages or an S3 prefix above."}
        </p>
      ) : (
        <ul className="documents" aria-label="Documents">
          {documents.map((doc) => (
            <DocumentRow key={doc.source} doc={doc} onDeleted={deleted} />
          ))}
        </ul>
      )}
      {nextCursor ? (
        <button type="button" className="secondary" disabled={loadingMore} onClick={more}>
          {loadingMore ? "Listing…" : "Show more documents"}
        </button>
      ) : null}
    </section>
  );
}

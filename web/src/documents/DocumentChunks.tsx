// One document's chunks (GET /documents/:source), in document order with their pages: what retrieval searches
// and what answers quote.
import { useEffect, useState } from "react";
import { api, messageOf } from "../api.ts";
import { type DocumentDetail, documentPath } from "./types.ts";

export function DocumentChunks({ source, id }: { source: string; id: string }) {
  const [detail, setDetail] = useState<DocumentDetail | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    api<DocumentDetail>(documentPath(source), { signal: controller.signal })
      .then(setDetail)
      .catch((e: unknown) => {
        if (!controller.signal.aborted) setError(`The chunks could not be read: ${messageOf(e)}`);
      });
    return () => controller.abort();
  }, [source]);

  return (
    <div id={id} className="chunks" aria-busy={!detail && !error}>
      {error ? (
        <p role="alert" className="error">
          {error}
        </p>
      ) : !detail ? (
        <p className="hint">Reading the chunks…</p>
      ) : detail.chunks.length === 0 ? (
        // Queued, or failed before it was ever indexed: listed, but nothing of it is searched or cited.
        <p className="hint">No chunks: nothing of this document is in the knowledge base.</p>
      ) : (
        <ol className="chunk-list" aria-label={`Chunks of ${detail.document.name ?? source}`}>
          {detail.chunks.map((chunk) => (
            <li key={chunk.id} className="chunk">
              <p className="chunk-head">
                Chunk {chunk.index + 1}
                {chunk.page ? `, page ${chunk.page}` : ""}
              </p>
              <p className="chunk-text">{chunk.text}</p>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

// Documents: add files (drag and drop or the file picker, each with its progress or its job's), web pages and S3
// prefixes to the knowledge base, see every document with its status, read a document's chunks, and delete one.
import { useState } from "react";
import { DocumentList } from "../documents/DocumentList.tsx";
import { S3Form, UrlForm } from "../documents/SourcesForm.tsx";
import { UploadPanel } from "../documents/UploadPanel.tsx";
import "./documents.css";

export function Documents() {
  // Bumped when an ingestion ends or a job is accepted: the list reads its first page again.
  const [version, setVersion] = useState(0);
  const ingested = () => setVersion((v) => v + 1);
  return (
    <section aria-labelledby="documents-title" className="documents-view">
      <h2 id="documents-title">Documents</h2>
      <p className="lead">What the knowledge base holds, and what answers can cite.</p>
      <UploadPanel onIngested={ingested} />
      <section className="sources-panel" aria-labelledby="docs-sources-title">
        <h3 id="docs-sources-title">Add web pages or an S3 prefix</h3>
        <div className="source-forms">
          <UrlForm onIngested={ingested} />
          <S3Form onIngested={ingested} />
        </div>
      </section>
      <DocumentList version={version} />
    </section>
  );
}

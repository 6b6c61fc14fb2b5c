// What GET /documents, GET /documents/:source and GET /documents/:source/chunks take and give back: a page of
// document summaries (each with its status), one document with its chunks, a page of a document's chunks.
import Type, { type Static } from "typebox";
import {
  DEFAULT_DOCUMENTS_LIMIT,
  DOCUMENT_STATUSES,
  MAX_DOCUMENTS_LIMIT,
} from "../../contracts/documents.ts";
import { Dictionary, Scalar } from "./json.ts";

/** The longest source a path may name: a file path (4096) or a web address (8192) fits. */
const SOURCE_MAX = 8192;

/** `metadata.<field>` query parameters: a field name of up to 128 characters after the dot. */
export const METADATA_PARAM = /^metadata\.(.{1,128})$/s;

const limit = (description: string) =>
  Type.Integer({ minimum: 1, maximum: MAX_DOCUMENTS_LIMIT, default: DEFAULT_DOCUMENTS_LIMIT, description });

const Cursor = Type.String({
  minLength: 1,
  maxLength: 4 * SOURCE_MAX,
  description: "The `nextCursor` of the page before, unchanged.",
});

const Status = Type.Enum([...DOCUMENT_STATUSES], {
  description:
    "Where its latest ingestion stands: queued, extracting, embedding, indexed, or failed (with `error`).",
});

export const ListDocumentsQuery = Type.Object(
  {
    prefix: Type.Optional(
      Type.String({
        maxLength: SOURCE_MAX,
        description: "Only documents whose source starts with this, e.g. `s3://bucket/handbook/`.",
      }),
    ),
    status: Type.Optional(
      Type.Enum([...DOCUMENT_STATUSES], { description: "Only documents with this status." }),
    ),
    type: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description: "Only documents of this detected type: pdf, docx, html, markdown, text, csv, json…",
      }),
    ),
    limit: Type.Optional(limit("Documents per page.")),
    cursor: Type.Optional(Cursor),
  },
  {
    additionalProperties: false,
    // `metadata.<field>=<value>`: only documents whose metadata has that field with that value (as text). Not
    // described as parameters in OpenAPI, which has no pattern-named parameters; the route's description says so.
    patternProperties: { [METADATA_PARAM.source]: Type.String({ maxLength: SOURCE_MAX }) },
    maxProperties: 25,
  },
);
export type ListDocumentsQuery = Static<typeof ListDocumentsQuery>;

export const ListChunksQuery = Type.Object(
  {
    limit: Type.Optional(limit("Chunks per page.")),
    cursor: Type.Optional(Cursor),
  },
  { additionalProperties: false },
);
export type ListChunksQuery = Static<typeof ListChunksQuery>;

export const SourceParams = Type.Object({
  source: Type.String({
    minLength: 1,
    maxLength: SOURCE_MAX,
    description:
      "The document's id (its `doc_id`, the `source` GET /documents lists), URL-encoded as one path segment " +
      "(encodeURIComponent).",
  }),
});

const DocumentFailure = Type.Object(
  {
    step: Type.Enum(["queued", "extracting", "embedding"], { description: "The step it failed in." }),
    code: Type.String({ description: "A stable code: unsupported_media_type, model_error, ingest_failed…" }),
    message: Type.String({ description: "What went wrong and, where it can, what to do about it." }),
    status: Type.Integer({
      description: "What the failure means: 4xx the document's fault, 5xx a service's.",
    }),
  },
  { description: "Why its latest ingestion failed; present when status is failed." },
);

const DocumentSummary = Type.Object({
  source: Type.String({
    description:
      "The document's identity (doc_id): a file path, `upload:<name>`, an s3:// or web address, or the doc_id given.",
  }),
  status: Status,
  error: Type.Optional(DocumentFailure),
  jobId: Type.Optional(
    Type.String({ description: "The job carrying its ingestion (or whose attempt failed), if any." }),
  ),
  statusAt: Type.Optional(
    Type.String({ format: "date-time", description: "When it entered its status; absent when indexed." }),
  ),
  chunks: Type.Integer({ description: "Chunks indexed now." }),
  updatedAt: Type.String({
    format: "date-time",
    description:
      "When its indexed chunks last changed; an unchanged re-ingestion leaves it as it was. For a document " +
      "without chunks, when it entered its status.",
  }),
  name: Type.Optional(Type.String({ description: "Display name: the file name, or the name given." })),
  type: Type.Optional(
    Type.String({ description: "The detected type: pdf, docx, html, markdown, text, csv, json…" }),
  ),
  title: Type.Optional(Type.String({ description: "The title its loader found (an HTML page's)." })),
  loader: Type.Optional(
    Type.String({ description: "The reader that made the text when not the type's own." }),
  ),
  pages: Type.Optional(Type.Integer({ description: "The highest page a chunk cites (PDFs and scans)." })),
  summary: Type.Optional(
    Type.String({
      description: "Its summary, when its recipe makes one (`summarize`); also indexed as its last chunk.",
    }),
  ),
  bytes: Type.Optional(
    Type.Integer({
      description:
        "Size of the source as last ingested; absent for documents indexed before the catalog existed.",
    }),
  ),
  checksum: Type.Optional(
    Type.String({ description: "sha256 (hex) of the source's bytes as last ingested." }),
  ),
  recipe: Type.Optional(Type.String({ description: "The recipe it was last ingested with." })),
  metadata: Type.Optional(
    Dictionary(Scalar, {
      description:
        "The metadata it was given (doc_id aside), as its chunks carry it; `metadata.<field>` filters.",
    }),
  ),
});

const DocumentChunk = Type.Object({
  id: Type.String({ description: "The chunk's id in the vector store." }),
  index: Type.Integer({ description: "0-based position within the document." }),
  page: Type.Optional(Type.Integer()),
  text: Type.String(),
  metadata: Dictionary(Scalar, {
    description:
      "Its metadata as stored: the caller's fields and those ingestion stamps (name, type, checksum…).",
  }),
});

export const DocumentListReply = Type.Object({
  documents: Type.Array(DocumentSummary, { description: "Sorted by source (Unicode code points)." }),
  nextCursor: Type.Optional(
    Type.String({ description: "Present when more documents follow: pass it as `cursor`." }),
  ),
});

export const DocumentDetailReply = Type.Object({
  document: DocumentSummary,
  chunks: Type.Array(DocumentChunk, {
    description: "In document order; none for a document not indexed yet.",
  }),
});

export const ChunkPageReply = Type.Object({
  chunks: Type.Array(DocumentChunk, { description: "In document order." }),
  nextCursor: Type.Optional(
    Type.String({ description: "Present when more chunks follow: pass it as `cursor`." }),
  ),
});

// What GET /documents and GET /documents/:source take and give back: a page of document summaries, and one
// document with its chunks.
import Type, { type Static } from "typebox";
import { DEFAULT_DOCUMENTS_LIMIT, MAX_DOCUMENTS_LIMIT } from "../../contracts/documents.ts";

/** The longest source a path may name: a file path (4096) or a web address (8192) fits. */
const SOURCE_MAX = 8192;

export const ListDocumentsQuery = Type.Object(
  {
    prefix: Type.Optional(
      Type.String({
        maxLength: SOURCE_MAX,
        description: "Only documents whose source starts with this, e.g. `s3://bucket/handbook/`.",
      }),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_DOCUMENTS_LIMIT,
        default: DEFAULT_DOCUMENTS_LIMIT,
        description: "Documents per page.",
      }),
    ),
    cursor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4 * SOURCE_MAX,
        description: "The `nextCursor` of the page before, unchanged.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type ListDocumentsQuery = Static<typeof ListDocumentsQuery>;

export const SourceParams = Type.Object({
  source: Type.String({
    minLength: 1,
    maxLength: SOURCE_MAX,
    description: "The document's source, URL-encoded as one path segment (encodeURIComponent).",
  }),
});

const DocumentSummary = Type.Object({
  source: Type.String({
    description:
      "The document's identity (doc_id): a file path, `upload:<name>`, an s3:// or web address, or the doc_id given.",
  }),
  chunks: Type.Integer({ description: "Chunks indexed now." }),
  updatedAt: Type.String({
    format: "date-time",
    description: "When its indexed chunks last changed; an unchanged re-ingestion leaves it as it was.",
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
});

export const DocumentListReply = Type.Object({
  documents: Type.Array(DocumentSummary, { description: "Sorted by source (Unicode code points)." }),
  nextCursor: Type.Optional(
    Type.String({ description: "Present when more documents follow: pass it as `cursor`." }),
  ),
});

export const DocumentDetailReply = Type.Object({
  document: DocumentSummary,
  chunks: Type.Array(
    Type.Object({
      id: Type.String(),
      index: Type.Integer({ description: "0-based position within the document." }),
      page: Type.Optional(Type.Integer()),
      text: Type.String(),
    }),
    { description: "In document order." },
  ),
});

// list_documents over MCP: the caller's tenant's document catalog, a page at a time, as GET /documents gives it
// (tenant.documents.list: sorted by source, narrowed by prefix, paged by an opaque cursor).
import { z } from "zod/v4";
import { DEFAULT_DOCUMENTS_LIMIT, MAX_DOCUMENTS_LIMIT } from "../../../contracts/documents.ts";
import { defineTool } from "../tool.ts";

/** The longest source a tool takes, as GET /documents/:source: a file path (4096) or a web address (8192) fits. */
export const SOURCE_MAX = 8192;

/** One document as the catalog summarises it (contracts/documents.ts DocumentSummary). */
export const DocumentSummary = z.object({
  source: z
    .string()
    .describe(
      "The document's identity (doc_id): a file path, upload:<name>, an s3:// or web address, or the doc_id given.",
    ),
  chunks: z.number().int().describe("Chunks indexed now."),
  updatedAt: z.string().describe("When its indexed chunks last changed (ISO 8601)."),
  name: z.string().optional().describe("Display name: the file name, or the name given."),
  type: z.string().optional().describe("The detected type: pdf, docx, html, markdown, text, csv, json…"),
  title: z.string().optional().describe("The title its loader found (an HTML page's)."),
  loader: z.string().optional().describe("The reader that made the text when not the type's own (textract)."),
  pages: z.number().int().optional().describe("The highest page a chunk cites (PDFs and scans)."),
  bytes: z.number().int().optional().describe("Size of the source as last ingested, when known."),
  status: z
    .enum(["queued", "extracting", "embedding", "indexed", "failed"])
    .describe("Where its latest ingestion stands; failed comes with error."),
  error: z
    .object({
      step: z.string().describe("The step it failed in: queued, extracting or embedding."),
      code: z.string(),
      message: z.string().describe("What went wrong and, where it can, what to do about it."),
      status: z.number().int(),
    })
    .optional()
    .describe("Why its latest ingestion failed."),
  jobId: z.string().optional().describe("The job carrying its ingestion, if any."),
  statusAt: z.string().optional().describe("When it entered its status (ISO 8601); absent when indexed."),
  checksum: z.string().optional().describe("sha256 of the source's bytes as last ingested."),
  recipe: z.string().optional().describe("The recipe it was last ingested with."),
  metadata: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .optional()
    .describe("The metadata it was given, as its chunks carry it."),
});

export const listDocuments = defineTool({
  name: "list_documents",
  title: "List the documents",
  description:
    "List the documents in the organisation's knowledge base, sorted by source, a page at a time: each with " +
    "its status (indexed, or an ingestion queued, under way or failed), its chunk count, when it last changed, " +
    "and its name, type, title and pages when known. Pass a page's " +
    "nextCursor as cursor for the next one; prefix narrows to sources that start with it.",
  scope: "query",
  input: {
    prefix: z
      .string()
      .max(SOURCE_MAX)
      .optional()
      .describe("Only documents whose source starts with this, e.g. upload: or s3://bucket/handbook/."),
    limit: z
      .number()
      .int()
      .min(1)
      .max(MAX_DOCUMENTS_LIMIT)
      .optional()
      .describe(`Documents per page (1-${MAX_DOCUMENTS_LIMIT}); default ${DEFAULT_DOCUMENTS_LIMIT}.`),
    cursor: z
      .string()
      .min(1)
      .max(4 * SOURCE_MAX)
      .optional()
      .describe("The nextCursor of the page before, unchanged."),
  },
  output: {
    documents: z.array(DocumentSummary).describe("Sorted by source (Unicode code points)."),
    nextCursor: z.string().optional().describe("Present when more documents follow: pass it as cursor."),
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
  // A cursor the catalog never gave is its BadRequestError, which defineTool shows as the tool's error.
  async run({ prefix, limit, cursor }, { tenant }) {
    return tenant.documents.list({ prefix, limit, cursor });
  },
});

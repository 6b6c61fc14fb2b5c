// get_document over MCP: one document of the caller's tenant with its chunks in order, text included, as
// GET /documents/:source gives it. Another tenant's document is as unknown as one that does not exist.
import { z } from "zod/v4";
import { NotFoundError } from "../../../errors.ts";
import { defineTool } from "../tool.ts";
import { DocumentSummary, SOURCE_MAX } from "./list-documents.ts";

export const getDocument = defineTool({
  name: "get_document",
  title: "Read a document",
  description:
    "Read one document of the knowledge base by its source (as list_documents or a search result gives it): " +
    "its summary and its chunks in document order, each with its text and page.",
  scope: "query",
  input: {
    source: z.string().min(1).max(SOURCE_MAX).describe("The document's source, exactly as listed."),
  },
  output: {
    document: DocumentSummary,
    chunks: z
      .array(
        z.object({
          id: z.string().describe("The chunk's id in the index."),
          index: z.number().int().describe("0-based position within the document."),
          page: z.number().int().optional(),
          text: z.string(),
          metadata: z
            .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
            .describe("The chunk's metadata as stored."),
        }),
      )
      .describe("In document order."),
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run({ source }, { tenant }) {
    const detail = await tenant.documents.get(source);
    if (!detail) throw new NotFoundError(`No document ${JSON.stringify(source)} in this knowledge base.`);
    return detail;
  },
});

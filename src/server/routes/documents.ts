// GET /documents: the caller's tenant's documents, by source, a page at a time, each with its status;
// GET /documents/:source: one document with its chunks; GET /documents/:source/chunks: its chunks a page at a
// time; DELETE /documents/:source: the document gone from the knowledge base. Read from the catalog the record
// manager and the status store keep, so listing never reads a chunk.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { NotFoundError } from "../../errors.ts";
import {
  ChunkPageReply,
  DocumentDetailReply,
  DocumentListReply,
  ListChunksQuery,
  ListDocumentsQuery,
  METADATA_PARAM,
  SourceParams,
} from "../schemas/documents.ts";
import { ProblemReplies } from "../schemas/problem.ts";
import { limitAsNumber } from "../schemas/query.ts";

const SOURCE_IS_ID =
  "`source` is the document's id (its `doc_id`, as GET /documents lists it), URL-encoded as one path segment " +
  "(encodeURIComponent: `/` as `%2F`, `:` as `%3A`).";

export const documentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    "/documents",
    {
      config: { scopes: ["query"] },
      preValidation: async (request) => limitAsNumber(request),
      schema: {
        tags: ["documents"],
        summary: "The documents in the knowledge base, by source, a page at a time, each with its status",
        description:
          "Indexed documents and those whose ingestion is under way or failed, each with its status " +
          "(queued, extracting, embedding, indexed, failed with `error`), chunk count, when its chunks last " +
          "changed, and what ingestion knew of it (name, type, title, pages, bytes, checksum, recipe, " +
          "metadata). Follow `nextCursor` for the next page; `prefix` narrows to sources that start with it, " +
          "`status` and `type` to documents with that status or type, and each `metadata.<field>=<value>` " +
          "(e.g. `metadata.team=legal`) to documents whose metadata has that field with that value. With " +
          "filters, a page may hold fewer than `limit` documents (each request reads a bounded part of the " +
          "catalog): the list ends only where `nextCursor` is absent.",
        querystring: ListDocumentsQuery,
        response: { 200: DocumentListReply, ...ProblemReplies },
      },
    },
    // The caller's tenant's catalog: another tenant's documents are never listed.
    async (request) => {
      const { prefix, status, type, limit, cursor } = request.query;
      return request.tenant.documents.list({
        prefix,
        status,
        type,
        limit,
        cursor,
        metadata: metadataFilter(request.query),
      });
    },
  );

  app.get(
    "/documents/:source",
    {
      config: { scopes: ["query"] },
      schema: {
        tags: ["documents"],
        summary: "One document: its summary and status, and its chunks in order, with their text",
        description:
          `${SOURCE_IS_ID} A document queued or failed before it was ever indexed is found, with no chunks. ` +
          "A document this tenant does not hold is a 404. GET /documents/:source/chunks pages the chunks.",
        params: SourceParams,
        response: { 200: DocumentDetailReply, ...ProblemReplies },
      },
    },
    async (request) => {
      const { source } = request.params;
      const detail = await request.tenant.documents.get(source);
      if (!detail) throw notFound(source);
      return detail;
    },
  );

  app.get(
    "/documents/:source/chunks",
    {
      config: { scopes: ["query"] },
      preValidation: async (request) => limitAsNumber(request),
      schema: {
        tags: ["documents"],
        summary: "A document's chunks in order, a page at a time, with their text and metadata",
        description: `${SOURCE_IS_ID} Follow \`nextCursor\` for the next page. A document this tenant does not hold is a 404.`,
        params: SourceParams,
        querystring: ListChunksQuery,
        response: { 200: ChunkPageReply, ...ProblemReplies },
      },
    },
    async (request) => {
      const { source } = request.params;
      const page = await request.tenant.documents.chunks(source, request.query);
      if (!page) throw notFound(source);
      return page;
    },
  );

  app.delete(
    "/documents/:source",
    {
      config: { scopes: ["ingest"] },
      schema: {
        tags: ["documents"],
        summary: "Delete a document: its chunks leave the index, and it leaves the catalog",
        description:
          `${SOURCE_IS_ID} Its chunks leave the vector store and the lexical index, and its record-manager ` +
          "entries and status go with them: it is no longer listed, searched or cited, and ingesting it again " +
          "adds it anew. A document that only failed (no chunks) is deleted too. A source this tenant does not " +
          "hold is a 404, and nothing is touched.",
        params: SourceParams,
        response: { 204: Type.Null({ description: "Deleted." }), ...ProblemReplies },
      },
    },
    async (request, reply) => {
      const { source } = request.params;
      // The caller's tenant's pipeline: another tenant's document of the same source is as unknown as none.
      const { found } = await request.tenant.pipeline.deleteDocument(source);
      if (!found) throw notFound(source);
      return reply.code(204).send(null);
    },
  );
};

function notFound(source: string): NotFoundError {
  return new NotFoundError(`No document ${JSON.stringify(source)} in this knowledge base.`);
}

/** The `metadata.<field>` parameters (the query schema admits them by pattern) as field → value. */
function metadataFilter(query: Record<string, unknown>): Record<string, string> | undefined {
  const filter: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    const field = METADATA_PARAM.exec(name)?.[1];
    if (field !== undefined && typeof value === "string") filter[field] = value;
  }
  return Object.keys(filter).length > 0 ? filter : undefined;
}

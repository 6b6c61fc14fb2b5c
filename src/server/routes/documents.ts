// GET /documents: the caller's tenant's documents, by source, a page at a time; GET /documents/:source: one
// document with its chunks; DELETE /documents/:source: the document gone from the knowledge base. Read from the
// catalog the record manager keeps, so listing never reads a chunk.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { NotFoundError } from "../../errors.ts";
import {
  DocumentDetailReply,
  DocumentListReply,
  ListDocumentsQuery,
  SourceParams,
} from "../schemas/documents.ts";
import { ProblemReplies } from "../schemas/problem.ts";
import { limitAsNumber } from "../schemas/query.ts";

export const documentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    "/documents",
    {
      config: { scopes: ["query"] },
      preValidation: async (request) => limitAsNumber(request),
      schema: {
        tags: ["documents"],
        summary: "The documents in the knowledge base, by source, a page at a time",
        description:
          "Each with its chunk count, when its chunks last changed, and what ingestion knew of it (name, type, " +
          "title, pages, bytes). Follow `nextCursor` for the next page; `prefix` narrows to sources that " +
          "start with it.",
        querystring: ListDocumentsQuery,
        response: { 200: DocumentListReply, ...ProblemReplies },
      },
    },
    // The caller's tenant's catalog: another tenant's documents are never listed.
    async (request) => request.tenant.documents.list(request.query),
  );

  app.get(
    "/documents/:source",
    {
      config: { scopes: ["query"] },
      schema: {
        tags: ["documents"],
        summary: "One document: its summary and its chunks in order, with their text",
        description:
          "`source` is URL-encoded as one path segment (encodeURIComponent: `/` as `%2F`, `:` as `%3A`). " +
          "A source this tenant does not hold is a 404.",
        params: SourceParams,
        response: { 200: DocumentDetailReply, ...ProblemReplies },
      },
    },
    async (request) => {
      const { source } = request.params;
      const detail = await request.tenant.documents.get(source);
      if (!detail) throw new NotFoundError(`No document ${JSON.stringify(source)} in this knowledge base.`);
      return detail;
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
          "`source` is URL-encoded as for `GET /documents/:source`. Its chunks leave the vector store and the " +
          "lexical index, and its record-manager entries go with them: it is no longer listed, searched or " +
          "cited, and ingesting it again adds it anew. A source this tenant does not hold is a 404, and " +
          "nothing is touched.",
        params: SourceParams,
        response: { 204: Type.Null({ description: "Deleted." }), ...ProblemReplies },
      },
    },
    async (request, reply) => {
      const { source } = request.params;
      // The caller's tenant's pipeline: another tenant's document of the same source is as unknown as none.
      const removed = await request.tenant.pipeline.deleteDocument(source);
      if (removed === 0)
        throw new NotFoundError(`No document ${JSON.stringify(source)} in this knowledge base.`);
      return reply.code(204).send(null);
    },
  );
};

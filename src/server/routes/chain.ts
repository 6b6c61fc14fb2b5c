// POST /chain/qa (the default qa chain) and POST /chain/:name (any qa chain in chains/).
import type { FastifyInstance } from "fastify";
import type { QaInput } from "../../chains/qa.ts";
import { clientAbortSignal } from "../abort.ts";

const qaBody = {
  type: "object",
  required: ["question"],
  additionalProperties: false,
  properties: {
    question: {
      type: "string",
      minLength: 1,
      maxLength: 4000,
      pattern: "\\S",
      description: "The question to answer.",
    },
    k: { type: "integer", minimum: 1, maximum: 50, description: "How many chunks to retrieve." },
    filter: {
      type: "object",
      description: 'Metadata equality filter, e.g. {"source": "/docs/memo.pdf"}.',
      maxProperties: 20,
      additionalProperties: { type: ["string", "number", "boolean"] },
    },
  },
} as const;

const qaReply = {
  type: "object",
  properties: {
    answer: { type: "string", description: "Cites its sources as [1], [2] in the order of `sources`." },
    abstained: { type: "boolean", description: "True when the knowledge base held no answer." },
    citations: { type: "array", items: { type: "integer" }, description: "1-based indices into `sources`." },
    sources: {
      type: "array",
      items: {
        type: "object",
        properties: {
          id: { type: "string" },
          source: { type: "string" },
          page: { type: "integer" },
          snippet: { type: "string" },
          score: { type: "number" },
          cited: { type: "boolean" },
          metadata: { type: "object", additionalProperties: true },
        },
      },
    },
    chain: { type: "string" },
    variant: { type: "string" },
    model: { type: "string" },
    timings: { type: "object", additionalProperties: { type: "number" } },
  },
} as const;

export async function chainRoutes(app: FastifyInstance) {
  const schema = (summary: string) => ({
    tags: ["chains"],
    summary,
    body: qaBody,
    response: { 200: qaReply, "4xx": { $ref: "problem#" }, "5xx": { $ref: "problem#" } },
  });

  app.post<{ Body: QaInput }>(
    "/chain/qa",
    { schema: schema("Answer a question from the knowledge base, with citations") },
    async (request, reply) =>
      app.services.qaChain("qa").invoke(request.body, { signal: clientAbortSignal(reply) }),
  );

  app.post<{ Body: QaInput; Params: { name: string } }>(
    "/chain/:name",
    {
      schema: {
        ...schema("Answer a question with a named qa chain from chains/"),
        params: {
          type: "object",
          properties: { name: { type: "string", pattern: "^[a-z0-9][a-z0-9_-]{0,63}$" } },
        },
      },
    },
    async (request, reply) =>
      app.services.qaChain(request.params.name).invoke(request.body, { signal: clientAbortSignal(reply) }),
  );
}

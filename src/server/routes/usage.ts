// GET /usage: the model tokens this process has spent since it started, per model (embeddings and answers).
// For the operator (scope admin): it counts every tenant's calls; a tenant's own spend per chain is in
// GET /chains/:name/stats.
import type { FastifyInstance } from "fastify";

const totals = {
  type: "object",
  properties: {
    requests: { type: "integer" },
    inputTokens: { type: "integer" },
    outputTokens: { type: "integer" },
  },
} as const;

export async function usageRoutes(app: FastifyInstance) {
  app.get(
    "/usage",
    {
      config: { scopes: ["admin"] },
      schema: {
        tags: ["health"],
        summary: "Model token usage since the process started, per model id",
        response: {
          200: {
            type: "object",
            properties: { models: { type: "object", additionalProperties: totals } },
          },
        },
      },
    },
    async () => ({ models: app.services.usage() }),
  );
}

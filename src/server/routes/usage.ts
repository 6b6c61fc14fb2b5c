// GET /usage: the model tokens this process has spent since it started, per model (embeddings and answers).
// For the operator (scope admin): it counts every tenant's calls; a tenant's own spend per chain is in
// GET /chains/:name/stats.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { Dictionary } from "../schemas/json.ts";

const Totals = Type.Object({
  requests: Type.Optional(Type.Integer()),
  inputTokens: Type.Optional(Type.Integer()),
  outputTokens: Type.Optional(Type.Integer()),
});

export const usageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    "/usage",
    {
      config: { scopes: ["admin"] },
      schema: {
        tags: ["health"],
        summary: "Model token usage since the process started, per model id",
        response: { 200: Type.Object({ models: Type.Optional(Dictionary(Totals)) }) },
      },
    },
    async () => ({ models: app.services.usage() }),
  );
};

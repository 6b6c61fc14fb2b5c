// OpenAPI generated from the route schemas, served as JSON at /docs/json and as Swagger UI at /docs.
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";

export const openapiPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        openapi: "3.1.0",
        info: {
          title: "Counsel",
          description: "Answers from an organisation's documents, with citations.",
          version: "0.1.0",
        },
        components: {
          securitySchemes: {
            bearer: { type: "http", scheme: "bearer", description: "An API key: `counsel keys create`" },
            apiKey: { type: "apiKey", in: "header", name: "x-api-key" },
          },
        },
        // Every route but the probes (/healthz, /readyz, /metrics) and these docs; either header will do.
        security: [{ bearer: [] }, { apiKey: [] }],
        tags: [
          { name: "chains", description: "Retrieval-QA chains" },
          { name: "advisor", description: "The advisor agent, its sessions and reports" },
          { name: "ingest", description: "Adding documents to the knowledge base" },
          { name: "documents", description: "The documents in the knowledge base, with their chunks" },
          { name: "openai", description: "OpenAI-compatible chat API: the chains as models" },
          { name: "health", description: "Liveness and readiness" },
        ],
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    });
    await app.register(swaggerUi, { routePrefix: "/docs" });
  },
  { name: "openapi" },
);

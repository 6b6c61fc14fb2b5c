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
        tags: [
          { name: "chains", description: "Retrieval-QA chains" },
          { name: "ingest", description: "Adding documents to the knowledge base" },
          { name: "health", description: "Liveness and readiness" },
        ],
      },
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    });
    await app.register(swaggerUi, { routePrefix: "/docs" });
  },
  { name: "openapi" },
);

// Liveness says the process answers; readiness says its dependencies (store, models) can serve.
import type { FastifyInstance } from "fastify";

const readinessSchema = {
  type: "object",
  properties: {
    status: { enum: ["ready", "not_ready"] },
    checks: {
      type: "object",
      additionalProperties: {
        type: "object",
        properties: { ok: { type: "boolean" }, detail: { type: "string" } },
        additionalProperties: true,
      },
    },
  },
} as const;

export async function healthRoutes(app: FastifyInstance) {
  app.get(
    "/healthz",
    {
      schema: {
        tags: ["health"],
        summary: "Liveness: the process is up",
        response: { 200: { type: "object", properties: { status: { const: "ok" } } } },
      },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        tags: ["health"],
        summary: "Readiness: every dependency can serve",
        response: { 200: readinessSchema, 503: readinessSchema },
      },
    },
    async (_request, reply) => {
      const checks = await app.services.readiness();
      const ready = Object.values(checks).every((c) => c.ok);
      return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not_ready", checks });
    },
  );
}

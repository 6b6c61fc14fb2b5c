// Liveness says the process answers; readiness says its dependencies (store, models) can serve.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { Dictionary } from "../schemas/json.ts";

const Readiness = Type.Object({
  status: Type.Optional(Type.Enum(["ready", "not_ready"])),
  checks: Type.Optional(
    Dictionary(
      Type.Object(
        { ok: Type.Optional(Type.Boolean()), detail: Type.Optional(Type.String()) },
        { additionalProperties: true },
      ),
    ),
  ),
});

export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    "/healthz",
    {
      schema: {
        tags: ["health"],
        summary: "Liveness: the process is up",
        response: { 200: Type.Object({ status: Type.Optional(Type.Literal("ok")) }) },
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
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const checks = await app.services.readiness();
      const ready = Object.values(checks).every((c) => c.ok);
      return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not_ready", checks });
    },
  );
};

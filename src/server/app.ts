// buildApp(services) returns the Fastify app: plugins (errors, OpenAPI, multipart) and the routes.
// Tests build it with their own services; main.ts builds it with the ones the settings choose.
import multipart from "@fastify/multipart";
import Fastify, { type FastifyBaseLogger } from "fastify";
import type { QaInput, QaResult } from "../chains/qa.ts";
import type { IngestPipeline, IngestReport } from "../ingest/pipeline.ts";
import type { Recipe } from "../ingest/recipe.ts";
import type { UsageTotals } from "../models/usage.ts";
import { errorsPlugin } from "./plugins/errors.ts";
import { openapiPlugin } from "./plugins/openapi.ts";
import { chainRoutes } from "./routes/chain.ts";
import { healthRoutes } from "./routes/health.ts";
import { ingestRoutes } from "./routes/ingest.ts";
import { usageRoutes } from "./routes/usage.ts";

export interface QaChainHandle {
  name: string;
  description?: string;
  invoke(input: QaInput, options?: { signal?: AbortSignal }): Promise<QaResult>;
}

export interface ReadinessCheck {
  ok: boolean;
  detail?: string;
  [extra: string]: unknown;
}

/** What the HTTP layer needs from the rest of Counsel. */
export interface AppServices {
  qaChain(name: string): QaChainHandle;
  pipeline: IngestPipeline;
  recipe: Recipe;
  readiness(): Promise<Record<string, ReadinessCheck>>;
  /** Model tokens spent since start, per model id. */
  usage(): Record<string, UsageTotals>;
  ingestS3(url: string, options?: { cleanup?: boolean; signal?: AbortSignal }): Promise<IngestReport>;
}

export interface AppOptions {
  /** A pino logger (main.ts shares one with the services); silent when absent. */
  logger?: FastifyBaseLogger;
  limits: { bodyBytes: number; uploadBytes: number; uploadFiles: number };
}

export async function buildApp(services: AppServices, options: AppOptions) {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: options.limits.bodyBytes,
    requestIdHeader: "x-request-id",
    genReqId: () => crypto.randomUUID(),
    ajv: {
      // Reject what the schema does not name, and never coerce "5" into 5: bad input is an error, not a guess.
      customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true, allowUnionTypes: true },
    },
  });
  app.decorate("services", services);

  await app.register(errorsPlugin);
  await app.register(openapiPlugin);
  await app.register(multipart, {
    limits: {
      fileSize: options.limits.uploadBytes,
      files: options.limits.uploadFiles,
      fields: 20,
      fieldSize: 64 * 1024,
      parts: options.limits.uploadFiles + 20,
    },
  });

  await app.register(healthRoutes);
  await app.register(usageRoutes);
  await app.register(chainRoutes);
  await app.register(ingestRoutes);
  return app;
}

declare module "fastify" {
  interface FastifyInstance {
    services: AppServices;
  }
}

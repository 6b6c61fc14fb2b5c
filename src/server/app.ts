// buildApp(services) returns the Fastify app: plugins (errors, OpenAPI, multipart) and the routes.
// Tests build it with their own services; main.ts builds it with the ones the settings choose.
import multipart from "@fastify/multipart";
import { fastifySSE } from "@fastify/sse";
import Fastify, { type FastifyBaseLogger, type FastifyPluginAsync } from "fastify";
import type { AdvisorChain } from "../agent/from-config.ts";
import type { KeyRing } from "../auth/api-keys.ts";
import type { ChainConfig } from "../chains/config.ts";
import type { QaChainHandle } from "../chains/qa-handle.ts";
import type { Settings } from "../config/settings.ts";
import type { StoreCheck } from "../contracts/stores.ts";
import { BadRequestError } from "../errors.ts";
import type { TurnQueue } from "../event-loop/turn-queue.ts";
import type { IngestRecord } from "../ingest/ingest-meter.ts";
import type { Recipe } from "../ingest/recipe.ts";
import type { PiiRecord } from "../ingest/transform/pii/pii-meter.ts";
import type { IngestJobs } from "../jobs/ingest-jobs.ts";
import type { CacheRecord } from "../models/cache-meter.ts";
import type { GuardrailRecord } from "../models/guardrail-meter.ts";
import type { UsageRecord, UsageTotals } from "../models/usage.ts";
import type { RedisClient } from "../store/redis-client.ts";
import type { Tenant } from "../tenants/tenant.ts";
import { DEFAULT_TENANT } from "../tenants/tenant-id.ts";
import { mcpRoutes } from "./mcp/route.ts";
import { authPlugin } from "./plugins/auth.ts";
import { consolePlugin } from "./plugins/console.ts";
import { errorsPlugin } from "./plugins/errors.ts";
import { fairTurnsPlugin } from "./plugins/fair-turns.ts";
import { metricsPlugin } from "./plugins/metrics.ts";
import { openStreamsPlugin } from "./plugins/open-streams.ts";
import { openapiPlugin } from "./plugins/openapi.ts";
import { rateLimitPlugin } from "./plugins/rate-limit.ts";
import { stallWatchdogPlugin } from "./plugins/stall-watchdog.ts";
import { streamLimitPlugin } from "./plugins/stream-limit.ts";
import { aiSdkRoutes } from "./protocols/ai-sdk/routes.ts";
import { openAIRoutes } from "./protocols/openai/routes.ts";
import { advisorRoutes } from "./routes/advisor.ts";
import { chainRoutes } from "./routes/chain.ts";
import { documentRoutes } from "./routes/documents.ts";
import { healthRoutes } from "./routes/health.ts";
import { ingestRoutes } from "./routes/ingest.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { usageRoutes } from "./routes/usage.ts";

/** What the HTTP layer needs from the rest of Counsel. */
export interface AppServices {
  /** A tenant's knowledge base, ingestion, runs, sessions and reports, opened on its first request. */
  tenant(id: string): Promise<Tenant>;
  qaChain(name: string): QaChainHandle;
  /** Every chain, for GET /chains. */
  chains: { configs: Map<string, ChainConfig>; qaChains(): QaChainHandle[] };
  recipe: Recipe;
  readiness(): Promise<Record<string, StoreCheck>>;
  /** Model tokens spent since start, per model id. */
  usage(): Record<string, UsageTotals>;
  /** Every metered model call as it happens (for /metrics). */
  onUsage?(listener: (record: UsageRecord) => void): void;
  /** Every embedding and LLM cache lookup as it happens (for /metrics). */
  onCache?(listener: (record: CacheRecord) => void): void;
  /** The documents of every ingestion job this process's workers finish (for /metrics). */
  onIngested?(listener: (record: IngestRecord) => void): void;
  /** Every request to a paid PII engine and every value redacted (for /metrics). */
  onPii?(listener: (record: PiiRecord) => void): void;
  /** Every check of a chain's guardrail (for /metrics). */
  onGuardrail?(listener: (record: GuardrailRecord) => void): void;
  /** An advisor chain; throws 404 (none), 400 (not an advisor) or 503 (no model that can call tools). */
  advisor(name: string): AdvisorChain;
  /** The process's event-loop turns (src/event-loop/turn-queue.ts), shared by fair turns and the agents. */
  turns?: TurnQueue;
  /** Ingestion as jobs (POST /ingest?async=true, /ingest/jobs); absent where a process runs none. */
  jobs?: IngestJobs;
}

export interface AppOptions {
  /** A pino logger (main.ts shares one with the services); silent when absent. */
  logger?: FastifyBaseLogger;
  limits: { bodyBytes: number; uploadBytes: number; uploadFiles: number };
  /** SSE comment heartbeats, so that proxies do not close quiet streams; 0 turns them off. */
  heartbeatMs?: number;
  /** A stream whose reader takes nothing for this long is dropped and its turn aborted. */
  stallTimeoutMs?: number;
  /** Open streams one client (API key, else address) may hold at once; more get 429. */
  maxStreamsPerClient?: number;
  /** Requests per client per minute (0: no limit), counted in this Redis when given. */
  rateLimit?: { perMinute: number; redis?: RedisClient; prefix?: string };
  /** Requests waiting for a fair turn at most (see plugins/fair-turns.ts); default 1000. */
  maxWaitingRequests?: number;
  /** Request spans (telemetry/tracing.ts), registered before everything else when tracing is on. */
  tracing?: FastifyPluginAsync;
  /** CloudWatch metrics on the log stream (Embedded Metric Format), beside GET /metrics. */
  emf?: { namespace: string; intervalMs?: number; write?: (line: string) => void };
  /** The API keys; without them every request is the default tenant with every scope. */
  keys?: KeyRing;
  /** The built console served at `/`; default web/dist. */
  consoleRoot?: string;
}

/** AppOptions from settings: limits, SSE timings, and the rate limit on the services' Redis when there is one. */
export function appOptions(
  settings: Settings,
  services: { stores: { redis?: RedisClient }; keys?: KeyRing },
  logger?: FastifyBaseLogger,
): AppOptions {
  return {
    logger,
    limits: settings.limits,
    heartbeatMs: settings.sse.heartbeatMs,
    stallTimeoutMs: settings.sse.stallTimeoutMs,
    maxStreamsPerClient: settings.sse.maxStreamsPerClient,
    keys: services.keys,
    maxWaitingRequests: settings.maxWaitingRequests,
    ...(settings.metrics.format === "emf" ? { emf: { namespace: settings.metrics.namespace } } : {}),
    rateLimit: {
      perMinute: settings.rateLimitPerMinute,
      redis: services.stores.redis,
      prefix: `${settings.redis?.prefix ?? "counsel"}:ratelimit`,
    },
  };
}

export async function buildApp(services: AppServices, options: AppOptions) {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: options.limits.bodyBytes,
    requestIdHeader: "x-request-id",
    genReqId: () => crypto.randomUUID(),
    // A document's source in a path (GET /documents/:source) is a file path or a web address, far over the
    // router's default of 100 characters (past which it answers 414 without a problem body). Each route's
    // schema bounds its own params, as a 400 problem; Node's header size limit bounds the request line.
    routerOptions: { maxParamLength: 65_536 },
    ajv: {
      // Reject what the schema does not name, and never coerce "5" into 5: bad input is an error, not a guess.
      customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true, allowUnionTypes: true },
    },
  });
  app.decorate("services", services);
  // First: it wraps the routes registered after it, to give each request its span.
  if (options.tracing) await app.register(options.tracing);
  // Fastify decodes JSON bodies leniently, replacing bytes that are not UTF-8: refuse them instead, so that
  // garbled text never reaches a model or the index.
  const parseJson = app.getDefaultJsonParser("error", "error");
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(new BadRequestError("The request body is not valid UTF-8."), undefined);
      return;
    }
    parseJson(request, text, done);
  });

  await app.register(errorsPlugin);
  // Before every route (it learns the API's paths as they are added) and before auth (the page is public).
  await app.register(consolePlugin, { root: options.consoleRoot });
  await app.register(metricsPlugin, {
    onUsage: services.onUsage?.bind(services),
    onCache: services.onCache?.bind(services),
    onIngested: services.onIngested?.bind(services),
    onPii: services.onPii?.bind(services),
    onGuardrail: services.onGuardrail?.bind(services),
    emf: options.emf,
  });
  // Before the rate limit, so that a key is counted as itself wherever it calls from.
  await app.register(authPlugin, {
    keys: options.keys,
    openTenant: DEFAULT_TENANT,
    tenant: (id) => services.tenant(id),
  });
  if (options.rateLimit) {
    await app.register(rateLimitPlugin, {
      max: options.rateLimit.perMinute,
      windowMs: 60_000,
      redis: options.rateLimit.redis,
      prefix: options.rateLimit.prefix,
    });
  }
  // After auth and the rate limit: refused requests never wait for a turn.
  await app.register(fairTurnsPlugin, {
    maxWaiting: options.maxWaitingRequests ?? 1000,
    queue: services.turns,
  });
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

  await app.register(fastifySSE, { heartbeatInterval: options.heartbeatMs ?? 15_000 });
  await app.register(streamLimitPlugin, { maxPerClient: options.maxStreamsPerClient ?? 5 });
  await app.register(stallWatchdogPlugin, { timeoutMs: options.stallTimeoutMs ?? 30_000 });
  await app.register(openStreamsPlugin);

  await app.register(healthRoutes);
  await app.register(usageRoutes);
  await app.register(chainRoutes);
  await app.register(ingestRoutes);
  await app.register(jobRoutes);
  await app.register(documentRoutes);
  await app.register(advisorRoutes);
  await app.register(aiSdkRoutes);
  await app.register(mcpRoutes);
  await app.register(openAIRoutes);
  return app;
}

declare module "fastify" {
  interface FastifyInstance {
    services: AppServices;
  }
}

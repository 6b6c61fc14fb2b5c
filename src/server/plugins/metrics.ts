// GET /metrics for Prometheus (prom-client): request latency per route, model tokens and calls, cache hits and
// misses, documents ingested, and the process's own metrics; other plugins add theirs (waiting requests, open
// streams). One registry per app, so that several apps in one process (tests, benchmarks) never share counters.
// With `emf`, the same observations also go to CloudWatch as Embedded Metric Format documents on the log stream
// (emf-reporter.ts; docs/operations.md lists the metrics).
import type { FastifyInstance } from "fastify";
import fp from "fastify-plugin";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";
import { PROBE_PATHS } from "../../contracts/probe-paths.ts";
import type { IngestRecord } from "../../ingest/ingest-meter.ts";
import type { PiiRecord } from "../../ingest/transform/pii/pii-meter.ts";
import type { CacheRecord } from "../../models/cache-meter.ts";
import type { GuardrailRecord } from "../../models/guardrail-meter.ts";
import type { UsageRecord } from "../../models/usage.ts";
import type { EmfReporter } from "./emf-reporter.ts";
import { emfIngested, reportServiceMetrics } from "./emf-service-metrics.ts";

export interface Metrics {
  registry: Registry;
  /** Documents through ingestion, by outcome (added, updated, skipped, deleted, failed). */
  ingested(status: string, count: number): void;
  /** The CloudWatch side, when METRICS_FORMAT=emf: other plugins add their gauges to it. */
  emf?: EmfReporter;
}

export interface MetricsOptions {
  /** Subscribes to every metered model call (the services' usage meter). */
  onUsage?(listener: (record: UsageRecord) => void): void;
  /** Subscribes to every lookup of the embedding and LLM caches (the services' cache meter). */
  onCache?(listener: (record: CacheRecord) => void): void;
  /** Subscribes to the documents of ingestion jobs (the route counts the requests it answers itself). */
  onIngested?(listener: (record: IngestRecord) => void): void;
  /** Subscribes to PII redaction: requests to paid engines, values redacted. */
  onPii?(listener: (record: PiiRecord) => void): void;
  /** Subscribes to every check of a chain's guardrail (ApplyGuardrail calls, offline checks). */
  onGuardrail?(listener: (record: GuardrailRecord) => void): void;
  /** Also write CloudWatch Embedded Metric Format documents to the log stream, in this namespace. */
  emf?: { namespace: string; intervalMs?: number; write?: (line: string) => void };
}

export const metricsPlugin = fp(
  async (app: FastifyInstance, options: MetricsOptions) => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: "counsel_" });
    const duration = new Histogram({
      name: "counsel_http_request_duration_seconds",
      help: "HTTP request latency by route and status",
      labelNames: ["method", "route", "status"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    const tokens = new Counter({
      name: "counsel_model_tokens_total",
      help: "Model tokens, by model and direction (input or output)",
      labelNames: ["model", "direction"],
      registers: [registry],
    });
    const calls = new Counter({
      name: "counsel_model_requests_total",
      help: "Model calls (embeddings and answers), by model and operation",
      labelNames: ["model", "operation"],
      registers: [registry],
    });
    // Hit rate in PromQL: sum by (cache) (rate(counsel_cache_requests_total{outcome="hit"}[5m]))
    //   / sum by (cache) (rate(counsel_cache_requests_total[5m]))
    const cacheRequests = new Counter({
      name: "counsel_cache_requests_total",
      help: "Cache lookups by cache (embeddings: per text, llm: per prompt) and outcome; hit rate = hits / all",
      labelNames: ["cache", "outcome"],
      registers: [registry],
    });
    const ingested = new Counter({
      name: "counsel_ingested_documents_total",
      help: "Documents through ingestion, by outcome (added, updated, skipped, deleted, failed)",
      labelNames: ["status"],
      registers: [registry],
    });
    // Loaded only when asked for: a service without EMF never maps the library.
    const emf = options.emf && new (await import("./emf-reporter.ts")).EmfReporter(options.emf);
    const metrics: Metrics = {
      registry,
      ingested(status, count) {
        ingested.inc({ status }, count);
        if (emf) emfIngested(emf, status, count);
      },
      emf,
    };
    // Jobs' documents through the same counter as the route's (which calls `ingested` itself).
    options.onIngested?.(({ outcome, count }) => metrics.ingested(outcome, count));
    if (emf) reportServiceMetrics(emf, { onUsage: options.onUsage, onCache: options.onCache });
    options.onUsage?.((record) => {
      calls.inc({ model: record.model, operation: record.operation });
      tokens.inc({ model: record.model, direction: "input" }, record.inputTokens);
      tokens.inc({ model: record.model, direction: "output" }, record.outputTokens);
    });
    if (options.onCache) {
      // Every series from the start, at 0: a rate over a series that appears only at its first hit reads as none.
      for (const cache of ["embeddings", "llm"]) {
        for (const outcome of ["hit", "miss"]) cacheRequests.inc({ cache, outcome }, 0);
      }
      options.onCache((record) =>
        cacheRequests.inc({ cache: record.cache, outcome: record.outcome }, record.count),
      );
    }
    if (options.onPii) {
      const piiRequests = new Counter({
        name: "counsel_pii_requests_total",
        help: "Requests to a paid PII engine (comprehend: DetectPiiEntities), by engine",
        labelNames: ["engine"],
        registers: [registry],
      });
      // Comprehend bills per 100 characters, at least 300 per request.
      const piiCharacters = new Counter({
        name: "counsel_pii_characters_total",
        help: "Characters sent to a paid PII engine, by engine",
        labelNames: ["engine"],
        registers: [registry],
      });
      const redacted = new Counter({
        name: "counsel_pii_redacted_total",
        help: "Values redacted at ingestion, by engine and type",
        labelNames: ["engine", "type"],
        registers: [registry],
      });
      options.onPii((record) => {
        if (record.kind === "redacted") {
          redacted.inc({ engine: record.engine, type: record.type }, record.count);
          return;
        }
        piiRequests.inc({ engine: record.engine });
        piiCharacters.inc({ engine: record.engine }, record.characters);
      });
    }
    if (options.onGuardrail) {
      // Streamed answers are checked a window at a time: calls per answer, and blocks, are what to watch.
      const guardrailRequests = new Counter({
        name: "counsel_guardrail_requests_total",
        help: "Guardrail checks (ApplyGuardrail calls, or offline), by guardrail, source (input, output) and outcome",
        labelNames: ["guardrail", "source", "outcome"],
        registers: [registry],
      });
      const guardrailUnits = new Counter({
        name: "counsel_guardrail_text_units_total",
        help: "Text units Amazon Bedrock bills for guardrail checks, by guardrail and policy",
        labelNames: ["guardrail", "policy"],
        registers: [registry],
      });
      options.onGuardrail((record) => {
        guardrailRequests.inc({
          guardrail: record.guardrail,
          source: record.source,
          outcome: record.outcome,
        });
        for (const [policy, units] of Object.entries(record.units))
          guardrailUnits.inc({ guardrail: record.guardrail, policy }, units);
      });
    }
    app.decorate("metrics", metrics);

    app.addHook("onResponse", async (request, reply) => {
      // The route's pattern, not the URL: /reports/:id is one series, not one per report.
      const route = request.routeOptions.url ?? "unmatched";
      duration.observe(
        { method: request.method, route, status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
      // Health checks and scrapes every few seconds are no traffic, and each route is a billed CloudWatch metric.
      if (!emf || PROBE_PATHS.has(route)) return;
      // Per route and service-wide, from the same values.
      const dimensions: Record<string, string>[] = [{ Method: request.method, Route: route }, {}];
      emf.observe(dimensions, "Latency", reply.elapsedTime, "Milliseconds");
      emf.add(dimensions, "Requests", 1, "Count");
      emf.add(dimensions, "Errors4xx", reply.statusCode >= 400 && reply.statusCode < 500 ? 1 : 0, "Count");
      emf.add(dimensions, "Errors5xx", reply.statusCode >= 500 ? 1 : 0, "Count");
    });
    if (emf) app.addHook("onClose", () => emf.close());

    app.get("/metrics", { schema: { hide: true } }, async (_request, reply) =>
      reply.type(registry.contentType).send(await registry.metrics()),
    );
  },
  { name: "counsel-metrics" },
);

declare module "fastify" {
  interface FastifyInstance {
    metrics: Metrics;
  }
}

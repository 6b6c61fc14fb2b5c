// OpenTelemetry traces, on when an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, and the other standard OTEL_* variables the exporter reads): a span for
// every request (@fastify/otel), and under it the retrieval, model calls, embedding batches, tool calls and agent
// turns (genai-spans.ts, traced-embeddings.ts), sent over OTLP/HTTP in batches. The AWS Distro for OpenTelemetry
// collector forwards them to X-Ray and CloudWatch; Langfuse, Jaeger and others accept OTLP as well. Without an
// endpoint nothing here is loaded, and the spans the code starts are OpenTelemetry's no-ops.
import { trace } from "@opentelemetry/api";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { FastifyPluginAsync } from "fastify";
import { PROBE_PATHS } from "../contracts/probe-paths.ts";

export interface TracingOptions {
  /** `service.name` of every span (OTEL_SERVICE_NAME, else counsel). */
  serviceName: string;
  serviceVersion?: string;
  /** Where spans go: OTLP/HTTP from the environment's settings by default; tests give an in-memory exporter. */
  exporter?: SpanExporter;
  /** Send each span as it ends rather than in batches (tests). */
  immediate?: boolean;
}

export interface Tracing {
  /** Registers the request spans on an app: before its routes and other plugins. */
  fastifyPlugin: FastifyPluginAsync;
  /** Sends the spans still buffered and stops. */
  shutdown(): Promise<void>;
}

const HANDLER_SWITCH = "COUNSEL_GENAI_SPANS";
/** LangChain keeps its hooks for the process: registered once, whatever the tracer behind it. */
let hookRegistered = false;

/** Starts the process's tracer provider (global: one per process) and the LangChain callback that feeds it. */
export async function startTracing(options: TracingOptions): Promise<Tracing> {
  const [{ NodeTracerProvider }, base, { resourceFromAttributes }, semconv, { FastifyOtelInstrumentation }] =
    await Promise.all([
      import("@opentelemetry/sdk-trace-node"),
      import("@opentelemetry/sdk-trace-base"),
      import("@opentelemetry/resources"),
      import("@opentelemetry/semantic-conventions"),
      import("@fastify/otel"),
    ]);
  const exporter =
    options.exporter ?? new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter();
  const processor = options.immediate
    ? new base.SimpleSpanProcessor(exporter)
    : new base.BatchSpanProcessor(exporter);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [semconv.ATTR_SERVICE_NAME]: options.serviceName,
      ...(options.serviceVersion ? { [semconv.ATTR_SERVICE_VERSION]: options.serviceVersion } : {}),
    }),
    spanProcessors: [processor],
  });
  // Global: the tracer, the AsyncLocalStorage context that makes a request's span the parent of what it calls,
  // and W3C trace context for incoming and outgoing headers.
  provider.register();

  const { registerConfigureHook } = await import("@langchain/core/context");
  const { GenAiSpans } = await import("./genai-spans.ts");
  // A global handler, as LangSmith's tracer is one: while the variable says so, LangChain gives every top-level
  // run a GenAiSpans, which its child runs inherit (one per run tree: it keeps that tree's open spans).
  if (!hookRegistered) registerConfigureHook({ handlerClass: GenAiSpans, envVar: HANDLER_SWITCH });
  hookRegistered = true;
  process.env[HANDLER_SWITCH] = "true";

  const instrumentation = new FastifyOtelInstrumentation({
    // A span for each request and its handler, not one for each of the service's many hooks.
    instrumentHooks: false,
    // The load balancer's health checks, every few seconds, are not worth a trace each.
    ignorePaths: ({ url }) => PROBE_PATHS.has(url),
  });
  instrumentation.setTracerProvider(provider);
  return {
    fastifyPlugin: instrumentation.plugin() as unknown as FastifyPluginAsync,
    async shutdown() {
      process.env[HANDLER_SWITCH] = "false";
      await provider.shutdown();
      trace.disable();
    },
  };
}

// Starts the service: settings → services → (examples) → HTTP server, with a graceful stop on SIGINT/SIGTERM.
// Used by `npm start` (src/main.ts) and `counsel serve`.
import { existsSync } from "node:fs";
import { pino } from "pino";
import { applyHeapGrowth } from "./config/heap-growth.ts";
import { loadSettings } from "./config/settings.ts";
import { appOptions, buildApp } from "./server/app.ts";
import { createServices } from "./services/services.ts";

export async function serve(): Promise<void> {
  if (existsSync(".env")) process.loadEnvFile(".env");
  const settings = loadSettings();
  applyHeapGrowth(settings.heapGrowingPercent);
  const logger = pino({ level: settings.logLevel });
  // Before the services and the app: the tracer must be the global one when they make their spans.
  const tracing = settings.tracing.enabled
    ? await (await import("./telemetry/tracing.ts")).startTracing({
        serviceName: settings.tracing.serviceName,
      })
    : undefined;
  const services = await createServices(settings, {
    info: (message) => logger.info(message),
    warn: (message) => logger.warn(message),
  });
  const app = await buildApp(services, {
    ...appOptions(settings, services, logger),
    ...(tracing ? { tracing: tracing.fastifyPlugin } : {}),
  });
  if (services.keys) {
    app.log.info(`API keys: ${services.keys.size} in ${services.keys.file}`);
  } else {
    app.log.warn(
      "AUTHENTICATION IS OFF: there is no API keys file, so anyone who can reach this port may query, chat, " +
        `ingest and administer as tenant "default". Fine on a laptop; before exposing the service, create keys ` +
        "with `npx counsel keys create --tenant <id> --scopes query,chat` and restart.",
    );
  }

  if (settings.loadExamples) {
    const report = await services.loadExamples();
    app.log.info({ examples: report }, `examples: ${report.added} added, ${report.skipped} unchanged`);
  }

  // The process runs ingestion jobs itself unless told not to (INGEST_WORKERS=0: `counsel worker` processes do).
  if (settings.ingestJobs.workers > 0) {
    await services.jobs.startWorker(settings.ingestJobs.workers);
    app.log.info(`ingestion worker: ${settings.ingestJobs.workers} job(s) at once`);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info(`${signal}: closing`);
    await app.close(); // stops accepting, lets in-flight requests finish
    await services.close(); // saves the store and the records
    await tracing?.shutdown(); // sends the spans still buffered
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));

  await app.listen({ port: settings.port, host: settings.host });
  // After listening: the start waits for none of it, and a failure only leaves the first such request slower.
  services.warmUp().catch((error: unknown) => app.log.warn({ err: error }, "warm-up failed"));
}

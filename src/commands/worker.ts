// `counsel worker`: a process that runs ingestion jobs and nothing else, beside the service or on other machines
// sharing its Redis (BullMQ). SIGINT/SIGTERM stop it gracefully: its running jobs finish within the grace period,
// or go back to the queue for another worker.
import { Command, InvalidArgumentError } from "commander";
import type { Settings } from "../config/settings.ts";
import type { MeteredServices } from "../server/plugins/emf-service-metrics.ts";

export interface WorkerCommandDeps {
  loadEnv(): Promise<Settings>;
}

export function workerCommand(deps: WorkerCommandDeps): Command {
  return new Command("worker")
    .description("run ingestion jobs from the queue (POST /ingest?async=true) until stopped")
    .option("-c, --concurrency <n>", "jobs at once (default: INGEST_WORKERS, at least 1)", positive)
    .option("--grace <seconds>", "on SIGTERM, how long running jobs may take to finish", positive, 30)
    .action(async (options: { concurrency?: number; grace: number }) => {
      const settings = await deps.loadEnv();
      if (!settings.redis) {
        console.error(
          "counsel worker: without REDIS_URL the job queue lives in the service process (DATA_DIR), which runs " +
            "its own worker: set REDIS_URL to run workers of their own.",
        );
        process.exitCode = 2;
        return;
      }
      const { createServices } = await import("../services/services.ts");
      const services = await createServices(settings);
      // The worker's own CloudWatch metrics (METRICS_FORMAT=emf): what it ingests, fails and spends on models.
      const emf = settings.metrics.format === "emf" ? await workerMetrics(settings, services) : undefined;
      const concurrency = options.concurrency ?? Math.max(1, settings.ingestJobs.workers);
      await services.jobs.startWorker(concurrency);
      console.error(`counsel worker: taking ingestion jobs, ${concurrency} at once`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          console.error(`counsel worker: ${signal}: finishing running jobs (at most ${options.grace} s)`);
          void services.jobs
            .close(options.grace * 1000)
            .then(() => services.close())
            .then(() => emf?.close())
            .finally(resolve);
        };
        process.once("SIGINT", () => stop("SIGINT"));
        process.once("SIGTERM", () => stop("SIGTERM"));
      });
    });
}

async function workerMetrics(settings: Settings, services: MeteredServices) {
  const [{ EmfReporter }, { reportServiceMetrics }] = await Promise.all([
    import("../server/plugins/emf-reporter.ts"),
    import("../server/plugins/emf-service-metrics.ts"),
  ]);
  const emf = new EmfReporter({ namespace: settings.metrics.namespace });
  reportServiceMetrics(emf, services);
  return emf;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("a whole number, 1 or more");
  return n;
}

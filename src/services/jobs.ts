// Which ingestion queue runs: BullMQ on the Redis that holds the knowledge base (any number of worker processes
// on any machine share it), else an in-process queue persisted under DATA_DIR; uploads wait for their job in
// the same place. A part of the composition root; BullMQ and the Redis stash are imported only with Redis.
import path from "node:path";
import { LocalFileStore } from "@langchain/classic/storage/file_system";
import type { BaseStore } from "@langchain/core/stores";
import type { Settings } from "../config/settings.ts";
import type { Logger } from "../contracts/stores.ts";
import type { IngestMeter } from "../ingest/ingest-meter.ts";
import { type IngestJobs, jobHooks, uploadRemover, uploadStasher } from "../jobs/ingest-jobs.ts";
import { LocalJobQueue } from "../jobs/local-queue.ts";
import type { JobQueue, JobRunner } from "../jobs/queue.ts";
import { ingestionRunner } from "../jobs/run-job.ts";
import type { DataFiles } from "../store/at-rest/data-files.ts";
import { plainFiles } from "../store/at-rest/plain-files.ts";
import { sealedByteStore } from "../store/at-rest/sealed-byte-store.ts";
import type { Tenant } from "../tenants/tenant.ts";
import type { Stores } from "./tenant-stores.ts";

/** An upload waits this long for its job at most (Redis): a job not run by then fails, saying so. */
const UPLOAD_TTL_SECONDS = 7 * 24 * 3600;

export interface JobServices extends IngestJobs {
  /** Starts this process's worker with `concurrency` jobs at once (INGEST_WORKERS, or `counsel worker`). */
  startWorker(concurrency: number): Promise<void>;
  close(graceMs?: number): Promise<void>;
}

export async function openJobs(
  settings: Settings,
  stores: Stores,
  tenant: (id: string) => Promise<Tenant>,
  log: Logger,
  meter?: IngestMeter,
  /** How DATA_DIR's job files and uploads are kept (without Redis): sealed when DATA_DIR is encrypted. */
  files: DataFiles = plainFiles,
): Promise<JobServices> {
  const { ingestJobs } = settings;
  let stash: BaseStore<string, Uint8Array>;
  let queue: JobQueue;
  if (stores.redis && settings.redis) {
    const [{ RedisByteStore }, { BullJobQueue }] = await Promise.all([
      import("../store/redis-byte-store.ts"),
      import("../jobs/bullmq-queue.ts"),
    ]);
    const prefix = settings.redis.prefix;
    stash = new RedisByteStore({
      client: stores.redis,
      prefix: `${prefix}:jobs:upload`,
      ttlSeconds: UPLOAD_TTL_SECONDS,
    });
    queue = await BullJobQueue.open({
      redis: settings.redis,
      retry: ingestJobs.retry,
      lockMs: ingestJobs.lockMs,
      ...jobHooks({ tenant, stash }),
      log,
    });
  } else {
    const dir = path.join(settings.dataDir, "jobs");
    stash = sealedByteStore(await LocalFileStore.fromPath(path.join(dir, "uploads")), files);
    queue = await LocalJobQueue.open({ dir, files, retry: ingestJobs.retry, ...jobHooks({ tenant, stash }) });
  }
  const run = logged(ingestionRunner({ tenant, stash }), log, meter);
  let closing: Promise<void> | undefined;
  return {
    queue,
    asyncBytes: ingestJobs.asyncBytes,
    stashUpload: uploadStasher(stash),
    unstash: uploadRemover(stash),
    startWorker: (concurrency) => queue.startWorker({ concurrency, run }),
    // Once: `counsel worker` closes the jobs on a signal, then the services (which close them too).
    close: (graceMs) => {
      closing ??= queue.close(graceMs);
      return closing;
    },
  };
}

/**
 * Each job a worker takes and how it ended, in the process's log (which worker ran what, for operators), and its
 * documents counted once it ends with a report (an attempt that will be retried is not counted).
 */
function logged(run: JobRunner, log: Logger, meter?: IngestMeter): JobRunner {
  return async (job, context) => {
    const what = `ingestion job ${job.id} (tenant ${job.input.tenant}, attempt ${job.attempt})`;
    log.info(`${what}: started`);
    const started = Date.now();
    try {
      const report = await run(job, context);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      log.info(
        `${what}: done in ${seconds} s: ${report.added} added, ${report.updated} updated, ` +
          `${report.skipped} skipped, ${report.failed.length} failed`,
      );
      meter?.record(report);
      return report;
    } catch (error) {
      log.warn(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  };
}

// The ingestion queue without Redis: jobs kept in this process and persisted under DATA_DIR/jobs (one JSON file
// per job, replaced atomically), so that a restart finds them: a job that was queued or running is queued again
// and runs from its start (documents it had indexed are skipped as unchanged). Written by hand because a
// persisted in-process queue is a few dozen lines over atomic files, where a library would bring its own store.
import { EventEmitter } from "node:events";
import { mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { ConflictError } from "../errors.ts";
import type { DataFiles } from "../store/at-rest/data-files.ts";
import { plainFiles } from "../store/at-rest/plain-files.ts";
import {
  FINISHED,
  type JobInput,
  type JobQueue,
  type JobState,
  type JobView,
  jobSequence,
  submittedProgress,
  type WorkerOptions,
} from "./queue.ts";
import { type RetryPolicy, retryDelay } from "./retry.ts";
import { RetryableJobError } from "./run-job.ts";

interface StoredJob {
  input: JobInput;
  view: JobView;
  /** Not before this time (ms since the epoch): a retry's backoff. */
  runAfter?: number;
}

export interface LocalJobQueueOptions {
  /** DATA_DIR/jobs. */
  dir: string;
  /** How the job files are read and written: plainly by default, or sealed (DATA_KMS_KEY_ID). */
  files?: DataFiles;
  retry: RetryPolicy;
  /** Called with a job's id before it can run (its documents enter `queued`). */
  onSubmit?: (id: string, input: JobInput) => Promise<void>;
  /** Called once a job has ended, whichever way (its stashed uploads are removed). */
  onEnd?: (id: string, input: JobInput) => Promise<void>;
  /** Ended jobs older than this are forgotten at start-up; default 7 days. */
  keepMs?: number;
}

export class LocalJobQueue implements JobQueue {
  private readonly jobs = new Map<string, StoredJob>();
  private readonly events = new EventEmitter();
  private readonly running = new Map<string, AbortController>();
  private readonly active = new Set<Promise<void>>();
  private worker?: WorkerOptions;
  private lastId = 0;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private readonly files: DataFiles;

  private constructor(private readonly options: LocalJobQueueOptions) {
    this.events.setMaxListeners(0);
    this.files = options.files ?? plainFiles;
  }

  static async open(options: LocalJobQueueOptions): Promise<LocalJobQueue> {
    const queue = new LocalJobQueue(options);
    await queue.load();
    return queue;
  }

  private async load(): Promise<void> {
    await mkdir(this.options.dir, { recursive: true });
    const keepMs = this.options.keepMs ?? 7 * 24 * 3600_000;
    for (const file of await readdir(this.options.dir)) {
      const match = /^j(\d+)\.json$/.exec(file);
      if (!match) continue;
      this.lastId = Math.max(this.lastId, Number(match[1]));
      const raw = await this.files.readFile(path.join(this.options.dir, file));
      const job = JSON.parse(raw.toString("utf8")) as StoredJob;
      const ended = job.view.finishedAt ? Date.parse(job.view.finishedAt) : undefined;
      if (ended !== undefined && Date.now() - ended > keepMs) {
        await rm(path.join(this.options.dir, file), { force: true });
        continue;
      }
      // A job the last process was running did not finish: it runs again.
      if (job.view.state === "running") job.view.state = "queued";
      this.jobs.set(job.view.id, job);
    }
  }

  async submit(input: JobInput): Promise<JobView> {
    const id = `j${++this.lastId}`;
    const view: JobView = {
      id,
      tenant: input.tenant,
      state: "queued",
      createdAt: new Date().toISOString(),
      attempts: 0,
      progress: submittedProgress(input),
    };
    const job: StoredJob = { input, view };
    await this.options.onSubmit?.(id, input);
    await this.save(job);
    this.jobs.set(id, job);
    const submitted = structuredClone(view); // as submitted: a worker may take it at once
    this.pump();
    return submitted;
  }

  async get(tenant: string, id: string): Promise<JobView | undefined> {
    const job = this.jobs.get(id);
    return job && job.view.tenant === tenant ? structuredClone(job.view) : undefined;
  }

  async list(tenant: string, options: { state?: JobState; limit: number }): Promise<JobView[]> {
    return [...this.jobs.values()]
      .map((job) => job.view)
      .filter((view) => view.tenant === tenant && (!options.state || view.state === options.state))
      .sort((a, b) => jobSequence(b.id) - jobSequence(a.id))
      .slice(0, options.limit)
      .map((view) => structuredClone(view));
  }

  async cancel(tenant: string, id: string): Promise<JobView | undefined> {
    const job = this.jobs.get(id);
    if (!job || job.view.tenant !== tenant) return undefined;
    if (FINISHED.has(job.view.state)) {
      throw new ConflictError(`Job ${id} has already ended (${job.view.state}): there is nothing to cancel.`);
    }
    const controller = this.running.get(id);
    if (controller) {
      // The runner stops before its next document and the job ends as cancelled (see run()).
      controller.abort(new Error("cancelled"));
    } else {
      await this.finish(job, "cancelled", {
        error: { code: "cancelled", message: "Cancelled before it ran." },
      });
    }
    return structuredClone(job.view);
  }

  watch(tenant: string, id: string, listener: (view: JobView) => void): () => void {
    const job = this.jobs.get(id);
    if (!job || job.view.tenant !== tenant) return () => undefined;
    const forward = (view: JobView) => listener(structuredClone(view));
    this.events.on(id, forward);
    return () => this.events.off(id, forward);
  }

  async startWorker(options: WorkerOptions): Promise<void> {
    this.worker = options;
    this.pump();
  }

  async close(graceMs = 10_000): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    const finished = Promise.allSettled([...this.active]);
    const late = await Promise.race([
      finished.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), graceMs).unref()),
    ]);
    if (late) {
      // Not finished in time: stopped, and left queued for the next start (their files still say running).
      for (const controller of this.running.values()) controller.abort(new Error("shutdown"));
      await finished;
    }
  }

  /** Starts queued jobs while the worker has room; wakes itself for the next retry. */
  private pump(): void {
    const worker = this.worker;
    if (!worker || this.closed) return;
    clearTimeout(this.timer);
    const now = Date.now();
    const waiting = [...this.jobs.values()]
      .filter((job) => job.view.state === "queued" && !this.running.has(job.view.id))
      .sort((a, b) => jobSequence(a.view.id) - jobSequence(b.view.id));
    for (const job of waiting) {
      if (this.running.size >= worker.concurrency) break;
      if (job.runAfter !== undefined && job.runAfter > now) continue;
      const task = this.run(job, worker).finally(() => {
        this.active.delete(task);
        this.pump();
      });
      this.active.add(task);
    }
    const next = Math.min(...waiting.map((job) => job.runAfter ?? Number.POSITIVE_INFINITY));
    if (Number.isFinite(next) && this.running.size < worker.concurrency) {
      this.timer = setTimeout(() => this.pump(), Math.max(0, next - now)).unref();
    }
  }

  private async run(job: StoredJob, worker: WorkerOptions): Promise<void> {
    const controller = new AbortController();
    this.running.set(job.view.id, controller);
    job.view.state = "running";
    job.view.attempts += 1;
    job.view.startedAt = new Date().toISOString();
    job.runAfter = undefined;
    await this.save(job);
    this.events.emit(job.view.id, job.view);
    try {
      // Cancelled (or shut down) while its file was saved: a runner handed an aborted signal would wait for an
      // abort event that has already fired.
      controller.signal.throwIfAborted();
      const report = await worker.run(
        { id: job.view.id, input: job.input, attempt: job.view.attempts },
        {
          signal: controller.signal,
          onProgress: (progress) => {
            job.view.progress = progress;
            this.events.emit(job.view.id, job.view);
          },
        },
      );
      await this.finish(job, "completed", { report });
    } catch (error) {
      await this.failed(job, error, controller.signal);
    } finally {
      this.running.delete(job.view.id);
    }
  }

  private async failed(job: StoredJob, error: unknown, signal: AbortSignal): Promise<void> {
    if (signal.aborted && this.closed) return; // shutdown: left for the next start
    if (signal.aborted) {
      await this.finish(job, "cancelled", {
        error: { code: "cancelled", message: "Cancelled while running; documents it had indexed stay." },
      });
      return;
    }
    const report = error instanceof RetryableJobError ? error.report : undefined;
    const message = error instanceof Error ? error.message : String(error);
    const delay = retryDelay(this.options.retry, job.view.attempts, error);
    if (delay !== undefined) {
      job.view.state = "queued";
      job.view.error = { code: "retrying", message };
      job.runAfter = Date.now() + delay;
      await this.save(job);
      this.events.emit(job.view.id, job.view);
      return;
    }
    await this.finish(job, "failed", { report, error: { code: codeOf(error), message } });
  }

  private async finish(
    job: StoredJob,
    state: JobState,
    outcome: { report?: JobView["report"]; error?: JobView["error"] },
  ): Promise<void> {
    job.view.state = state;
    job.view.finishedAt = new Date().toISOString();
    if (outcome.report) job.view.report = outcome.report;
    if (outcome.error) job.view.error = outcome.error;
    else delete job.view.error;
    await this.save(job);
    this.events.emit(job.view.id, job.view);
    await this.options.onEnd?.(job.view.id, job.input);
  }

  private async save(job: StoredJob): Promise<void> {
    await this.files.writeFileAtomic(path.join(this.options.dir, `${job.view.id}.json`), JSON.stringify(job));
  }
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" ? code : "ingest_failed";
}

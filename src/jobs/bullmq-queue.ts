// The ingestion queue on Redis, with BullMQ: any number of workers (the service's own, `counsel worker`
// processes on other machines) take jobs from one queue; a worker that dies mid-job stops renewing its lock and
// the job goes to another (BullMQ's stalled-job check); a job whose documents a service kept failing is retried
// with an exponential backoff, and lands in the failed set (the dead letters) after its last attempt. All of the
// queue's keys share the hash tag {jobs}, as BullMQ needs on a Redis Cluster.
import { EventEmitter } from "node:events";
import {
  type ConnectionOptions,
  type Job,
  Queue,
  QueueEvents,
  UnrecoverableError,
  WaitingError,
  Worker,
} from "bullmq";
import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { Logger } from "../contracts/stores.ts";
import { ConflictError } from "../errors.ts";
import {
  FINISHED,
  type JobInput,
  type JobProgress,
  type JobQueue,
  type JobState,
  type JobView,
  jobSequence,
  submittedProgress,
  type WorkerOptions,
} from "./queue.ts";
import type { RetryPolicy } from "./retry.ts";
import { isRetryable } from "./retry.ts";
import { RetryableJobError } from "./run-job.ts";

const QUEUE = "ingest";
/** A cancelled job's failedReason, which tells it from a failure. */
const CANCELLED = "cancelled";
const DAY_SECONDS = 24 * 3600;

export interface BullJobQueueOptions {
  redis: { url: string; prefix: string; cluster: boolean; clusterNodes: string[] };
  retry: RetryPolicy;
  /** A worker that stops renewing its job's lock this long loses the job to another. */
  lockMs: number;
  onSubmit?: (id: string, input: JobInput) => Promise<void>;
  onEnd?: (id: string, input: JobInput) => Promise<void>;
  log: Logger;
}

/** What a job keeps as its progress: how far it got, and its last report (for a job that failed in the end). */
interface StoredProgress {
  progress?: JobProgress;
  report?: JobView["report"];
}

export class BullJobQueue implements JobQueue {
  private readonly queue: Queue<JobInput>;
  private readonly prefix: string;
  private readonly connections: (Redis | Cluster)[] = [];
  private events?: QueueEvents;
  private readonly local = new EventEmitter();
  private worker?: Worker<JobInput>;
  private cancelPoll?: NodeJS.Timeout;
  private readonly controllers = new Map<string, AbortController>();

  private constructor(private readonly options: BullJobQueueOptions) {
    this.prefix = `${options.redis.prefix}:{jobs}`;
    this.queue = new Queue<JobInput>(QUEUE, { connection: this.connect(), prefix: this.prefix });
    this.local.setMaxListeners(0);
  }

  static async open(options: BullJobQueueOptions): Promise<BullJobQueue> {
    const queue = new BullJobQueue(options);
    await queue.queue.waitUntilReady();
    return queue;
  }

  /** A new ioredis connection to the Redis (or cluster) of the settings; BullMQ's blocking reads need their own. */
  private connect(): Redis | Cluster {
    const { url, cluster, clusterNodes } = this.options.redis;
    const parsed = new URL(url);
    const auth: RedisOptions = {
      ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
      ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
      ...(parsed.protocol === "rediss:" ? { tls: {} } : {}),
      // BullMQ's workers wait on blocking commands: retry for ever rather than fail a command mid-way.
      maxRetriesPerRequest: null,
    };
    const connection = cluster
      ? new Cluster(
          [parsed.host, ...clusterNodes].map((node) => {
            const [host, port] = node.split(":");
            return { host, port: Number(port || 6379) };
          }),
          { redisOptions: auth, dnsLookup: (address, callback) => callback(null, address) },
        )
      : new Redis(url, auth);
    connection.on("error", () => undefined); // reconnects by itself; a job's own calls report their failures
    this.connections.push(connection);
    return connection;
  }

  async submit(input: JobInput): Promise<JobView> {
    const client = await this.queue.client;
    // BullMQ refuses integer custom ids: ours are "j" and a sequence number, in order of submission.
    const id = `j${await client.incr(`${this.prefix}:${QUEUE}:seq`)}`;
    await this.options.onSubmit?.(id, input);
    const { attempts, backoffMs } = this.options.retry;
    const job = await this.queue.add(QUEUE, input, {
      jobId: id,
      attempts,
      backoff: { type: "exponential", delay: backoffMs },
      removeOnComplete: { age: 7 * DAY_SECONDS },
      removeOnFail: { age: 30 * DAY_SECONDS },
    });
    return viewOf(job, "queued");
  }

  async get(tenant: string, id: string): Promise<JobView | undefined> {
    const job = await this.queue.getJob(id);
    if (job && job.data.tenant === tenant) return currentView(this.queue, job);
    const tombstone = await (await this.queue.client).get(this.tombstoneKey(id));
    const view = tombstone ? (JSON.parse(tombstone) as JobView) : undefined;
    return view?.tenant === tenant ? view : undefined;
  }

  async list(tenant: string, options: { state?: JobState; limit: number }): Promise<JobView[]> {
    const types = {
      queued: ["waiting", "delayed", "prioritized"],
      running: ["active"],
      completed: ["completed"],
      failed: ["failed"],
      cancelled: ["failed"],
    } as const;
    const wanted = options.state
      ? [...types[options.state]]
      : ["waiting", "delayed", "prioritized", "active", "completed", "failed"];
    // Newest first across states; a tenant's share of the last thousand jobs.
    const jobs = await this.queue.getJobs(wanted as never, 0, 999);
    const views: JobView[] = [];
    for (const job of jobs) {
      if (!job || job.data.tenant !== tenant) continue;
      const view = await currentView(this.queue, job);
      if (!options.state || view.state === options.state) views.push(view);
    }
    return views.sort((a, b) => jobSequence(b.id) - jobSequence(a.id)).slice(0, options.limit);
  }

  async cancel(tenant: string, id: string): Promise<JobView | undefined> {
    const current = await this.get(tenant, id);
    if (!current) return undefined;
    if (FINISHED.has(current.state)) {
      throw new ConflictError(`Job ${id} has already ended (${current.state}): there is nothing to cancel.`);
    }
    const client = await this.queue.client;
    const job = await this.queue.getJob(id);
    if (job && current.state === "queued") {
      // Not taken by a worker yet: out of the queue, with a tombstone that shows it cancelled.
      const removed = await job
        .remove()
        .then(() => true)
        .catch(() => false); // taken meanwhile (locked): cancel it as a running job
      if (removed) {
        const view: JobView = {
          ...current,
          state: "cancelled",
          finishedAt: new Date().toISOString(),
          error: { code: CANCELLED, message: "Cancelled before it ran." },
        };
        await client.set(this.tombstoneKey(id), JSON.stringify(view), "EX", 30 * DAY_SECONDS);
        await this.options.onEnd?.(id, job.data);
        this.local.emit(id);
        return view;
      }
    }
    // Running (on this or another worker): its worker sees the flag within half a second and stops.
    await client.set(this.cancelKey(id), "1", "EX", DAY_SECONDS);
    this.controllers.get(id)?.abort(new Error(CANCELLED));
    return current;
  }

  watch(tenant: string, id: string, listener: (view: JobView) => void): () => void {
    const events = this.queueEvents();
    const refresh = (event: { jobId: string }) => {
      if (event.jobId !== id) return;
      void this.get(tenant, id).then((view) => view && listener(view));
    };
    const local = () => refresh({ jobId: id });
    const names = ["progress", "active", "waiting", "delayed", "completed", "failed", "removed"] as const;
    for (const name of names) events.on(name, refresh as never);
    this.local.on(id, local);
    return () => {
      for (const name of names) events.off(name, refresh as never);
      this.local.off(id, local);
    };
  }

  private queueEvents(): QueueEvents {
    this.events ??= new QueueEvents(QUEUE, { connection: this.connect(), prefix: this.prefix });
    return this.events;
  }

  async startWorker(options: WorkerOptions): Promise<void> {
    this.worker = new Worker<JobInput>(QUEUE, (job, token) => this.process(job, token, options), {
      connection: this.connect() as ConnectionOptions,
      prefix: this.prefix,
      concurrency: options.concurrency,
      lockDuration: this.options.lockMs,
      stalledInterval: this.options.lockMs,
      // A job whose worker died is taken by another; one that kills every worker it meets fails in the end.
      maxStalledCount: this.options.retry.attempts,
    });
    this.worker.on("error", (error) => this.options.log.warn(`ingestion worker: ${error.message}`));
    this.cancelPoll = setInterval(() => void this.pollCancels(), 500).unref();
    await this.worker.waitUntilReady();
  }

  /** Aborts this worker's jobs that were cancelled from anywhere. */
  private async pollCancels(): Promise<void> {
    if (this.controllers.size === 0) return;
    const client = await this.queue.client;
    for (const [id, controller] of this.controllers) {
      if (await client.exists(this.cancelKey(id)).catch(() => 0)) controller.abort(new Error(CANCELLED));
    }
  }

  private async process(job: Job<JobInput>, token: string | undefined, worker: WorkerOptions) {
    const id = job.id as string;
    const controller = new AbortController();
    this.controllers.set(id, controller);
    const client = await this.queue.client;
    try {
      if (await client.exists(this.cancelKey(id))) controller.abort(new Error(CANCELLED));
      const report = await worker.run(
        { id, input: job.data, attempt: job.attemptsMade + 1 },
        {
          signal: controller.signal,
          onProgress: (progress) => void job.updateProgress({ progress } satisfies StoredProgress),
        },
      );
      await this.options.onEnd?.(id, job.data);
      return report;
    } catch (error) {
      const reason = (controller.signal.reason as Error | undefined)?.message;
      if (reason === "shutdown" && token) {
        // Stopped by a shutdown that could not wait: back to the queue, not counted as an attempt.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      if (reason === CANCELLED) {
        await this.options.onEnd?.(id, job.data);
        throw new UnrecoverableError(CANCELLED);
      }
      if (error instanceof RetryableJobError) {
        const stored = (job.progress ?? {}) as StoredProgress;
        await job.updateProgress({ ...stored, report: error.report } satisfies StoredProgress);
      }
      const last = !isRetryable(error) || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (last) await this.options.onEnd?.(id, job.data);
      throw isRetryable(error) ? error : new UnrecoverableError((error as Error).message);
    } finally {
      this.controllers.delete(id);
    }
  }

  async close(graceMs = 10_000): Promise<void> {
    clearInterval(this.cancelPoll);
    if (this.worker) {
      const closing = this.worker.close();
      const timer = setTimeout(() => {
        for (const controller of this.controllers.values()) controller.abort(new Error("shutdown"));
      }, graceMs);
      await closing;
      clearTimeout(timer);
    }
    await this.events?.close();
    await this.queue.close();
    for (const connection of this.connections) connection.disconnect();
  }

  private cancelKey(id: string): string {
    return `${this.prefix}:${QUEUE}:cancel:${id}`;
  }

  private tombstoneKey(id: string): string {
    return `${this.prefix}:${QUEUE}:cancelled:${id}`;
  }
}

/**
 * A job's view with its state now. The job's hash and its state are two reads: a job that ended between them
 * reads back as ended without its result (BullMQ writes the result, the end time and the state in one script), so
 * such a job is read again.
 */
export async function currentView(queue: Queue<JobInput>, job: Job<JobInput>): Promise<JobView> {
  const state = await job.getState();
  if ((state === "completed" || state === "failed") && !job.finishedOn) {
    const fresh = await queue.getJob(job.id as string);
    if (fresh) return viewOf(fresh, state);
  }
  return viewOf(job, state);
}

function viewOf(job: Job<JobInput>, bullState: string): JobView {
  const stored = (typeof job.progress === "object" ? job.progress : {}) as StoredProgress;
  const failed = bullState === "failed";
  const state: JobState =
    bullState === "completed"
      ? "completed"
      : failed
        ? job.failedReason === CANCELLED
          ? "cancelled"
          : "failed"
        : bullState === "active"
          ? "running"
          : "queued";
  const report = state === "completed" ? job.returnvalue : stored.report;
  const view: JobView = {
    id: job.id as string,
    tenant: job.data.tenant,
    state,
    createdAt: new Date(job.timestamp).toISOString(),
    attempts: job.attemptsStarted ?? job.attemptsMade,
    progress: stored.progress ?? submittedProgress(job.data),
    ...(job.processedOn ? { startedAt: new Date(job.processedOn).toISOString() } : {}),
    ...(job.finishedOn && FINISHED.has(state) ? { finishedAt: new Date(job.finishedOn).toISOString() } : {}),
    ...(report ? { report } : {}),
  };
  if (state === "cancelled") view.error = { code: CANCELLED, message: "Cancelled while running." };
  else if (failed) view.error = { code: "ingest_failed", message: job.failedReason };
  else if (state === "queued" && job.failedReason)
    view.error = { code: "retrying", message: job.failedReason };
  return view;
}

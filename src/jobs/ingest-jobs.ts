// Ingestion as jobs, as the routes and the CLI use it: uploads stashed where every worker can read them (DATA_DIR
// without Redis, Redis with it), a job's documents marked `queued` before it can run, its stash removed once it
// ends, and the size past which POST /ingest runs as a job whatever the caller asked.
import { randomUUID } from "node:crypto";
import type { BaseStore } from "@langchain/core/stores";
import type { SourceBlob } from "../ingest/sources/blob.ts";
import type { Tenant } from "../tenants/tenant.ts";
import type { JobInput, JobItem, JobQueue } from "./queue.ts";
import { clearQueued, queuedSources } from "./run-job.ts";

export interface IngestJobs {
  queue: JobQueue;
  /** A request whose documents add up to more bytes than this runs as a job. */
  asyncBytes: number;
  /** Keeps an upload until its job has run; returns the job item that names it. */
  stashUpload(blob: SourceBlob): Promise<JobItem>;
  /** Removes stashed uploads that no job will run (their request failed before it was queued). */
  unstash(items: JobItem[]): Promise<void>;
}

/** The hooks a queue calls around a job: documents queued before it can run, uploads removed once it ends. */
export function jobHooks(deps: {
  tenant(id: string): Promise<Tenant>;
  stash: BaseStore<string, Uint8Array>;
}) {
  return {
    async onSubmit(id: string, input: JobInput): Promise<void> {
      const { statuses } = await deps.tenant(input.tenant);
      const updatedAt = Date.now();
      await statuses.setMany(
        queuedSources(input).map(({ source, name }) => ({
          source,
          name,
          status: "queued" as const,
          jobId: id,
          updatedAt,
        })),
      );
    },
    async onEnd(id: string, input: JobInput): Promise<void> {
      await clearQueued((await deps.tenant(input.tenant)).statuses, input, id);
      await uploadRemover(deps.stash)(input.items);
    },
  };
}

export function uploadRemover(stash: BaseStore<string, Uint8Array>) {
  return async (items: JobItem[]): Promise<void> => {
    const keys = items.flatMap((item) => (item.kind === "upload" ? [item.stash] : []));
    if (keys.length > 0) await stash.mdelete(keys);
  };
}

export function uploadStasher(stash: BaseStore<string, Uint8Array>) {
  return async (blob: SourceBlob): Promise<JobItem> => {
    const key = randomUUID();
    await stash.mset([[key, blob.data]]);
    return {
      kind: "upload",
      name: blob.name,
      source: blob.source,
      bytes: blob.data.length,
      stash: key,
      ...(blob.mediaType ? { mediaType: blob.mediaType } : {}),
    };
  };
}

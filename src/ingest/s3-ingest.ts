// Ingesting `s3://bucket/prefix`: the S3 source feeds the pipeline, and a ledger remembers each object's ETag
// (with the recipe it was chunked by) once it is indexed, so that the next run skips an unchanged object
// without downloading it. The ledger is a LangChain byte store: Redis when Redis holds the index, files beside
// the local store otherwise.
import { createHash } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import type { BaseStore } from "@langchain/core/stores";
import type { IngestPipeline, IngestReport, RunOptions } from "./pipeline.ts";
import { type Recipe, recipeFingerprint } from "./recipe.ts";
import { parseS3Url, type S3SkippedObject, s3Source } from "./sources/s3.ts";

export interface S3IngestOptions extends RunOptions {
  pipeline: IngestPipeline;
  client: S3Client;
  /** docId → what was last indexed from it; keys are hashed, so any byte store can hold them. */
  ledger: BaseStore<string, Uint8Array>;
  recipe: Recipe;
  /** Largest object read, in bytes. */
  maxBytes: number;
  /** Also remove documents under the prefix whose objects are gone. */
  cleanup?: boolean;
}

interface LedgerEntry {
  etag: string;
  recipe: string;
}

export async function ingestS3(url: string, options: S3IngestOptions): Promise<IngestReport> {
  const { pipeline, ledger } = options;
  const location = parseS3Url(url); // a bad URL is a 400 before anything is listed
  const prefix = `s3://${location.bucket}/${location.prefix}`;
  const recipe = recipeFingerprint(options.recipe);
  const etags = new Map<string, string>();
  const skipped: S3SkippedObject[] = [];
  const unchanged = new Set<string>();
  const writes: Promise<void>[] = [];

  const known = async (source: string) => {
    const [stored] = await ledger.mget([ledgerKey(source)]);
    const entry = parseEntry(stored);
    // A changed recipe re-chunks every object; a document deleted since (its chunks gone) is read again.
    if (!entry || entry.recipe !== recipe || !(await pipeline.hasDocument(source))) return undefined;
    return entry.etag;
  };

  const blobs = s3Source(url, {
    client: options.client,
    maxBytes: options.maxBytes,
    signal: options.signal,
    known,
    onSkip: (object) => {
      skipped.push(object);
      if (object.reason === "unchanged") unchanged.add(object.source);
    },
  });
  async function* remembered() {
    for await (const blob of blobs) {
      etags.set(blob.source, String(blob.metadata?.etag ?? ""));
      yield blob;
    }
  }

  const report = await pipeline.ingest(remembered(), {
    signal: options.signal,
    jobId: options.jobId,
    order: options.order,
    cleanup: options.cleanup
      ? {
          // Unchanged objects were not downloaded, so the pipeline did not see them: they are not gone.
          scope: (docId) => docId.startsWith(prefix) && !unchanged.has(docId),
        }
      : undefined,
    onProgress: (progress) => {
      options.onProgress?.(progress);
      const etag = progress.docId ? etags.get(progress.docId) : undefined;
      if (progress.status === "failed" || !progress.docId || !etag) return;
      // Only once indexed: a failed object must be tried again next time.
      writes.push(ledger.mset([[ledgerKey(progress.docId), encode({ etag, recipe })]]));
    },
  });
  // A lost ledger write costs one download next time, never a wrong skip: the index itself is complete.
  await Promise.allSettled(writes);

  for (const object of skipped) {
    if (object.reason === "unchanged") report.skipped += 1;
    else
      report.failed.push({
        name: object.name,
        error: object.error ?? object.reason,
        code: object.code ?? "ingest_failed",
        // Too large is the object's fault; a read that failed after the SDK's retries is S3's.
        status: object.reason === "too_large" ? 413 : 502,
      });
  }
  return report;
}

function ledgerKey(source: string): string {
  return `s3etag-${createHash("sha256").update(source).digest("hex")}`;
}

function encode(entry: LedgerEntry): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(entry));
}

/** A missing or unreadable entry (a crash mid-write) only costs a download. */
function parseEntry(bytes: Uint8Array | undefined): LedgerEntry | undefined {
  if (!bytes) return undefined;
  try {
    const entry = JSON.parse(new TextDecoder().decode(bytes)) as Partial<LedgerEntry>;
    return typeof entry.etag === "string" && typeof entry.recipe === "string"
      ? (entry as LedgerEntry)
      : undefined;
  } catch {
    return undefined;
  }
}

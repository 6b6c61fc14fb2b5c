// Runs blobs from any source through prepare (load, split, stamp) and LangChain's indexing API, one document
// at a time per worker, telling the status store where each stands: re-ingesting an unchanged document is
// skipped unread, a changed one replaces its old chunks, a failure is kept with its step and reason.
import { createHash } from "node:crypto";
import type { DocumentInterface } from "@langchain/core/documents";
import { index, type RecordManagerInterface } from "@langchain/core/indexing";
import pMap from "p-map";
import { type DocumentLock, LocalDocumentLock } from "../contracts/document-lock.ts";
import type { DocumentFailure, DocumentState, IngestStep } from "../contracts/document-status.ts";
import { type DocumentInfo, describeChunks, type ScalarMetadata } from "../contracts/documents.ts";
import type { PipelineRecordManager, PipelineStatusStore, PipelineVectorStore } from "../contracts/stores.ts";
import { BadRequestError, CounselError, storeUnavailable } from "../errors.ts";
import { modelFailure } from "../models/errors.ts";
import { prepareBlob } from "./prepare.ts";
import { type Recipe, recipeFingerprint } from "./recipe.ts";
import type { SourceBlob } from "./sources/blob.ts";
import type { TextractRouting } from "./textract/routing.ts";
import type { Classifier } from "./transform/classify/classifier.ts";
import { embeddingWithHeaders } from "./transform/context-headers.ts";
import { documentId, RESERVED_METADATA } from "./transform/metadata.ts";
import type { Redactor } from "./transform/pii/redact.ts";
import type { Summarizer } from "./transform/summary/summarizer.ts";

export interface IngestFailure {
  name: string;
  error: string;
  /** A stable code: CounselError codes such as unsupported_media_type, else ingest_failed. */
  code: string;
  /** The HTTP status the failure means on its own: 4xx the document's fault, 5xx a service's. */
  status: number;
}

/** Counts of documents (files or JSON documents), with chunk counts beside them. */
export interface IngestReport {
  added: number;
  updated: number;
  skipped: number;
  deleted: number;
  failed: IngestFailure[];
  chunks: { added: number; deleted: number; skipped: number };
}

export function emptyReport(): IngestReport {
  return {
    added: 0,
    updated: 0,
    skipped: 0,
    deleted: 0,
    failed: [],
    chunks: { added: 0, deleted: 0, skipped: 0 },
  };
}

/** Several runs' reports as one (the CLI ingests paths, S3 prefixes and URLs in separate runs). */
export function mergeReports(reports: IngestReport[]): IngestReport {
  const total = emptyReport();
  for (const r of reports) {
    total.added += r.added;
    total.updated += r.updated;
    total.skipped += r.skipped;
    total.deleted += r.deleted;
    total.failed.push(...r.failed);
    total.chunks.added += r.chunks.added;
    total.chunks.deleted += r.chunks.deleted;
    total.chunks.skipped += r.chunks.skipped;
  }
  return total;
}

export interface IngestProgress {
  name: string;
  /** The document's identity (doc_id): its path, "upload:<name>", "s3://bucket/key" or the given doc_id. */
  docId: string;
  status: "added" | "updated" | "skipped" | "failed";
  done: number;
}

export interface IngestOptions {
  /**
   * Removes documents that are gone: every document id for which `scope` is true and that this run did not
   * see is deleted with its chunks. The CLI's `--cleanup` scopes it to the folder or glob it was given.
   */
  cleanup?: { scope: (docId: string) => boolean };
  onProgress?: (progress: IngestProgress) => void;
  signal?: AbortSignal;
  /** The job this run acts for: its status writes name it, and leave another job's entries alone. */
  jobId?: string;
  /**
   * The job's place among all jobs submitted (its sequence number): a document that a later job has already
   * written is left as it is (skipped), so that the last submitted wins whole whichever runs first. Runs
   * without one (a synchronous request, the CLI) always write.
   */
  order?: number;
}

/** What a job's run passes on to the sources that feed the pipeline (S3, URLs). */
export type RunOptions = Pick<IngestOptions, "signal" | "jobId" | "order" | "onProgress">;

/** A document given as text, as in `POST /ingest {"documents": [...]}`. */
export interface TextDocument {
  text: string;
  metadata?: Record<string, string | number | boolean>;
}

export interface IngestPipelineOptions {
  vectorStore: PipelineVectorStore;
  recordManager: PipelineRecordManager;
  recipe: Recipe;
  /** Documents prepared and embedded at once; overlaps parsing with embedding calls. */
  concurrency?: number;
  /** Reads images and scanned PDFs (textractRouting); undefined when Textract is off. */
  textract?: TextractRouting;
  /** The recipe's PII redaction (recipeRedactor); undefined when it redacts nothing. */
  redactor?: Redactor;
  /** The recipe's summaries (recipeSummarizer); undefined when it makes none. */
  summarizer?: Summarizer;
  /** The recipe's labels (recipeClassifier); undefined when it sets none. */
  classifier?: Classifier;
  /** Where each document's ingestion stands; without one, nothing is told. */
  statuses?: PipelineStatusStore;
  /** Who may write a document now: this process's lock by default, Redis's when processes share a store. */
  documentLock?: DocumentLock;
}

/** What deleting a document found. */
export interface DeletedDocument {
  /** Chunks it had (0 when none). */
  chunks: number;
  /** Whether there was anything to delete: chunks, or a status entry (a failed or queued document). */
  found: boolean;
}

export class IngestPipeline {
  private readonly vectorStore: PipelineVectorStore;
  private readonly recordManager: PipelineRecordManager;
  private readonly recipe: Recipe;
  private readonly concurrency: number;
  private readonly textract?: TextractRouting;
  private readonly redactor?: Redactor;
  private readonly summarizer?: Summarizer;
  private readonly classifier?: Classifier;
  private readonly statuses?: PipelineStatusStore;
  /** Identifies this pipeline's way of making chunks: the recipe's settings and the steps in use. */
  private readonly method: string;
  /** Serialises work on one document id, so two ingestions of one document cannot interleave. */
  private readonly lock: DocumentLock;

  constructor(options: IngestPipelineOptions) {
    this.vectorStore = options.vectorStore;
    this.recordManager = options.recordManager;
    this.recipe = options.recipe;
    this.concurrency = options.concurrency ?? 4;
    this.textract = options.textract;
    this.redactor = options.redactor;
    this.summarizer = options.summarizer;
    this.classifier = options.classifier;
    this.statuses = options.statuses;
    this.lock = options.documentLock ?? new LocalDocumentLock();
    // Which steps run (and by which engine) changes the chunks as much as the recipe does: Textract turned on
    // reads scans that had no text, a summarizer adds a chunk.
    this.method = JSON.stringify({
      recipe: recipeFingerprint(this.recipe),
      textract: this.textract !== undefined,
      redact: this.redactor !== undefined,
      summarize: this.summarizer?.engine ?? null,
      classify: this.classifier?.engine ?? null,
    });
  }

  async ingest(blobs: Iterable<SourceBlob> | AsyncIterable<SourceBlob>, options: IngestOptions = {}) {
    const report = emptyReport();
    const seen = new Set<string>();
    let done = 0;

    await pMap(
      blobs,
      async (blob) => {
        options.signal?.throwIfAborted();
        const docId = documentId(blob);
        seen.add(docId);
        let status: IngestProgress["status"];
        try {
          status = await this.lock.withLock(docId, () => this.ingestTracked(blob, docId, report, options));
        } catch (caught) {
          status = "failed";
          const failure = failureOf(caught);
          report.failed.push({
            name: blob.name,
            error: failure.message,
            code: failure.code,
            status: failure.status,
          });
        }
        done += 1;
        options.onProgress?.({ name: blob.name, docId, status, done });
      },
      { concurrency: this.concurrency },
    );

    if (options.cleanup) {
      const gone = (await this.recordManager.listGroupIds()).filter(
        (id) => !seen.has(id) && options.cleanup?.scope(id),
      );
      for (const docId of gone) {
        report.chunks.deleted += await this.lock.withLock(docId, () => this.removeDocument(docId));
        report.deleted += 1;
      }
    }

    await this.flush();
    return report;
  }

  /** Ingests documents given as text; `metadata.doc_id` is their identity, else their content hash. */
  async ingestTexts(documents: TextDocument[], options: IngestOptions = {}) {
    const blobs = documents.map((doc): SourceBlob => {
      const docId = textDocumentId(doc);
      return {
        // Not the position in the request: the name lands in chunk metadata, which index() hashes.
        name: String(doc.metadata?.name ?? docId),
        source: String(docId),
        data: Buffer.from(doc.text, "utf8"),
        mediaType: "text/plain",
        metadata: { ...doc.metadata, doc_id: String(docId) },
      };
    });
    return this.ingest(blobs, options);
  }

  /** Whether a document has chunks in the index. */
  async hasDocument(docId: string): Promise<boolean> {
    return (await this.recordManager.listKeys({ groupIds: [docId], limit: 1 })).length > 0;
  }

  /**
   * Deletes one document (DELETE /documents/:source): its chunks from the vector store and the lexical index,
   * its keys and its record from the record manager, its status entry, and saves them. When there is no such
   * document (no chunks, no status entry), nothing is touched. Waits for an ingestion of the same document.
   */
  async deleteDocument(docId: string): Promise<DeletedDocument> {
    return this.lock.withLock(docId, async () => {
      const entry = await this.statuses?.get(docId);
      const chunks = await this.removeDocument(docId);
      if (chunks > 0) {
        // Saved in the order of the deletion above (records, then chunks), for the same reason.
        await this.recordManager.flush();
        await this.vectorStore.flush?.();
      }
      if (entry) await this.statuses?.flush?.();
      return { chunks, found: chunks > 0 || entry !== undefined };
    });
  }

  /**
   * The one deletion path (DELETE and cleanup). Records first, then chunks: a failure between the two (Redis
   * gone mid-way, a write refused) leaves chunks that no record claims, never a catalog that lists a document
   * whose chunks are gone; such a document would also be skipped as unchanged on re-ingestion, so could not be
   * mended. Stray chunks can: ingesting the document again files them under it (same ids), and deleting it
   * again removes them. Call under the document's lock.
   */
  private async removeDocument(docId: string): Promise<number> {
    const keys = await this.recordManager.listKeys({ groupIds: [docId] });
    if (keys.length > 0) {
      await this.recordManager.deleteKeys(keys);
      await this.vectorStore.delete({ ids: keys });
    }
    // Whatever its status said (failed, or queued by a job) no longer applies to a document that is gone.
    await this.statuses?.clear(docId);
    await this.lock.forgetOrder(docId);
    return keys.length;
  }

  /**
   * Ingests one document under its lock, telling the status store each step: extracting, embedding, then
   * its entry cleared (indexed), or failed with the step it was in and why.
   */
  private async ingestTracked(
    blob: SourceBlob,
    docId: string,
    report: IngestReport,
    run: Pick<IngestOptions, "jobId" | "order">,
  ): Promise<IngestProgress["status"]> {
    const { jobId, order } = run;
    const track = { step: "extracting" as IngestStep };
    try {
      const latest = order === undefined ? undefined : await this.lock.lastOrder(docId);
      if (latest !== undefined && order !== undefined && latest > order) {
        // A job submitted after this one has written the document: its version stands.
        report.skipped += 1;
        await this.settleStatus(docId, jobId);
        return "skipped";
      }
      const status = await this.ingestOne(blob, docId, report, jobId, track);
      if (order !== undefined) await this.lock.recordOrder(docId, order);
      return status;
    } catch (caught) {
      await this.setStatus({
        source: docId,
        status: "failed",
        name: blob.name,
        jobId,
        error: { step: track.step, ...failureOf(caught) },
      });
      throw caught;
    }
  }

  private async ingestOne(
    blob: SourceBlob,
    docId: string,
    report: IngestReport,
    jobId: string | undefined,
    track: { step: IngestStep },
  ): Promise<IngestProgress["status"]> {
    const checksum = createHash("sha256").update(blob.data).digest("hex");
    const fingerprint = this.fingerprint(blob, checksum);
    const before = await this.recordManager.getDocument(docId);
    if (before && before.record.info?.fingerprint === fingerprint) {
      // Made from the same bytes, name, metadata and recipe as what is indexed: it would chunk and hash
      // alike, so index() would skip every chunk. Not even read (nor sent to Textract or a model).
      report.skipped += 1;
      report.chunks.skipped += before.record.chunks;
      await this.settleStatus(docId, jobId);
      return "skipped";
    }
    await this.setStatus({ source: docId, status: "extracting", name: blob.name, jobId });
    const chunks: DocumentInterface[] = await prepareBlob(blob, this.recipe, {
      textract: this.textract,
      redactor: this.redactor,
      summarizer: this.summarizer,
      classifier: this.classifier,
    });
    // The document's fault, as loaders say of a text-less file (400): trying again would not help.
    if (chunks.length === 0) throw new BadRequestError("no text could be extracted from it");
    track.step = "embedding";
    await this.setStatus({ source: docId, status: "embedding", name: blob.name, jobId });
    const info: DocumentInfo = {
      ...describeChunks(chunks),
      bytes: blob.data.length,
      checksum,
      recipe: this.recipe.name,
      ...metadataOf(chunks[0].metadata, blob.metadata, this.classifier?.field),
      fingerprint,
    };
    const result = await index({
      docsSource: chunks,
      recordManager: describing(this.recordManager, docId, info),
      vectorStore: this.recipe.splitter.contextHeaders
        ? embeddingWithHeaders(this.vectorStore)
        : this.vectorStore,
      options: {
        cleanup: "incremental",
        sourceIdKey: "doc_id",
        // One batch per document: index() cleans up per batch, so a document split over two batches would
        // have its second half deleted and re-added on every run.
        batchSize: chunks.length,
      },
    });
    report.chunks.added += result.numAdded;
    report.chunks.deleted += result.numDeleted;
    report.chunks.skipped += result.numSkipped;
    await this.settleStatus(docId, jobId);
    if (!before) {
      report.added += 1;
      return "added";
    }
    if (result.numAdded === 0 && result.numDeleted === 0) {
      report.skipped += 1;
      return "skipped";
    }
    report.updated += 1;
    return "updated";
  }

  async flush(): Promise<void> {
    await this.vectorStore.flush?.();
    await this.recordManager.flush();
    await this.statuses?.flush?.();
  }

  /** Everything prepareBlob makes a document's chunks from, hashed with the bytes' checksum. */
  private fingerprint(blob: SourceBlob, checksum: string): string {
    const { name, source, mediaType, metadata } = blob;
    return sha256(JSON.stringify([this.method, checksum, name, source, mediaType ?? null, metadata ?? null]));
  }

  private async setStatus(state: Omit<DocumentState, "updatedAt">): Promise<void> {
    await this.statuses?.set({ ...state, updatedAt: Date.now() });
  }

  /**
   * A document is indexed: its entry goes (the record manager says indexed from now on). With a job, only the
   * job's own entry, and a failure left by an earlier attempt, which this one supersedes; another job's entry
   * still in flight stays, since that job has the document to do.
   */
  private async settleStatus(docId: string, jobId: string | undefined): Promise<void> {
    if (!this.statuses) return;
    await this.statuses.clear(docId, jobId);
    if (jobId === undefined) return;
    const left = await this.statuses.get(docId);
    if (left?.status === "failed") await this.statuses.clear(docId, left.jobId ?? jobId);
  }
}

/**
 * The caller's scalar metadata of a document, as its chunks carry it (redacted, with the classifier's label):
 * the fields the blob was given and the label's field, `doc_id` and the fields ingestion stamps left out.
 */
function metadataOf(
  stamped: Record<string, unknown>,
  given: Record<string, unknown> | undefined,
  labelField: string | undefined,
): { metadata?: ScalarMetadata } {
  const metadata: ScalarMetadata = {};
  for (const [field, value] of Object.entries(stamped)) {
    if (RESERVED_METADATA.has(field)) continue;
    if (!(given && Object.hasOwn(given, field)) && field !== labelField) continue;
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
      metadata[field] = value;
  }
  return Object.keys(metadata).length > 0 ? { metadata } : {};
}

/** A document's failure as the report and its status tell it: a stable code, a status, a reason to act on. */
function failureOf(caught: unknown): Omit<DocumentFailure, "step"> {
  const error =
    caught instanceof CounselError ? caught : (storeUnavailable(caught) ?? modelFailure(caught) ?? caught);
  return {
    code: error instanceof CounselError ? error.code : "ingest_failed",
    message: errorMessage(error),
    status: error instanceof CounselError ? error.status : 500,
  };
}

/**
 * The record manager as index() sees it for one document: the update that files its keys under its id also
 * carries its info, so that the document's record (the catalog's summary) is written in the same atomic step
 * as the keys (one Lua script in Redis; one in-memory change, saved in one file write, in embedded mode).
 */
function describing(
  records: PipelineRecordManager,
  docId: string,
  info: DocumentInfo,
): RecordManagerInterface {
  return {
    createSchema: () => records.createSchema(),
    getTime: () => records.getTime(),
    exists: (keys) => records.exists(keys),
    listKeys: (options) => records.listKeys(options),
    deleteKeys: (keys) => records.deleteKeys(keys),
    update: (keys, options) =>
      records.update(keys, options.groupIds ? { ...options, documents: { [docId]: info } } : options),
  };
}

/** A text document's identity: its `metadata.doc_id`, else a hash of its text. */
export function textDocumentId(doc: TextDocument): string {
  return String(doc.metadata?.doc_id ?? `text:${sha256(doc.text).slice(0, 16)}`);
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

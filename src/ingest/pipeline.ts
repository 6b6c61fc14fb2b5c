// Runs blobs from any source through prepare (load, split, stamp) and LangChain's indexing API, one document
// at a time per worker: re-ingesting an unchanged document is skipped, a changed one replaces its old chunks.
import { createHash } from "node:crypto";
import type { DocumentInterface } from "@langchain/core/documents";
import { index, type RecordManagerInterface } from "@langchain/core/indexing";
import pMap from "p-map";
import { type DocumentInfo, describeChunks } from "../contracts/documents.ts";
import type { PipelineRecordManager, PipelineVectorStore } from "../contracts/stores.ts";
import { CounselError, storeUnavailable } from "../errors.ts";
import { prepareBlob } from "./prepare.ts";
import type { Recipe } from "./recipe.ts";
import type { SourceBlob } from "./sources/blob.ts";
import type { TextractRouting } from "./textract/routing.ts";
import type { Classifier } from "./transform/classify/classifier.ts";
import { embeddingWithHeaders } from "./transform/context-headers.ts";
import { documentId } from "./transform/metadata.ts";
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
}

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
  /** Serialises work on one document id, so two uploads of one document cannot interleave. */
  private readonly docLocks = new Map<string, Promise<unknown>>();

  constructor(options: IngestPipelineOptions) {
    this.vectorStore = options.vectorStore;
    this.recordManager = options.recordManager;
    this.recipe = options.recipe;
    this.concurrency = options.concurrency ?? 4;
    this.textract = options.textract;
    this.redactor = options.redactor;
    this.summarizer = options.summarizer;
    this.classifier = options.classifier;
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
          status = await this.withDocLock(docId, () => this.ingestOne(blob, report));
        } catch (caught) {
          status = "failed";
          const error = storeUnavailable(caught) ?? caught;
          report.failed.push({
            name: blob.name,
            error: errorMessage(error),
            code: error instanceof CounselError ? error.code : "ingest_failed",
            status: error instanceof CounselError ? error.status : 500,
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
        report.chunks.deleted += await this.withDocLock(docId, () => this.removeDocument(docId));
        report.deleted += 1;
      }
    }

    await this.flush();
    return report;
  }

  /** Ingests documents given as text; `metadata.doc_id` is their identity, else their content hash. */
  async ingestTexts(documents: TextDocument[], options: IngestOptions = {}) {
    const blobs = documents.map((doc): SourceBlob => {
      const docId = doc.metadata?.doc_id ?? `text:${sha256(doc.text).slice(0, 16)}`;
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
   * its keys and its record from the record manager, and saves both. Returns how many chunks it had; 0 when
   * there is no such document, and then nothing is touched. Waits for an ingestion of the same document.
   */
  async deleteDocument(docId: string): Promise<number> {
    const removed = await this.withDocLock(docId, () => this.removeDocument(docId));
    if (removed > 0) {
      // Saved in the order of the deletion below (records, then chunks), for the same reason.
      await this.recordManager.flush();
      await this.vectorStore.flush?.();
    }
    return removed;
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
    return keys.length;
  }

  private async ingestOne(blob: SourceBlob, report: IngestReport): Promise<IngestProgress["status"]> {
    const chunks: DocumentInterface[] = await prepareBlob(blob, this.recipe, {
      textract: this.textract,
      redactor: this.redactor,
      summarizer: this.summarizer,
      classifier: this.classifier,
    });
    if (chunks.length === 0) throw new Error("no text could be extracted from it");
    const docId = String(chunks[0].metadata.doc_id);
    const before = await this.recordManager.listKeys({ groupIds: [docId] });
    const info: DocumentInfo = { ...describeChunks(chunks), bytes: blob.data.length };
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
    if (before.length === 0) {
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

  private async withDocLock<T>(docId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.docLocks.get(docId) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(work);
    this.docLocks.set(docId, current);
    try {
      return await current;
    } finally {
      if (this.docLocks.get(docId) === current) this.docLocks.delete(docId);
    }
  }

  async flush(): Promise<void> {
    await this.vectorStore.flush?.();
    await this.recordManager.flush();
  }
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

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

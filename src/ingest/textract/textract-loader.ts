// Scans and images → LangChain Documents through Amazon Textract, one Document per page in Markdown (see
// blocks-to-markdown.ts). Single images and one-page PDFs go through the sync API with the bytes; multi-page
// documents are staged in S3 and read by an async job.
import { createHash } from "node:crypto";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  AnalyzeDocumentCommand,
  type Block,
  DetectDocumentTextCommand,
  type FeatureType,
  type S3Object,
  type TextractClient,
} from "@aws-sdk/client-textract";
import { BaseDocumentLoader } from "@langchain/core/document_loaders/base";
import { Document } from "@langchain/core/documents";
import { BadRequestError, UnsupportedTypeError } from "../../errors.ts";
import { runTextractJob } from "./async-job.ts";
import { blocksToMarkdown, type MarkdownOptions } from "./blocks-to-markdown.ts";
import {
  countPdfPages,
  countTiffPages,
  MEDIA_TYPES,
  type TextractFormat,
  textractFormat,
} from "./document-kind.ts";

export { TextractJobError, TextractTimeoutError } from "./async-job.ts";

export type TextractFeature = "LAYOUT" | "TABLES" | "FORMS" | "SIGNATURES";

/** A document already in S3: read by an async job where it is, whatever its page count. */
export interface S3Location {
  bucket: string;
  key: string;
  version?: string;
}

export interface TextractLoaderOptions extends MarkdownOptions {
  /** Empty (the default): DetectDocumentText, text only. Otherwise AnalyzeDocument with these features. */
  features?: TextractFeature[];
  /**
   * Where local multi-page documents are uploaded for the async API: `<prefix><sha256>.<ext>`, encrypted with
   * `kmsKeyId` (SSE-KMS) when given, else as the bucket's default says.
   */
  s3?: { bucket: string; prefix?: string; client?: S3Client; kmsKeyId?: string };
  /** Uploads a local multi-page document and says where it is; replaces the PutObject to `s3`. */
  stage?: (bytes: Uint8Array, name: string) => Promise<{ Bucket: string; Name: string }>;
  /** First wait before polling an async job (default 1 s); doubles up to maxPollIntervalMs (default 10 s). */
  pollIntervalMs?: number;
  maxPollIntervalMs?: number;
  /** How long an async job may run before the load fails (default 15 minutes). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Textract's limit on document bytes sent in a sync request, and on JPEG and PNG files in any request. */
export const SYNC_BYTES_LIMIT = 10 * 1024 * 1024;

const SUPPORTED = ["pdf", "png", "jpeg", "tiff"];

/**
 * One Document per page that has text, `metadata` { page, textract_confidence (mean word confidence, 0-100,
 * one decimal), loader: "textract" }. Throws UnsupportedTypeError for bytes Textract cannot read,
 * BadRequestError for a multi-page document with no S3 staging configured or an image over 10 MB, and
 * TextractJobError / TextractTimeoutError for an async job that fails or runs too long.
 */
export class TextractLoader extends BaseDocumentLoader {
  constructor(
    private readonly source: Uint8Array | S3Location,
    private readonly name: string,
    private readonly client: TextractClient,
    private readonly options: TextractLoaderOptions = {},
  ) {
    super();
  }

  async load(): Promise<Document[]> {
    const pages = blocksToMarkdown(await this.blocks(), this.options);
    return pages
      .filter((p) => p.text.trim() !== "")
      .map(
        (p) =>
          new Document({
            pageContent: p.text,
            metadata: {
              page: p.page,
              textract_confidence: Math.round(p.confidence * 10) / 10,
              loader: "textract",
            },
          }),
      );
  }

  /** Textract's Blocks for the whole document (all result pages of an async job merged). */
  async blocks(): Promise<Block[]> {
    const { signal } = this.options;
    signal?.throwIfAborted();
    try {
      return await this.read();
    } catch (error) {
      // The SDK and timers reject with their own AbortError; callers match on the reason they aborted with.
      if (signal?.aborted) throw signal.reason;
      throw error;
    }
  }

  private async read(): Promise<Block[]> {
    if (!(this.source instanceof Uint8Array)) {
      const { bucket, key, version } = this.source;
      return this.runJob({ Bucket: bucket, Name: key, Version: version });
    }
    const bytes = this.source;
    const format = textractFormat(bytes);
    if (!format) {
      throw new UnsupportedTypeError(
        `"${this.name}" is not a PDF, PNG, JPEG or TIFF file, the formats Textract reads.`,
        SUPPORTED,
      );
    }
    if (format === "png" || format === "jpeg") {
      if (bytes.length > SYNC_BYTES_LIMIT)
        throw new BadRequestError(
          `"${this.name}" is larger than 10 MB, Textract's limit for ${format} images.`,
        );
      return this.readNow(bytes);
    }
    const pages = format === "pdf" ? await countPdfPages(bytes) : countTiffPages(bytes);
    if (pages === 1 && bytes.length <= SYNC_BYTES_LIMIT) return this.readNow(bytes);
    return this.runJob(await this.stage(bytes, format, pages));
  }

  private async readNow(bytes: Uint8Array): Promise<Block[]> {
    const features = this.features();
    const abortSignal = this.options.signal;
    const reply =
      features.length > 0
        ? await this.client.send(
            new AnalyzeDocumentCommand({ Document: { Bytes: bytes }, FeatureTypes: features }),
            { abortSignal },
          )
        : await this.client.send(new DetectDocumentTextCommand({ Document: { Bytes: bytes } }), {
            abortSignal,
          });
    return reply.Blocks ?? [];
  }

  private runJob(location: S3Object): Promise<Block[]> {
    return runTextractJob(this.client, this.name, location, {
      features: this.features(),
      pollIntervalMs: this.options.pollIntervalMs ?? 1000,
      maxPollIntervalMs: this.options.maxPollIntervalMs ?? 10_000,
      timeoutMs: this.options.timeoutMs ?? 15 * 60_000,
      signal: this.options.signal,
    });
  }

  /** Puts a local document where the async API can read it. The key is the content's hash, so a re-run
   *  overwrites the same object instead of piling up copies; removing staged objects is left to a lifecycle
   *  rule on the bucket (Textract may still be reading when this returns). */
  private async stage(
    bytes: Uint8Array,
    format: TextractFormat,
    pages: number | undefined,
  ): Promise<S3Object> {
    if (this.options.stage) {
      const { Bucket, Name } = await this.options.stage(bytes, this.name);
      return { Bucket, Name };
    }
    const s3 = this.options.s3;
    if (!s3) {
      const count = pages === undefined ? "several pages" : `${pages} pages`;
      throw new BadRequestError(
        `"${this.name}" has ${count}; Textract reads multi-page documents only from S3, and no staging bucket is configured.`,
      );
    }
    const prefix = s3.prefix ? s3.prefix.replace(/\/*$/, "/") : "";
    const key = `${prefix}${createHash("sha256").update(bytes).digest("hex")}.${format === "jpeg" ? "jpg" : format}`;
    const client = s3.client ?? new S3Client({});
    await client.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: key,
        Body: bytes,
        ContentType: MEDIA_TYPES[format],
        ...(s3.kmsKeyId ? { ServerSideEncryption: "aws:kms", SSEKMSKeyId: s3.kmsKeyId } : {}),
      }),
      { abortSignal: this.options.signal },
    );
    return { Bucket: s3.bucket, Name: key };
  }

  private features(): FeatureType[] {
    return [...new Set(this.options.features ?? [])];
  }
}

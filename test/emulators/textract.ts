// A local Amazon Textract that speaks the real wire protocol (awsJson1_1: POST /, X-Amz-Target Textract.<Op>,
// application/x-amz-json-1.1), so that the real AWS SDK runs unchanged against it; production code reaches it only
// through the SDK's endpoint setting (AWS_ENDPOINT_URL_TEXTRACT). Sync operations answer with a recorded response
// (test/fixtures/textract) that the test chooses; async jobs stay IN_PROGRESS for a number of polls, then finish
// as scripted, their Blocks split into result pages by document page and linked by NextToken, as Textract pages
// long results. It records every request, and can answer with Textract's errors (throttling, 500s) and slowly.

import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { ErrorReply, readJsonRequest, replyError, replyJson } from "./aws-json.ts";
import { HttpEmulator } from "./loopback.ts";

export const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/textract");

const OPERATIONS = [
  "AnalyzeDocument",
  "DetectDocumentText",
  "StartDocumentAnalysis",
  "StartDocumentTextDetection",
  "GetDocumentAnalysis",
  "GetDocumentTextDetection",
] as const;
export type TextractOperation = (typeof OPERATIONS)[number];

/** A Textract response body as recorded, without the recorder's metadata. */
export type Recording = Record<string, unknown> & { Blocks?: RecordedBlock[] };
type RecordedBlock = Record<string, unknown> & { Page?: number };

export interface RecordedRequest {
  operation: string;
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  /** When it arrived (Date.now()), to see how a client spaces its polls; it is recorded once its body is in. */
  at: number;
  /** Document.Bytes decoded, for sync operations that sent bytes. */
  bytes?: Buffer;
}

/** How a started job ends. `never` leaves it IN_PROGRESS for good. */
export type JobOutcome =
  | { status: "SUCCEEDED"; recording: Recording }
  | { status: "FAILED"; recording: Recording }
  | { status: "PARTIAL_SUCCESS"; recording: Recording; statusMessage: string; warnings: unknown[] }
  | { status: "never" };

export interface JobScript {
  /** Polls (Get calls without NextToken) answered IN_PROGRESS before the outcome. */
  inProgressPolls?: number;
  outcome: JobOutcome;
}

/** An error reply as Textract sends it. `operation` limits it to one operation. */
export interface Fault {
  status: number;
  type: string;
  message: string;
  operation?: TextractOperation;
}

export const THROTTLING: Fault = { status: 400, type: "ThrottlingException", message: "Rate exceeded" };
export const PROVISIONED_THROUGHPUT_EXCEEDED: Fault = {
  status: 400,
  type: "ProvisionedThroughputExceededException",
  message: "Provisioned rate exceeded",
};
export const INTERNAL_SERVER_ERROR: Fault = {
  status: 500,
  type: "InternalServerError",
  message: "Amazon Textract experienced a service issue. Try your call again.",
};

/** Sync requests: 10 MB of document bytes, Textract's limit. */
const SYNC_BYTES_LIMIT = 10 * 1024 * 1024;
const FEATURES = new Set(["TABLES", "FORMS", "QUERIES", "SIGNATURES", "LAYOUT"]);

/** A fixture from test/fixtures/textract, without boto3's ResponseMetadata or the JS SDK's $metadata: they
 *  describe the recorded HTTP exchange, not the service's reply. */
export async function loadRecording(name: string): Promise<Recording> {
  const recording = JSON.parse(await readFile(path.join(FIXTURES, name), "utf8")) as Recording;
  delete recording.ResponseMetadata;
  delete recording.$metadata;
  return recording;
}

interface Job {
  operation: "GetDocumentAnalysis" | "GetDocumentTextDetection";
  script: JobScript;
  polls: number;
}

export class TextractEmulator extends HttpEmulator {
  readonly requests: RecordedRequest[] = [];
  /** The reply to AnalyzeDocument and DetectDocumentText. */
  syncResponse?: Recording;
  /** How jobs started from now on go. */
  job: JobScript = { outcome: { status: "never" } };
  /** Error replies for the next matching requests, first one first, each used once. */
  readonly faults: Fault[] = [];
  /** Latency added to every reply. */
  delayMs = 0;
  private readonly jobs = new Map<string, Job>();
  private inProgress: Recording = { JobStatus: "IN_PROGRESS" };

  override async start(): Promise<string> {
    this.inProgress = await loadRecording("get-document-analysis_in-progress.json");
    return super.start();
  }

  /** Forgets requests, jobs, faults and scripts between tests. */
  reset(): void {
    this.requests.length = 0;
    this.faults.length = 0;
    this.jobs.clear();
    this.syncResponse = undefined;
    this.job = { outcome: { status: "never" } };
    this.delayMs = 0;
  }

  /** The recorded requests of one operation. */
  calls(operation: TextractOperation): RecordedRequest[] {
    return this.requests.filter((r) => r.operation === operation);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse) {
    const at = Date.now();
    const { target, operation, body: json } = await readJsonRequest(req, "Textract.");
    const parsed = json !== undefined;
    const body = (json ?? {}) as Record<string, unknown>;
    const record: RecordedRequest = { operation, body, headers: req.headers, at };
    this.requests.push(record);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (res.destroyed) return;
    try {
      if (req.method !== "POST" || req.url !== "/" || !OPERATIONS.includes(operation as TextractOperation))
        throw new ErrorReply(400, "UnknownOperationException", `no such operation: ${req.method} ${target}`);
      if (!parsed || !String(req.headers["content-type"]).startsWith("application/x-amz-json-1.1"))
        throw new ErrorReply(
          400,
          "SerializationException",
          "expected a JSON body as application/x-amz-json-1.1",
        );
      const fault = this.faults.findIndex((f) => !f.operation || f.operation === operation);
      if (fault >= 0) {
        const [{ status, type, message }] = this.faults.splice(fault, 1);
        throw new ErrorReply(status, type, message);
      }
      replyJson(res, 200, this.answer(operation as TextractOperation, record));
    } catch (caught) {
      replyError(res, caught, "InternalServerError");
    }
  }

  private answer(operation: TextractOperation, record: RecordedRequest): unknown {
    const body = record.body;
    switch (operation) {
      case "AnalyzeDocument":
      case "DetectDocumentText": {
        record.bytes = documentBytes(body.Document);
        if (operation === "AnalyzeDocument") featureTypes(body);
        if (!this.syncResponse)
          throw new ErrorReply(400, "InvalidParameterException", "emulator: the test set no syncResponse");
        return this.syncResponse;
      }
      case "StartDocumentAnalysis":
      case "StartDocumentTextDetection": {
        s3Location(body.DocumentLocation);
        if (operation === "StartDocumentAnalysis") featureTypes(body);
        const jobId = randomUUID().replaceAll("-", "").padEnd(64, "0");
        this.jobs.set(jobId, {
          operation:
            operation === "StartDocumentAnalysis" ? "GetDocumentAnalysis" : "GetDocumentTextDetection",
          script: this.job,
          polls: 0,
        });
        return { JobId: jobId };
      }
      case "GetDocumentAnalysis":
      case "GetDocumentTextDetection":
        return this.getJob(operation, body);
    }
  }

  private getJob(operation: TextractOperation, body: Record<string, unknown>): unknown {
    const job = typeof body.JobId === "string" ? this.jobs.get(body.JobId) : undefined;
    if (!job || job.operation !== operation)
      throw new ErrorReply(400, "InvalidJobIdException", `no ${operation} job ${String(body.JobId)}`);
    const { outcome, inProgressPolls = 0 } = job.script;
    if (body.NextToken === undefined) {
      job.polls += 1;
      if (outcome.status === "never" || job.polls <= inProgressPolls) return this.inProgress;
    }
    if (outcome.status === "never") throw new ErrorReply(400, "InvalidParameterException", "bad NextToken");
    if (outcome.status === "FAILED") return outcome.recording;

    // Result pages by document page: Textract pages results by block count, so a long document always takes
    // several Get calls; one page per call makes a two-page job exercise NextToken the same way.
    const pages = resultPages(outcome.recording.Blocks ?? []);
    const index = body.NextToken === undefined ? 0 : pageFromToken(body.NextToken, body.JobId as string);
    if (index === undefined || index >= pages.length)
      throw new ErrorReply(400, "InvalidParameterException", "Request has invalid NextToken");
    const { Blocks: _all, NextToken: _recorded, ...rest } = outcome.recording;
    const page: Record<string, unknown> = { ...rest, JobStatus: outcome.status, Blocks: pages[index] };
    if (outcome.status === "PARTIAL_SUCCESS") {
      page.StatusMessage = outcome.statusMessage;
      page.Warnings = outcome.warnings;
    }
    if (index + 1 < pages.length) page.NextToken = tokenFor(body.JobId as string, index + 1);
    return page;
  }
}

function resultPages(blocks: RecordedBlock[]): RecordedBlock[][] {
  const byPage = new Map<number, RecordedBlock[]>();
  for (const block of blocks) {
    const page = block.Page ?? 1;
    byPage.set(page, [...(byPage.get(page) ?? []), block]);
  }
  const pages = [...byPage.entries()].sort(([a], [b]) => a - b).map(([, list]) => list);
  return pages.length > 0 ? pages : [[]];
}

function tokenFor(jobId: string, index: number): string {
  return Buffer.from(`${jobId}/${index}`).toString("base64");
}

function pageFromToken(token: unknown, jobId: string): number | undefined {
  if (typeof token !== "string") return undefined;
  const [id, index] = Buffer.from(token, "base64").toString("utf8").split("/");
  return id === jobId && /^\d+$/.test(index ?? "") ? Number(index) : undefined;
}

function documentBytes(document: unknown): Buffer | undefined {
  const doc = document as { Bytes?: unknown; S3Object?: unknown } | undefined;
  if (!doc || (doc.Bytes === undefined) === (doc.S3Object === undefined))
    throw new ErrorReply(400, "InvalidParameterException", "Document needs exactly one of Bytes, S3Object");
  if (doc.S3Object !== undefined) {
    s3Location({ S3Object: doc.S3Object });
    return undefined;
  }
  const bytes = Buffer.from(String(doc.Bytes), "base64");
  if (bytes.length === 0) throw new ErrorReply(400, "InvalidParameterException", "Document.Bytes is empty");
  if (bytes.length > SYNC_BYTES_LIMIT)
    throw new ErrorReply(400, "DocumentTooLargeException", "Document exceeds the 10 MB limit");
  return bytes;
}

function s3Location(location: unknown): void {
  const s3 = (location as { S3Object?: { Bucket?: unknown; Name?: unknown } } | undefined)?.S3Object;
  if (typeof s3?.Bucket !== "string" || typeof s3?.Name !== "string")
    throw new ErrorReply(400, "InvalidParameterException", "S3Object needs Bucket and Name");
}

function featureTypes(body: Record<string, unknown>): void {
  const features = body.FeatureTypes;
  if (!Array.isArray(features) || features.length === 0 || !features.every((f) => FEATURES.has(f)))
    throw new ErrorReply(
      400,
      "InvalidParameterException",
      `invalid FeatureTypes: ${JSON.stringify(features)}`,
    );
}

// Textract's async API for a document in S3: start a job, poll it with exponential backoff until it ends or the
// deadline passes, then follow NextToken through every result page and return all the Blocks.
import { setTimeout as sleep } from "node:timers/promises";
import {
  type Block,
  type FeatureType,
  GetDocumentAnalysisCommand,
  type GetDocumentAnalysisResponse,
  GetDocumentTextDetectionCommand,
  type S3Object,
  StartDocumentAnalysisCommand,
  StartDocumentTextDetectionCommand,
  type TextractClient,
} from "@aws-sdk/client-textract";
import { CounselError } from "../../errors.ts";

export interface JobOptions {
  /** Empty: text detection; otherwise document analysis with these features. */
  features: FeatureType[];
  /** Wait before the first poll; doubles after each IN_PROGRESS answer up to maxPollIntervalMs. */
  pollIntervalMs: number;
  maxPollIntervalMs: number;
  /** From the start of the job to giving up on it. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** A job that ended FAILED or PARTIAL_SUCCESS; the message carries Textract's StatusMessage. */
export class TextractJobError extends CounselError {
  constructor(
    message: string,
    readonly jobId: string,
    readonly jobStatus: string,
    readonly statusMessage: string | undefined,
  ) {
    super("textract_failed", 422, message, { jobId, jobStatus, statusMessage });
    this.name = "TextractJobError";
  }
}

/** A job still running when the deadline passed. It keeps running at AWS; nothing here can stop it. */
export class TextractTimeoutError extends CounselError {
  constructor(
    message: string,
    readonly jobId: string,
  ) {
    super("textract_timeout", 504, message, { jobId });
    this.name = "TextractTimeoutError";
  }
}

/**
 * All Blocks of the job's result pages, in order. FAILED rejects with TextractJobError. So does
 * PARTIAL_SUCCESS: its missing pages would be indexed as if the document ended there, and a later ingestion run
 * would see the same file unchanged and never fill them in; a failure names the pages and can be retried.
 * Rejects with TextractTimeoutError (naming the JobId) past `timeoutMs`; an abort stops the polling at once.
 */
export async function runTextractJob(
  client: TextractClient,
  name: string,
  location: S3Object,
  options: JobOptions,
): Promise<Block[]> {
  const { features, signal } = options;
  const send = { abortSignal: signal };
  const analysis = features.length > 0;
  const started = analysis
    ? await client.send(
        new StartDocumentAnalysisCommand({
          DocumentLocation: { S3Object: location },
          FeatureTypes: features,
        }),
        send,
      )
    : await client.send(
        new StartDocumentTextDetectionCommand({ DocumentLocation: { S3Object: location } }),
        send,
      );
  const jobId = started.JobId;
  if (!jobId) throw new Error(`Textract started no job for "${name}"`);
  const get = (NextToken?: string): Promise<GetDocumentAnalysisResponse> =>
    analysis
      ? client.send(new GetDocumentAnalysisCommand({ JobId: jobId, NextToken }), send)
      : client.send(new GetDocumentTextDetectionCommand({ JobId: jobId, NextToken }), send);

  const deadline = Date.now() + options.timeoutMs;
  let delay = options.pollIntervalMs;
  for (;;) {
    await sleep(Math.max(0, Math.min(delay, deadline - Date.now())), undefined, { signal });
    const first = await get();
    switch (first.JobStatus) {
      case "IN_PROGRESS":
        if (Date.now() >= deadline) {
          throw new TextractTimeoutError(
            `Textract job ${jobId} for "${name}" did not finish within ${options.timeoutMs} ms.`,
            jobId,
          );
        }
        delay = Math.min(delay * 2, options.maxPollIntervalMs);
        continue;
      case "SUCCEEDED": {
        const blocks = [...(first.Blocks ?? [])];
        for (let token = first.NextToken; token; ) {
          const page = await get(token);
          blocks.push(...(page.Blocks ?? []));
          token = page.NextToken;
        }
        return blocks;
      }
      case "PARTIAL_SUCCESS": {
        const pages = [...new Set((first.Warnings ?? []).flatMap((w) => w.Pages ?? []))].sort(
          (a, b) => a - b,
        );
        const which = pages.length > 0 ? ` (pages ${pages.join(", ")} failed)` : "";
        throw new TextractJobError(
          `Textract job ${jobId} read "${name}" only in part${which}: ${first.StatusMessage ?? "no reason given"}`,
          jobId,
          "PARTIAL_SUCCESS",
          first.StatusMessage,
        );
      }
      default:
        throw new TextractJobError(
          `Textract job ${jobId} for "${name}" failed: ${first.StatusMessage ?? "no reason given"}`,
          jobId,
          String(first.JobStatus),
          first.StatusMessage,
        );
    }
  }
}

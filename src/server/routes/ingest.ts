// POST /ingest: multipart uploads (field "files"), JSON {"documents": [{text, metadata?}]}, or JSON
// {"s3": "s3://bucket/prefix"} for every object under an S3 prefix.
// One bad file never aborts the rest: it is reported in `failed`.
import path from "node:path";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyError, FastifyInstance, FastifyRequest } from "fastify";
import { BadRequestError, CounselError } from "../../errors.ts";
import { SUPPORTED_TYPES } from "../../ingest/loaders/sniff.ts";
import type { IngestReport, TextDocument } from "../../ingest/pipeline.ts";
import type { SourceBlob } from "../../ingest/sources/blob.ts";
import { parseS3Url } from "../../ingest/sources/s3-url.ts";
import type { IngestJobs } from "../../jobs/ingest-jobs.ts";
import type { JobItem } from "../../jobs/queue.ts";
import { clientAbortSignal } from "../abort.ts";
import { IngestJsonBody, IngestReply } from "../schemas/ingest.ts";
import { AsyncQuery, JobReply } from "../schemas/jobs.ts";
import { ProblemReplies } from "../schemas/problem.ts";

export const ingestRoutes: FastifyPluginAsyncTypebox = async (app) => {
  // The JSON body's type is named here: the schema sits under `content` (JSON beside multipart), where the type
  // provider does not look.
  app.post<{ Body: IngestJsonBody; Querystring: AsyncQuery }>(
    "/ingest",
    {
      config: { scopes: ["ingest"], fairTurn: true },
      schema: {
        tags: ["ingest"],
        summary: "Add or update documents",
        description:
          "Send files as multipart/form-data in the field `files` (one or many), JSON " +
          '`{"documents": [{"text", "metadata"?}]}`, JSON `{"s3": "s3://bucket/prefix", "cleanup"?: true}`, or ' +
          'JSON `{"urls": ["https://…"]}`. ' +
          "Unchanged documents are skipped; a changed document replaces its old chunks. `metadata.doc_id` is " +
          "a document's identity when given; an S3 object's is its s3:// URL. With `?async=true`, and for " +
          "any request past INGEST_ASYNC_BYTES, the answer is `202` with a job at once " +
          "(GET /ingest/jobs/:id, its /events, DELETE to cancel).",
        querystring: AsyncQuery,
        body: { content: { "application/json": { schema: IngestJsonBody } } },
        response: { 200: IngestReply, 202: JobReply, ...ProblemReplies },
      },
    },
    async (request, reply) => {
      const signal = clientAbortSignal(reply);
      // The caller's tenant's index and records: an ingestion never reads or replaces another tenant's.
      const tenant = request.tenant;
      const { pipeline } = tenant;
      const jobs = app.services.jobs;
      const asked = request.query.async === "true";
      if (asked && !jobs)
        throw new CounselError("jobs_unavailable", 503, "Ingestion jobs are not available.");
      /** Queues the items as a job and answers 202 with it. */
      const submit = async (items: Promise<JobItem[]>) => {
        const job = await (jobs as IngestJobs).queue.submit({ tenant: tenant.id, items: await items });
        return reply.code(202).header("location", `/ingest/jobs/${job.id}`).send(job);
      };
      const asJob = (bytes: number) => jobs !== undefined && (asked || bytes > jobs.asyncBytes);
      if (request.isMultipart()) {
        const uploads = await readUploads(request, jobs && { jobs, asJob });
        if (uploads.stashed) {
          try {
            return await submit(Promise.resolve(uploads.stashed));
          } catch (error) {
            await jobs?.unstash(uploads.stashed).catch(() => undefined);
            throw error;
          }
        }
        return checkReport(await pipeline.ingest(uploads.blobs, { signal }), uploads.blobs.length, app);
      }
      const { documents, s3, urls, cleanup } = request.body;
      if ([documents, s3, urls].filter((v) => v !== undefined).length !== 1) {
        throw new BadRequestError('Send one of "documents", "s3" or "urls".');
      }
      if (cleanup !== undefined && s3 === undefined) throw new BadRequestError('"cleanup" goes with "s3".');
      // S3 prefixes and URLs run as jobs when asked: their size is known only once listed or fetched.
      if (s3 !== undefined && asked) {
        parseS3Url(s3); // a bad URL is a 400 now, not a failed job later
        return submit(Promise.resolve([{ kind: "s3", url: s3, ...(cleanup ? { cleanup } : {}) }]));
      }
      if (urls !== undefined && asked) return submit(Promise.resolve([{ kind: "urls", urls }]));
      if (documents !== undefined) {
        const texts = documents as TextDocument[];
        if (asJob(texts.reduce((sum, d) => sum + Buffer.byteLength(d.text), 0))) {
          return submit(Promise.resolve([{ kind: "texts", documents: texts }]));
        }
      }
      if (urls !== undefined) {
        const report = await tenant.ingestUrls(urls, { signal });
        return checkReport(report, urls.length, app);
      }
      if (s3 !== undefined) {
        const report = await tenant.ingestS3(s3, { cleanup, signal });
        return checkReport(
          report,
          report.added + report.updated + report.skipped + report.failed.length,
          app,
        );
      }
      const report = await pipeline.ingestTexts(documents as TextDocument[], { signal });
      return checkReport(report, (documents as TextDocument[]).length, app);
    },
  );
};

/**
 * The request's files, as they arrive. They are held in memory while they add up to INGEST_ASYNC_BYTES at most
 * and no job was asked for: a small upload is ingested at once. Past that (or with `?async=true`), the held ones
 * and each next one go to the job stash as they arrive, so that a batch of any size costs one file's memory.
 */
async function readUploads(
  request: FastifyRequest,
  toJob: { jobs: IngestJobs; asJob: (bytes: number) => boolean } | undefined,
): Promise<{ blobs: SourceBlob[]; stashed?: undefined } | { blobs?: undefined; stashed: JobItem[] }> {
  let held: SourceBlob[] = [];
  let heldBytes = 0;
  let stashed: JobItem[] | undefined;
  let count = 0;
  try {
    for await (const part of request.parts()) {
      if (part.type !== "file") {
        throw new BadRequestError(
          `Unexpected form field "${part.fieldname}": send files in the field "files".`,
        );
      }
      if (part.fieldname !== "files") {
        part.file.resume();
        throw new BadRequestError(
          `Unexpected file field "${part.fieldname}": send files in the field "files".`,
        );
      }
      // toBuffer() throws a 413 when the file is over the upload limit.
      const data = await part.toBuffer();
      const name = safeFileName(part.filename, count);
      count += 1;
      const blob: SourceBlob = { name, source: `upload:${name}`, data, mediaType: part.mimetype };
      if (stashed && toJob) {
        stashed.push(await toJob.jobs.stashUpload(blob));
        continue;
      }
      held.push(blob);
      heldBytes += data.length;
      if (toJob?.asJob(heldBytes)) {
        stashed = [];
        for (const b of held) stashed.push(await toJob.jobs.stashUpload(b));
        held = [];
      }
    }
  } catch (error) {
    if (stashed) await toJob?.jobs.unstash(stashed).catch(() => undefined);
    if (error instanceof CounselError || (error as FastifyError).statusCode) throw error;
    // The multipart parser (busboy) reports a body that is not well-formed (no boundary, cut short) as a plain
    // Error: reading this request's parts is all that failed, so it is the body's fault, a 400.
    throw new CounselError(
      "malformed_multipart",
      400,
      `The multipart/form-data body is malformed (${(error as Error).message}): send files in the field "files".`,
    );
  }
  if (count === 0) throw new BadRequestError('No files were uploaded: send them in the field "files".');
  return stashed ? { stashed } : { blobs: held };
}

/** A display name only: never used as a path. Keeps the base name, without control characters. */
function safeFileName(raw: string | undefined, index: number): string {
  const cleaned = path.posix.basename((raw ?? "").replaceAll("\\", "/")).replace(/\p{Cc}/gu, "");
  const trimmed = cleaned.trim().slice(0, 255);
  return trimmed === "" || trimmed === "." || trimmed === ".." ? `upload-${index + 1}` : trimmed;
}

/**
 * Nothing ingested and every document failed: answer with the failure's status instead of a 200 (415 for
 * unsupported types, 502/503 when a service such as Textract failed them all, else 400).
 */
function checkReport(report: IngestReport, total: number, app?: FastifyInstance): IngestReport {
  if (app) countIngested(app, report);
  if (total === 0 || report.failed.length < total) return report;
  const [first] = report.failed;
  if (first.status >= 500 && report.failed.every((f) => f.status === first.status)) {
    throw new CounselError(first.code, first.status, describe(report), { failed: report.failed });
  }
  if (report.failed.every((f) => f.code === "unsupported_media_type")) {
    throw new CounselError("unsupported_media_type", 415, `${describe(report)}`, {
      supported: SUPPORTED_TYPES,
      failed: report.failed,
    });
  }
  // A reason ends with its own full stop ("… is empty."): one sentence, not ".:".
  const reason = describe(report).replace(/\.$/, "");
  throw new CounselError("ingest_failed", 400, `${reason}: nothing could be ingested.`, {
    failed: report.failed,
  });
}

function describe(report: IngestReport): string {
  return report.failed.length === 1
    ? `"${report.failed[0].name}": ${report.failed[0].error}`
    : `All ${report.failed.length} documents failed`;
}

/** Counts the report's documents on /metrics by outcome. */
function countIngested(app: FastifyInstance, report: IngestReport): void {
  for (const status of ["added", "updated", "skipped", "deleted"] as const) {
    if (report[status] > 0) app.metrics?.ingested(status, report[status]);
  }
  if (report.failed.length > 0) app.metrics?.ingested("failed", report.failed.length);
}

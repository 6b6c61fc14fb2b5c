// Ingestion jobs (POST /ingest?async=true answers with one): GET /ingest/jobs (the tenant's, newest first, by
// state: `failed` is the dead-letter view), GET /ingest/jobs/:id, GET /ingest/jobs/:id/events (its progress over
// SSE until it ends), DELETE /ingest/jobs/:id (cancel). Another tenant's job is a 404, as no job is.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { NotFoundError, UnavailableError } from "../../errors.ts";
import { FINISHED, type JobQueue, type JobView } from "../../jobs/queue.ts";
import { JobListReply, JobParams, JobReply, ListJobsQuery } from "../schemas/jobs.ts";
import { ProblemReplies } from "../schemas/problem.ts";
import { limitAsNumber } from "../schemas/query.ts";

export const jobRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    "/ingest/jobs",
    {
      config: { scopes: ["ingest"] },
      preValidation: async (request) => limitAsNumber(request),
      schema: {
        tags: ["ingest"],
        summary: "The tenant's ingestion jobs, newest first",
        description: "`state=failed` lists the jobs that failed after their last attempt (the dead letters).",
        querystring: ListJobsQuery,
        response: { 200: JobListReply, ...ProblemReplies },
      },
    },
    async (request) => {
      const { state, limit = 50 } = request.query;
      return { jobs: await queueOf(app).list(request.tenant.id, { state, limit }) };
    },
  );

  app.get(
    "/ingest/jobs/:id",
    {
      config: { scopes: ["ingest"] },
      schema: {
        tags: ["ingest"],
        summary: "One ingestion job: its state, progress and, once ended, its report",
        params: JobParams,
        response: { 200: JobReply, ...ProblemReplies },
      },
    },
    async (request) => found(await queueOf(app).get(request.tenant.id, request.params.id), request.params.id),
  );

  app.get(
    "/ingest/jobs/:id/events",
    {
      sse: true,
      config: { scopes: ["ingest"] },
      schema: {
        tags: ["ingest"],
        summary: "A job's progress as Server-Sent Events, until it ends",
        description:
          "`job` events, each the job as GET /ingest/jobs/:id gives it: the current one first, then one per " +
          "change; the stream ends after the event of a job that has ended.",
        params: JobParams,
        response: ProblemReplies,
      },
    },
    async (request, reply) => {
      const queue = queueOf(app);
      const tenant = request.tenant.id;
      const { id } = request.params;
      found(await queue.get(tenant, id), id); // a 404 before the stream opens
      const closed = new AbortController();
      request.raw.once("close", () => closed.abort());
      await reply.sse.send(jobEvents(queue, tenant, id, closed.signal));
    },
  );

  app.delete(
    "/ingest/jobs/:id",
    {
      config: { scopes: ["ingest"] },
      schema: {
        tags: ["ingest"],
        summary: "Cancel a job",
        description:
          "A queued job ends at once; a running one stops before its next document, keeping what it indexed. " +
          "A job that has already ended is a 409.",
        params: JobParams,
        response: { 202: JobReply, ...ProblemReplies },
      },
    },
    async (request, reply) => {
      const view = found(await queueOf(app).cancel(request.tenant.id, request.params.id), request.params.id);
      return reply.code(202).send(view);
    },
  );
};

function queueOf(app: FastifyInstance): JobQueue {
  const queue = app.services.jobs?.queue;
  if (!queue) throw new UnavailableError("Ingestion jobs are not available in this process.");
  return queue;
}

function found(view: JobView | undefined, id: string): JobView {
  if (!view) throw new NotFoundError(`No ingestion job ${JSON.stringify(id)} for this tenant.`);
  return view;
}

/** The job now, then each change, until it ends or the client goes. */
async function* jobEvents(queue: JobQueue, tenant: string, id: string, closed: AbortSignal) {
  const pending: JobView[] = [];
  let wake: (() => void) | undefined;
  const unwatch = queue.watch(tenant, id, (view) => {
    pending.push(view);
    wake?.();
  });
  const onClose = () => wake?.();
  closed.addEventListener("abort", onClose);
  try {
    // Read after watching, so that no change between the two is missed.
    const current = await queue.get(tenant, id);
    if (!current) return;
    yield { event: "job", data: current };
    if (FINISHED.has(current.state)) return;
    while (!closed.aborted) {
      if (pending.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      for (const view of pending.splice(0)) {
        yield { event: "job", data: view };
        if (FINISHED.has(view.state)) return;
      }
    }
  } finally {
    unwatch();
    closed.removeEventListener("abort", onClose);
  }
}

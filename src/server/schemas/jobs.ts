// What the ingestion job routes take and give back: a job's view (state, progress, report), a tenant's jobs.
import Type, { type Static } from "typebox";
import { IngestReply } from "./ingest.ts";

const jobState = (description: string) =>
  Type.Union(
    [
      Type.Literal("queued"),
      Type.Literal("running"),
      Type.Literal("completed"),
      Type.Literal("failed"),
      Type.Literal("cancelled"),
    ],
    { description },
  );

const Counts = Type.Object({ added: Type.Integer(), deleted: Type.Integer(), skipped: Type.Integer() });

export const JobReply = Type.Object({
  id: Type.String({ description: "The job's id, e.g. `j42`: later jobs have larger numbers." }),
  tenant: Type.String(),
  state: jobState(
    "`completed` (documents that failed for their own reason are in `report.failed`), `failed` (after its " +
      "last attempt: a service kept failing), `cancelled`.",
  ),
  createdAt: Type.String({ format: "date-time" }),
  startedAt: Type.Optional(Type.String({ format: "date-time" })),
  finishedAt: Type.Optional(Type.String({ format: "date-time" })),
  attempts: Type.Integer({ description: "Runs started: a retry, or a worker lost mid-job, starts another." }),
  progress: Type.Object({
    documents: Type.Object({
      total: Type.Optional(Type.Integer({ description: "Absent for an S3 prefix until it is listed." })),
      done: Type.Integer(),
      failed: Type.Integer(),
    }),
    chunks: Counts,
  }),
  report: Type.Optional(IngestReply),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
});

export const JobParams = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, description: "The job's id, as POST /ingest gave it." }),
});

export const ListJobsQuery = Type.Object(
  {
    state: Type.Optional(jobState("Only jobs in this state; `failed` is the dead-letter view.")),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  },
  { additionalProperties: false },
);
export type ListJobsQuery = Static<typeof ListJobsQuery>;

export const JobListReply = Type.Object({ jobs: Type.Array(JobReply, { description: "Newest first." }) });

export const AsyncQuery = Type.Object(
  {
    async: Type.Optional(
      Type.Union([Type.Literal("true"), Type.Literal("false")], {
        description:
          "Answer 202 with a job at once instead of the report when done; requests past INGEST_ASYNC_BYTES " +
          "run as jobs anyway.",
      }),
    ),
  },
  { additionalProperties: false },
);
export type AsyncQuery = Static<typeof AsyncQuery>;

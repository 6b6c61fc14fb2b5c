// What POST /ingest takes as JSON (texts, an S3 prefix or URLs) and the report it gives back.
import Type, { type Static } from "typebox";
import { Scalar } from "./json.ts";

export const IngestJsonBody = Type.Object(
  {
    s3: Type.Optional(
      Type.String({
        pattern: "^s3://",
        maxLength: 1100,
        description:
          "Every object under this S3 prefix, e.g. s3://bucket/handbook/. Unchanged objects are skipped.",
      }),
    ),
    urls: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 8192 }), {
        minItems: 1,
        maxItems: 100,
        description: "Web pages and files to fetch (http and https, public addresses only).",
      }),
    ),
    cleanup: Type.Optional(
      Type.Boolean({
        description: "With s3: also remove documents under the prefix whose objects are gone.",
      }),
    ),
    documents: Type.Optional(
      Type.Array(
        Type.Object(
          {
            text: Type.String({ minLength: 1, pattern: "\\S" }),
            metadata: Type.Optional(
              Type.Object(
                { doc_id: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })) },
                { maxProperties: 50, additionalProperties: Scalar },
              ),
            ),
          },
          { additionalProperties: false },
        ),
        { minItems: 1, maxItems: 1000 },
      ),
    ),
  },
  { additionalProperties: false },
);
export type IngestJsonBody = Static<typeof IngestJsonBody>;

const Count = Type.Optional(Type.Integer());

export const IngestReply = Type.Object({
  added: Count,
  updated: Count,
  skipped: Count,
  deleted: Count,
  failed: Type.Optional(
    Type.Array(
      Type.Object({
        name: Type.Optional(Type.String()),
        error: Type.Optional(Type.String()),
        code: Type.Optional(Type.String()),
        status: Type.Optional(
          Type.Integer({ description: "What the failure means alone: 4xx the document, 5xx a service." }),
        ),
      }),
    ),
  ),
  chunks: Type.Optional(Type.Object({ added: Count, deleted: Count, skipped: Count })),
});

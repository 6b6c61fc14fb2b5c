// The problem+json object (RFC 9457) every error reply is: registered once as the shared schema "problem"
// (plugins/errors.ts) and referenced by the routes' error replies, so that OpenAPI describes it once.
import Type, { type Static } from "typebox";

export const ProblemDetails = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
  },
  {
    $id: "problem",
    description: "An error, as application/problem+json (RFC 9457).",
    additionalProperties: true,
  },
);

export type ProblemDetails = Static<typeof ProblemDetails>;

/** A reply that is a problem: a reference to the shared schema. */
export const ProblemRef = Type.Ref("problem#");

/** A route's error replies: every 4xx and 5xx is a problem. */
export const ProblemReplies = { "4xx": ProblemRef, "5xx": ProblemRef };

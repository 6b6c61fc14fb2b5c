// A question to a qa chain and its answer, as POST /chain/qa and POST /chain/:name take and give them.
import Type, { type Static } from "typebox";
import { Dictionary, Scalar } from "./json.ts";
import { NAME } from "./names.ts";

/** A caller's session or user id, by which it keeps meeting the same variant. */
const KEY = "^[A-Za-z0-9_.:@-]{1,200}$";

export const QaBody = Type.Object(
  {
    question: Type.String({
      minLength: 1,
      maxLength: 4000,
      pattern: "\\S",
      description: "The question to answer.",
    }),
    k: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, description: "How many chunks to retrieve." })),
    filter: Type.Optional(
      Dictionary(Scalar, {
        description: 'Metadata equality filter, e.g. {"source": "/docs/memo.pdf"}.',
        maxProperties: 20,
      }),
    ),
    variant: Type.Optional(
      Type.String({
        pattern: NAME,
        description:
          "Run this experiment variant (also the x-counsel-variant header); default: chosen by weight.",
      }),
    ),
    sessionId: Type.Optional(
      Type.String({ pattern: KEY, description: "The caller's session: it always meets the same variant." }),
    ),
    userId: Type.Optional(
      Type.String({ pattern: KEY, description: "The caller's user id: it always meets the same variant." }),
    ),
  },
  { additionalProperties: false },
);
export type QaBody = Static<typeof QaBody>;

export const QaReply = Type.Object({
  answer: Type.Optional(
    Type.String({ description: "Cites its sources as [1], [2] in the order of `sources`." }),
  ),
  abstained: Type.Optional(Type.Boolean({ description: "True when the knowledge base held no answer." })),
  citations: Type.Optional(Type.Array(Type.Integer(), { description: "1-based indices into `sources`." })),
  sources: Type.Optional(
    Type.Array(
      Type.Object({
        id: Type.Optional(Type.String()),
        source: Type.Optional(Type.String()),
        page: Type.Optional(Type.Integer()),
        snippet: Type.Optional(Type.String()),
        quote: Type.Optional(
          Type.Object(
            { text: Type.String(), start: Type.Integer(), end: Type.Integer() },
            {
              description:
                "The span of the chunk that supports the answer's sentence citing it: the chunk's text from " +
                "`start` to `end` (UTF-16 offsets). Present when the chain verifies citations.",
            },
          ),
        ),
        score: Type.Optional(Type.Number()),
        cited: Type.Optional(Type.Boolean()),
        metadata: Type.Optional(
          Type.Unsafe<Record<string, unknown>>({ type: "object", additionalProperties: true }),
        ),
      }),
    ),
  ),
  verification: Type.Optional(
    Type.Object(
      {
        citations: Type.Integer({ description: "Citations the answer gave." }),
        verified: Type.Integer({ description: "Supported by the source they cite." }),
        repointed: Type.Integer({ description: "Moved to the source that supports their sentence." }),
        removed: Type.Integer({ description: "Supported by no source, or pointing at none: taken out." }),
        unchecked: Type.Integer({ description: "Their sentence has no content words to check." }),
      },
      {
        description:
          "How the answer's citations fared against their sources (docs/answers.md); absent when the chain " +
          "does not verify them.",
      },
    ),
  ),
  subQueries: Type.Optional(
    Type.Array(Type.String(), {
      description:
        "The sub-queries a question that asks several things was split into and retrieved by (retrieval.decompose).",
    }),
  ),
  chain: Type.Optional(Type.String()),
  variant: Type.Optional(Type.String()),
  runId: Type.Optional(Type.String({ description: "Send it with POST /feedback to score this answer." })),
  usage: Type.Optional(
    Type.Object(
      { inputTokens: Type.Optional(Type.Integer()), outputTokens: Type.Optional(Type.Integer()) },
      { description: "Model tokens of this answer (0 with the offline extractive answerer)." },
    ),
  ),
  model: Type.Optional(Type.String()),
  timings: Type.Optional(Dictionary(Type.Number())),
  guardrail: Type.Optional(
    Type.Object(
      {
        action: Type.Union([Type.Literal("blocked"), Type.Literal("masked")]),
        source: Type.Union([Type.Literal("input"), Type.Literal("output")]),
        message: Type.Optional(
          Type.String({ description: "blocked: the guardrail's message, in `answer`." }),
        ),
      },
      {
        description:
          "Present when the chain's guardrail blocked the question (nothing was retrieved or generated), " +
          "stopped the answer, or masked part of either. See docs/guardrails.md.",
      },
    ),
  ),
});

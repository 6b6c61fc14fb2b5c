// POST /chain/qa (the default qa chain) and POST /chain/:name (any qa chain in chains/), with the experiment
// variant chosen per request; GET /chains lists chains and variants; POST /feedback scores an answer by its
// runId; GET /chains/:name/stats compares the variants. Answers, runs and feedback are the caller's tenant's.
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import Type from "typebox";
import { SCOPES } from "../../auth/api-keys.ts";
import type { QaRunOptions } from "../../chains/qa-handle.ts";
import { UnknownVariantError } from "../../chains/variants.ts";
import { BadRequestError, NotFoundError, UnavailableError } from "../../errors.ts";
import { clientAbortSignal } from "../abort.ts";
import { NAME } from "../schemas/names.ts";
import { ProblemRef, ProblemReplies } from "../schemas/problem.ts";
import { QaBody, QaReply } from "../schemas/qa.ts";

/** A `:name` in the path: a chain's name. */
const NameParams = Type.Object({ name: Type.String({ pattern: NAME }) });

const FeedbackBody = Type.Object(
  {
    runId: Type.String({ pattern: "^[0-9a-f-]{36}$" }),
    score: Type.Number({ minimum: -1, maximum: 1 }),
    comment: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

export const chainRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const schema = (summary: string) => ({
    tags: ["chains"],
    summary,
    body: QaBody,
    response: { 200: QaReply, ...ProblemReplies },
  });

  const answer = async (name: string, body: QaBody, request: FastifyRequest, signal: AbortSignal) => {
    const { variant, sessionId, userId, ...input } = body;
    const header = request.headers["x-counsel-variant"];
    const options: QaRunOptions = {
      tenant: request.tenant,
      signal,
      variant: variant ?? (typeof header === "string" && header ? header : undefined),
      key: userId ?? sessionId,
    };
    return app.services
      .qaChain(name)
      .invoke(input, options)
      .then((reply) => {
        // What operations need to follow a request: never the question or the documents' text.
        request.log.info(
          {
            chain: name,
            variant: reply.variant,
            runId: reply.runId,
            model: reply.model,
            ms: reply.timings.totalMs,
            tokens: reply.usage,
            ...(reply.guardrail ? { guardrail: `${reply.guardrail.action} ${reply.guardrail.source}` } : {}),
          },
          "answered",
        );
        return reply;
      })
      .catch((error: unknown) => {
        if (error instanceof UnknownVariantError) throw new BadRequestError(error.message);
        throw error;
      });
  };

  app.post(
    "/chain/qa",
    {
      config: { scopes: ["query"], fairTurn: true },
      schema: schema("Answer a question from the knowledge base, with citations"),
    },
    async (request, reply) => answer("qa", request.body, request, clientAbortSignal(reply)),
  );

  app.post(
    "/chain/:name",
    {
      config: { scopes: ["query"], fairTurn: true },
      schema: { ...schema("Answer a question with a named qa chain from chains/"), params: NameParams },
    },
    async (request, reply) => answer(request.params.name, request.body, request, clientAbortSignal(reply)),
  );

  app.get(
    "/chains",
    {
      config: { scopes: [...SCOPES] },
      schema: {
        tags: ["chains"],
        summary: "The chains in chains/, with their experiment variants",
        description:
          "An advisor chain that cannot serve in this deployment (no model that can call tools) carries " +
          "`unavailable`: why, and how to configure one; its routes answer 503 with the same words.",
      },
    },
    async () => ({
      chains: [...app.services.chains.configs.values()].map((config) => {
        const qa = app.services.chains.qaChains().find((h) => h.name === config.name);
        return {
          name: config.name,
          type: config.type,
          description: config.description,
          prompt: config.prompt,
          model: config.model,
          retrieval: config.retrieval,
          ...(config.guardrail ? { guardrail: config.guardrail } : {}),
          variants: qa?.variants ?? [],
          ...(config.type === "advisor" ? unavailable(() => app.services.advisor(config.name)) : {}),
        };
      }),
    }),
  );

  app.post(
    "/feedback",
    {
      config: { scopes: ["query"] },
      schema: {
        tags: ["chains"],
        summary: "Score an answer: -1 (bad) to 1 (good); a second score for a run replaces the first",
        body: FeedbackBody,
        response: { "4xx": ProblemRef },
      },
    },
    async (request) => {
      const { runId, score, comment } = request.body;
      // The caller's own runs only: another tenant's runId is as unknown as a made-up one.
      const { runs } = request.tenant;
      const outcome = await runs.feedback(runId, { score, comment });
      if (outcome === "unknown_run") throw new NotFoundError(`No run ${runId} (runs are kept 30 days).`);
      return { runId, recorded: true };
    },
  );

  app.get(
    "/chains/:name/stats",
    {
      config: { scopes: ["admin"] },
      schema: {
        tags: ["chains"],
        summary: "Per variant: requests, mean feedback, latency p50/p95, tokens and estimated cost",
        params: NameParams,
      },
    },
    async (request) => {
      const { name } = request.params;
      if (!app.services.chains.configs.has(name)) throw new NotFoundError(`No chain named "${name}".`);
      const { runs } = request.tenant;
      return { chain: name, variants: await runs.stats(name) };
    },
  );
};

/** `{unavailable: why}` when opening the advisor throws UnavailableError (503), else nothing. */
function unavailable(open: () => unknown): { unavailable?: string } {
  try {
    open();
    return {};
  } catch (error) {
    if (error instanceof UnavailableError) return { unavailable: error.message };
    throw error;
  }
}

// POST /chain/qa (the default qa chain) and POST /chain/:name (any qa chain in chains/), with the experiment
// variant chosen per request; GET /chains lists chains and variants; POST /feedback scores an answer by its
// runId; GET /chains/:name/stats compares the variants. Answers, runs and feedback are the caller's tenant's.
import type { FastifyInstance, FastifyRequest } from "fastify";
import { SCOPES } from "../../auth/api-keys.ts";
import type { QaInput } from "../../chains/qa.ts";
import type { QaRunOptions } from "../../chains/qa-handle.ts";
import { UnknownVariantError } from "../../chains/variants.ts";
import { BadRequestError, NotFoundError } from "../../errors.ts";
import { clientAbortSignal } from "../abort.ts";

const VARIANT = "^[a-z0-9][a-z0-9_-]{0,63}$";
const KEY = "^[A-Za-z0-9_.:@-]{1,200}$";

const qaBody = {
  type: "object",
  required: ["question"],
  additionalProperties: false,
  properties: {
    question: {
      type: "string",
      minLength: 1,
      maxLength: 4000,
      pattern: "\\S",
      description: "The question to answer.",
    },
    k: { type: "integer", minimum: 1, maximum: 50, description: "How many chunks to retrieve." },
    filter: {
      type: "object",
      description: 'Metadata equality filter, e.g. {"source": "/docs/memo.pdf"}.',
      maxProperties: 20,
      additionalProperties: { type: ["string", "number", "boolean"] },
    },
    variant: {
      type: "string",
      pattern: VARIANT,
      description:
        "Run this experiment variant (also the x-counsel-variant header); default: chosen by weight.",
    },
    sessionId: {
      type: "string",
      pattern: KEY,
      description: "The caller's session: it always meets the same variant.",
    },
    userId: {
      type: "string",
      pattern: KEY,
      description: "The caller's user id: it always meets the same variant.",
    },
  },
} as const;

type QaBody = QaInput & { variant?: string; sessionId?: string; userId?: string };

const qaReply = {
  type: "object",
  properties: {
    answer: { type: "string", description: "Cites its sources as [1], [2] in the order of `sources`." },
    abstained: { type: "boolean", description: "True when the knowledge base held no answer." },
    citations: { type: "array", items: { type: "integer" }, description: "1-based indices into `sources`." },
    sources: {
      type: "array",
      items: {
        type: "object",
        properties: {
          id: { type: "string" },
          source: { type: "string" },
          page: { type: "integer" },
          snippet: { type: "string" },
          score: { type: "number" },
          cited: { type: "boolean" },
          metadata: { type: "object", additionalProperties: true },
        },
      },
    },
    chain: { type: "string" },
    variant: { type: "string" },
    runId: { type: "string", description: "Send it with POST /feedback to score this answer." },
    usage: {
      type: "object",
      description: "Model tokens of this answer (0 with the offline extractive answerer).",
      properties: { inputTokens: { type: "integer" }, outputTokens: { type: "integer" } },
    },
    model: { type: "string" },
    timings: { type: "object", additionalProperties: { type: "number" } },
  },
} as const;

export async function chainRoutes(app: FastifyInstance) {
  const schema = (summary: string) => ({
    tags: ["chains"],
    summary,
    body: qaBody,
    response: { 200: qaReply, "4xx": { $ref: "problem#" }, "5xx": { $ref: "problem#" } },
  });

  const answer = async (name: string, request: FastifyRequest<{ Body: QaBody }>, signal: AbortSignal) => {
    const { variant, sessionId, userId, ...input } = request.body;
    const header = request.headers["x-counsel-variant"];
    const options: Omit<QaRunOptions, "tenant"> = {
      signal,
      variant: variant ?? (typeof header === "string" && header ? header : undefined),
      key: userId ?? sessionId,
    };
    return app.services
      .qaChain(name)
      .invoke(input, { ...options, tenant: request.tenant })
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

  app.post<{ Body: QaBody }>(
    "/chain/qa",
    {
      config: { scopes: ["query"], fairTurn: true },
      schema: schema("Answer a question from the knowledge base, with citations"),
    },
    async (request, reply) => answer("qa", request, clientAbortSignal(reply)),
  );

  app.post<{ Body: QaBody; Params: { name: string } }>(
    "/chain/:name",
    {
      config: { scopes: ["query"], fairTurn: true },
      schema: {
        ...schema("Answer a question with a named qa chain from chains/"),
        params: {
          type: "object",
          properties: { name: { type: "string", pattern: "^[a-z0-9][a-z0-9_-]{0,63}$" } },
        },
      },
    },
    async (request, reply) => answer(request.params.name, request, clientAbortSignal(reply)),
  );

  app.get(
    "/chains",
    {
      config: { scopes: [...SCOPES] },
      schema: { tags: ["chains"], summary: "The chains in chains/, with their experiment variants" },
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
          variants: qa?.variants ?? [],
        };
      }),
    }),
  );

  app.post<{ Body: { runId: string; score: number; comment?: string } }>(
    "/feedback",
    {
      config: { scopes: ["query"] },
      schema: {
        tags: ["chains"],
        summary: "Score an answer: -1 (bad) to 1 (good); a second score for a run replaces the first",
        body: {
          type: "object",
          required: ["runId", "score"],
          additionalProperties: false,
          properties: {
            runId: { type: "string", pattern: "^[0-9a-f-]{36}$" },
            score: { type: "number", minimum: -1, maximum: 1 },
            comment: { type: "string", maxLength: 2000 },
          },
        },
        response: { "4xx": { $ref: "problem#" } },
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

  app.get<{ Params: { name: string } }>(
    "/chains/:name/stats",
    {
      config: { scopes: ["admin"] },
      schema: {
        tags: ["chains"],
        summary: "Per variant: requests, mean feedback, latency p50/p95, tokens and estimated cost",
        params: {
          type: "object",
          properties: { name: { type: "string", pattern: "^[a-z0-9][a-z0-9_-]{0,63}$" } },
        },
      },
    },
    async (request) => {
      const { name } = request.params;
      if (!app.services.chains.configs.has(name)) throw new NotFoundError(`No chain named "${name}".`);
      const { runs } = request.tenant;
      return { chain: name, variants: await runs.stats(name) };
    },
  );
}

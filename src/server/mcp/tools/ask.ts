// ask over MCP: a question to a qa chain, answered exactly as POST /chain/:name answers it (the chain's handle,
// an experiment variant chosen per call, the run recorded for the tenant, so that POST /feedback can score it).
import { z } from "zod/v4";
import { searchInput } from "../../../agent/tools/search-knowledge-base.ts";
import { UnknownVariantError } from "../../../chains/variants.ts";
import { NAME } from "../../../contracts/names.ts";
import { defineTool, ToolError } from "../tool.ts";

const Source = z.object({
  n: z.number().int().describe("The number the answer cites it by, [n]."),
  id: z.string(),
  source: z.string().describe("The document it came from: a file name, URL or s3:// key."),
  page: z.number().int().optional(),
  snippet: z.string().describe("The sentences the answer quotes from it, else its opening."),
  quote: z
    .object({ text: z.string(), start: z.number().int(), end: z.number().int() })
    .optional()
    .describe(
      "The span of the chunk that supports the sentence citing it, as offsets into the chunk's text.",
    ),
  score: z.number(),
  cited: z.boolean().describe("Whether the answer cites it."),
});

export const ask = defineTool({
  name: "ask",
  title: "Ask the knowledge base",
  description:
    "Answer a question from the organisation's documents, citing its sources as [1], [2] in the order of " +
    "`sources`. When nothing relevant is found it says so and returns no sources. The runId scores the " +
    "answer through Counsel's POST /feedback.",
  scope: "query",
  input: {
    question: z.string().min(1).max(4000).regex(/\S/).describe("The question to answer."),
    chain: z.string().regex(NAME).default("qa").describe("A qa chain from chains/; default qa."),
    variant: z
      .string()
      .regex(NAME)
      .optional()
      .describe("Run this experiment variant of the chain; default: chosen by weight."),
    k: z.number().int().min(1).max(50).optional().describe("How many chunks to retrieve (1-50)."),
    filter: searchInput.shape.filter,
  },
  output: {
    answer: z.string(),
    citations: z.array(z.number().int()).describe("The source numbers the answer cites."),
    sources: z.array(Source),
    abstained: z.boolean().describe("True when the knowledge base held no answer."),
    verification: z
      .object({
        citations: z.number().int(),
        verified: z.number().int(),
        repointed: z.number().int(),
        removed: z.number().int(),
        unchecked: z.number().int(),
      })
      .optional()
      .describe(
        "How the answer's citations fared against their sources (absent when the chain does not check them).",
      ),
    runId: z.string(),
    chain: z.string(),
    variant: z.string(),
    model: z.string(),
    guardrail: z
      .object({
        action: z.enum(["blocked", "masked"]),
        source: z.enum(["input", "output"]),
        message: z.string().optional(),
      })
      .optional()
      .describe("Present when the chain's guardrail blocked the question or answer, or masked part of it."),
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run({ question, chain, variant, k, filter }, { services, tenant, signal }) {
    const reply = await services
      .qaChain(chain)
      .invoke({ question, k, filter }, { tenant, variant, signal })
      .catch((error: unknown) => {
        if (error instanceof UnknownVariantError) throw new ToolError(error.message);
        throw error;
      });
    return {
      answer: reply.answer,
      citations: reply.citations,
      sources: reply.sources.map(({ metadata: _metadata, ...source }, i) => ({ n: i + 1, ...source })),
      abstained: reply.abstained,
      ...(reply.verification ? { verification: reply.verification } : {}),
      runId: reply.runId,
      chain: reply.chain,
      variant: reply.variant,
      model: reply.model,
      ...(reply.guardrail ? { guardrail: reply.guardrail } : {}),
    };
  },
});

// search_knowledge_base over MCP: the advisor's search (its chain's retrieval settings, through the same
// chainSearcher), returning the chunks themselves rather than text for a model to cite.
import { z } from "zod/v4";
import { SourceRegistry } from "../../../agent/sources.ts";
import { searchInput } from "../../../agent/tools/search-knowledge-base.ts";
import type { ChainConfig } from "../../../chains/config.ts";
import { chainSearcher } from "../../../chains/searcher.ts";
import { NotFoundError } from "../../../errors.ts";
import { defineTool, type McpServices } from "../tool.ts";

/** The chain whose retrieval settings search uses: the advisor's, else (a deployment without it) the qa chain's. */
export const SEARCH_CHAINS = ["advisor", "qa"];

export const Chunk = z.object({
  n: z.number().int().describe("The chunk's rank in this result, from 1."),
  id: z.string().describe("The chunk's id in the index."),
  source: z.string().describe("The document it came from: a file name, URL or s3:// key."),
  page: z.number().int().optional(),
  snippet: z.string().describe("The chunk's first ~300 characters."),
  score: z.number().describe("Higher is better; comparable only within one result."),
});

function searchConfig(services: McpServices): ChainConfig {
  for (const name of SEARCH_CHAINS) {
    const config = services.chains.configs.get(name);
    if (config) return config;
  }
  throw new NotFoundError(`No chain to search with: ${SEARCH_CHAINS.join(" or ")} (chains/<name>.yaml).`);
}

export const searchKnowledgeBase = defineTool({
  name: "search_knowledge_base",
  title: "Search the knowledge base",
  description:
    "Search the organisation's documents (hybrid vector and keyword search). Returns the best-matching " +
    "chunks with their source document, page, score and opening text.",
  scope: "query",
  input: {
    ...searchInput.shape,
    k: z
      .number()
      .int()
      .min(1)
      .max(50)
      .optional()
      .describe("How many chunks to return (1-50); default: the advisor chain's retrieval.k."),
  },
  output: { chunks: z.array(Chunk) },
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run({ query, filter, k }, { services, tenant, signal }) {
    const config = searchConfig(services);
    const searcher = chainSearcher(config, tenant.index);
    // The chain's own filter wins over the caller's, as for the advisor's tool: it bounds what may be searched.
    const found = await searcher.search(query, {
      k: k ?? config.retrieval.k,
      filter: { ...filter, ...config.retrieval.filter },
    });
    signal.throwIfAborted();
    return { chunks: new SourceRegistry().add(found) };
  },
});

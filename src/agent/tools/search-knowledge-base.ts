// search_knowledge_base: the advisor's way into the organisation's documents. It runs the search its chain
// configures (hybrid, vector, lexical or MMR) and returns the chunks numbered for citation ([n], numbered across
// the whole turn) as text for the model, with the sources as the tool's artifact for the client's `sources` event.
import { tool } from "@langchain/core/tools";
import { z } from "zod/v4";
import type { MetadataFilter, Searcher } from "../../contracts/search.ts";
import { SourceRegistry } from "../sources.ts";

export interface SearchToolOptions {
  searcher: Searcher;
  /** Chunks per search. */
  k: number;
  /** Metadata every search is limited to (the chain's filter). */
  filter?: MetadataFilter;
}

/** The tool's input; also what MCP's search_knowledge_base takes (src/server/mcp/), with a k besides. */
export const searchInput = z.object({
  query: z.string().min(1).max(1000).describe("What to look for, in plain words."),
  filter: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .optional()
    .describe('Metadata that results must match exactly, e.g. {"source": "s3://docs/handbook.pdf"}.'),
});

/** The registry of the turn the tool runs in, passed by the agent run as `configurable.sources`. */
export function turnSources(config: { configurable?: Record<string, unknown> } | undefined): SourceRegistry {
  const registry = config?.configurable?.sources;
  return registry instanceof SourceRegistry ? registry : new SourceRegistry();
}

export function createSearchTool({ searcher, k, filter }: SearchToolOptions) {
  return tool(
    async ({ query, filter: asked }, config) => {
      config?.signal?.throwIfAborted();
      const found = await searcher.search(query, { k, filter: { ...asked, ...filter } });
      const sources = turnSources(config).add(found);
      if (sources.length === 0) return ["Nothing in the knowledge base matches that query.", { sources }];
      // The chunks are data, not instructions: fenced, and tags that could close the fence defused.
      const text = found
        .map(({ document }, i) => {
          const { n, source, page } = sources[i];
          const where = page === undefined ? source : `${source}, page ${page}`;
          const body = document.pageContent.replace(/<\/?\s*documents?\s*>/gi, "").trim();
          return `[${n}] (${where})\n${body}`;
        })
        .join("\n\n");
      return [`<documents>\n${text}\n</documents>\nCite these as [n].`, { sources }];
    },
    {
      name: "search_knowledge_base",
      description:
        "Search the organisation's documents. Returns numbered excerpts to cite as [n]. Use it before answering " +
        "any question about the organisation, its policies, data or documents; search again with other words " +
        "if the first results do not answer.",
      schema: searchInput,
      responseFormat: "content_and_artifact",
    },
  );
}

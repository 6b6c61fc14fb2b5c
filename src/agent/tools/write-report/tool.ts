// write_report: the advisor researches a topic in the knowledge base and saves a structured, cited Markdown
// report for GET /reports/:id. The model plans the searches and writes the prose; the code numbers the sources
// and writes the Sources section, so that every source a report lists is a chunk retrieval really returned.
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { tool } from "@langchain/core/tools";
import { z } from "zod/v4";
import type { MetadataFilter, Searcher } from "../../../contracts/search.ts";
import type { TurnSource } from "../../../contracts/turn-events.ts";
import type { ReportStore } from "../../../store/report-store.ts";
import { checkPromptSet } from "../prompt-set.ts";
import { turnSources } from "../search-knowledge-base.ts";
import { askUnder } from "./ask.ts";
import { REPORT_LENGTHS, writeDraft } from "./draft.ts";
import { gatherSources } from "./gather.ts";
import { oneLine } from "./one-line.ts";
import { planQueries } from "./plan.ts";
import { WRITE_REPORT_PROMPTS, type WriteReportPrompts } from "./prompts.ts";
import { composeReport, summarize } from "./publish.ts";
import { repairDraft } from "./repair.ts";

export interface WriteReportToolOptions {
  searcher: Searcher;
  /** Plans the searches and writes the report. */
  model: BaseChatModel;
  reports: ReportStore;
  /** The report, planning and repair prompts (loadWriteReportPrompts). */
  prompts: WriteReportPrompts;
  /** Chunks per search query. Default 6. */
  k?: number;
  /** Chunks the report is written from at most, best first. Default 12. */
  maxSources?: number;
  /** Metadata every search is limited to (the chain's filter), as for search_knowledge_base. */
  filter?: MetadataFilter;
}

/**
 * What the turn's events get besides the model's text: the report's link, the sources it cites, and `summary`,
 * the result as people read it (the model's text also tells the model what to do with the link). The sources
 * are numbered in the turn's sequence, as every tool of the turn numbers them; the report numbers its own.
 * The link is absolute when the run passes `configurable.baseUrl` (the request's origin).
 */
export type WriteReportArtifact =
  | { reportId: string; url: string; title: string; sources: TurnSource[]; summary: string }
  /** Nothing was found, so no report was written. */
  | { reportId: null; url: null; title: null; sources: []; summary: string };

const DEFAULT_K = 6;
const DEFAULT_MAX_SOURCES = 12;
const DEFAULT_AUDIENCE = "a general business reader";

/** The tool's input, for the agent's model and for MCP clients alike. */
export const writeReportInput = z.object({
  topic: z.string().min(1).max(500).describe("What the report is about, in plain words."),
  audience: z
    .string()
    .max(300)
    .default(DEFAULT_AUDIENCE)
    .describe('Who will read it, e.g. "the board" or "new engineers".'),
  length: z.enum(REPORT_LENGTHS).default("medium").describe("short, medium or long."),
});

/**
 * The write_report tool: plan, gather, draft, repair if needed, save. Its artifact carries the report's link.
 *
 * @example
 * const prompts = await loadWriteReportPrompts(promptsDir);
 * const writeReport = createWriteReportTool({ searcher, model, reports, prompts, k: 6 });
 */
export function createWriteReportTool(options: WriteReportToolOptions) {
  const { searcher, model, reports, prompts, filter } = options;
  const k = positiveInteger("k", options.k ?? DEFAULT_K);
  const maxSources = positiveInteger("maxSources", options.maxSources ?? DEFAULT_MAX_SOURCES);
  checkPromptSet("write_report", WRITE_REPORT_PROMPTS, prompts);

  return tool(
    async (input, config): Promise<[string, WriteReportArtifact]> => {
      const signal = config?.signal;
      signal?.throwIfAborted();
      const topic = oneLine(input.topic);
      const audience = oneLine(input.audience) || DEFAULT_AUDIENCE;
      const ask = askUnder(model, config);

      const queries = await planQueries(ask, prompts.plan, topic, audience);
      const found = await gatherSources(searcher, queries, { k, max: maxSources, filter });
      // The searcher takes no signal: stop here rather than pay for the longest model call of the tool.
      signal?.throwIfAborted();
      if (found.length === 0) {
        const nothing = `Nothing in the knowledge base matches "${topic}", so no report was written.`;
        return [nothing, { reportId: null, url: null, title: null, sources: [], summary: nothing }];
      }

      const first = await writeDraft(ask, prompts.report, { topic, audience, length: input.length }, found);
      // One repair: a missing section or an uncited report is worth a second call.
      const draft = first.draft.problems.length
        ? await repairDraft(ask, prompts.repair, first, found.length, topic)
        : first.draft;
      signal?.throwIfAborted();

      const report = composeReport(draft, found, { topic, audience });
      await reports.save(report);
      const path = `/reports/${report.id}`;
      const baseUrl = config?.configurable?.baseUrl;
      // A link a browser (or the model's answer) can use as is, wherever the client is served from.
      const url = typeof baseUrl === "string" ? new URL(path, baseUrl).href : path;
      const summary = summarize(draft.markdown);
      const sources = turnSources(config).add(draft.cited.map((n) => found[n - 1]));
      const cites = `it cites ${sources.length} source${sources.length === 1 ? "" : "s"}`;
      const saved = `The report "${report.title}" is saved at ${url} (${cites}).`;
      const details = [
        ...(summary ? [`Summary: ${summary}`] : []),
        ...(draft.problems.length ? [`Note: the report ${draft.problems.join("; ")}.`] : []),
      ];
      // The instruction is for the model alone: the events carry results to people, never prompts.
      return [
        [`${saved} Give the user this link.`, ...details].join("\n"),
        { reportId: report.id, url, title: report.title, sources, summary: [saved, ...details].join("\n") },
      ];
    },
    {
      name: "write_report",
      description:
        "Research a topic in the organisation's documents and write a structured report (executive " +
        "summary, findings with citations, recommendations), saved at a link. Use it when the user asks " +
        "for a report, brief or write-up rather than a quick answer; it takes longer than a search. " +
        "Returns the report's title, link and a short summary.",
      schema: writeReportInput,
      responseFormat: "content_and_artifact",
    },
  );
}

function positiveInteger(name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0))
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

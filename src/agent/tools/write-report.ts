// write_report: the advisor researches a topic in the knowledge base and writes a structured, cited Markdown
// report, which it saves for GET /reports/:id. The model plans the searches and writes the prose; the code
// numbers the sources, drops citations that point at nothing and writes the Sources section itself, so that
// every source a report lists is a chunk that retrieval really returned.
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage, HumanMessage } from "@langchain/core/messages";
import type { PromptTemplate } from "@langchain/core/prompts";
import type { RunnableConfig } from "@langchain/core/runnables";
import { tool } from "@langchain/core/tools";
import { z } from "zod/v4";
import {
  chunkId,
  citedNumbers,
  keepValidCitations,
  opening,
  withoutCitations,
} from "../../chains/citations.ts";
import { formatContext, sourceOf } from "../../chains/prompts.ts";
import type { MetadataFilter, ScoredDocument, Searcher } from "../../contracts/search.ts";
import { newReportId, type Report, type ReportSource, type ReportStore } from "../../store/report-store.ts";

export interface WriteReportToolOptions {
  searcher: Searcher;
  /** Plans the searches and writes the report. */
  model: BaseChatModel;
  reports: ReportStore;
  /** prompts/write-report.md (loadPrompt), with the placeholders {topic} {audience} {length} {context}. */
  prompt: PromptTemplate;
  /** Chunks per search query. Default 6. */
  k?: number;
  /** Chunks the report is written from at most, best first. Default 12. */
  maxSources?: number;
  /** Metadata every search is limited to (the chain's filter), as for search_knowledge_base. */
  filter?: MetadataFilter;
}

/** What the SSE layer gets besides the model's text: the report's link and the sources it cites. */
export type WriteReportArtifact =
  | { reportId: string; url: string; title: string; sources: ReportSource[] }
  /** Nothing was found, so no report was written. */
  | { reportId: null; url: null; title: null; sources: [] };

export const REPORT_LENGTHS = ["short", "medium", "long"] as const;
export type ReportLength = (typeof REPORT_LENGTHS)[number];
export const REPORT_PROMPT_VARIABLES = ["topic", "audience", "length", "context"] as const;
export const REQUIRED_SECTIONS = ["Executive summary", "Findings", "Recommendations"] as const;

const DEFAULT_K = 6;
const DEFAULT_MAX_SOURCES = 12;
const MIN_QUERIES = 3;
const MAX_QUERIES = 5;
const MAX_QUERY_CHARS = 200;
const MAX_TITLE_CHARS = 200;
// Reciprocal-rank fusion's offset: the searcher's scores are comparable only within one result list.
const RRF_K = 60;

const SECTION_HEADINGS: Record<(typeof REQUIRED_SECTIONS)[number], RegExp> = {
  "Executive summary": /^(?:\d+[.)]?\s*)?executive summary\b/i,
  Findings: /^(?:\d+[.)]?\s*)?(?:key\s+)?findings\b/i,
  Recommendations: /^(?:\d+[.)]?\s*)?recommendations?\b/i,
};
// A list of sources the model wrote anyway: replaced by the one made from the real chunks.
const MODEL_SOURCES_HEADING = /^(?:sources|references|bibliography|citations|works cited)\b/i;

export function createWriteReportTool(options: WriteReportToolOptions) {
  const { searcher, model, reports, prompt, filter } = options;
  const k = positiveInteger("k", options.k ?? DEFAULT_K);
  const maxSources = positiveInteger("maxSources", options.maxSources ?? DEFAULT_MAX_SOURCES);
  checkPromptVariables(prompt);

  return tool(
    async (input, config): Promise<[string, WriteReportArtifact]> => {
      const signal = config?.signal;
      signal?.throwIfAborted();
      const topic = oneLine(input.topic);
      const audience = oneLine(input.audience) || "a general business reader";
      const { length } = input;

      const planned = await ask(model, [new HumanMessage(planningPrompt(topic, audience))], config, "plan");
      const queries = parseQueries(planned);
      if (queries.length === 0) queries.push(topic.slice(0, MAX_QUERY_CHARS));
      const found = fuseResults(
        await Promise.all(
          queries.map((query) => searcher.search(query, { k, ...(filter ? { filter } : {}) })),
        ),
        maxSources,
      );
      // The searcher takes no signal: stop here rather than pay for the longest model call of the tool.
      signal?.throwIfAborted();
      if (found.length === 0)
        return [
          `Nothing in the knowledge base matches "${topic}", so no report was written.`,
          { reportId: null, url: null, title: null, sources: [] },
        ];

      const request = new HumanMessage(
        await prompt.format({ topic, audience, length, context: formatContext(found) }),
      );
      const reply = await ask(model, [request], config, "write");
      let draft = checkDraft(reply, found.length, topic);
      // One repair: a missing section or an uncited report is worth a second call, and rarely survives it;
      // a second failure is kept (the better of the two drafts) and reported to the agent, not retried.
      if (draft.problems.length) {
        const retry: BaseMessage[] = reply.trim()
          ? [request, new AIMessage(reply), new HumanMessage(repairRequest(draft.problems))]
          : [request]; // an empty turn is something some providers (Bedrock) refuse
        const repaired = checkDraft(await ask(model, retry, config, "repair"), found.length, topic);
        if (repaired.problems.length <= draft.problems.length) draft = repaired;
      }
      signal?.throwIfAborted();

      const sources: ReportSource[] = draft.cited.map((n) => {
        const { document } = found[n - 1];
        return {
          n,
          id: chunkId(document),
          ...sourceOf(document.metadata),
          snippet: opening(document.pageContent),
        };
      });
      const id = newReportId();
      const url = `/reports/${id}`;
      const report: Report = {
        id,
        title: draft.title,
        topic,
        audience,
        markdown: `${draft.markdown}\n\n${sourcesSection(sources)}\n`,
        sources,
        createdAt: new Date().toISOString(),
      };
      await reports.save(report);

      const summary = summarize(draft.markdown);
      const cites = `it cites ${sources.length} source${sources.length === 1 ? "" : "s"}`;
      const lines = [
        `The report "${report.title}" is saved at ${url} (${cites}). Give the user this link.`,
        ...(summary ? [`Summary: ${summary}`] : []),
        ...(draft.problems.length ? [`Note: the report ${draft.problems.join("; ")}.`] : []),
      ];
      return [lines.join("\n"), { reportId: id, url, title: report.title, sources }];
    },
    {
      name: "write_report",
      description:
        "Research a topic in the organisation's documents and write a structured report (executive " +
        "summary, findings with citations, recommendations), saved at a link. Use it when the user asks " +
        "for a report, brief or write-up rather than a quick answer; it takes longer than a search. " +
        "Returns the report's title, link and a short summary.",
      schema: z.object({
        topic: z.string().min(1).max(500).describe("What the report is about, in plain words."),
        audience: z
          .string()
          .max(300)
          .default("a general business reader")
          .describe('Who will read it, e.g. "the board" or "new engineers".'),
        length: z.enum(REPORT_LENGTHS).default("medium").describe("short, medium or long."),
      }),
      responseFormat: "content_and_artifact",
    },
  );
}

/**
 * Search queries from the model's reply: a JSON array (bare, fenced, or inside prose), else one per line with
 * list markers and quotes stripped. At most five, without repeats; [] when the reply has none.
 */
export function parseQueries(reply: string): string[] {
  const text = reply.replace(/```[\w-]*/g, "").trim();
  let candidates: unknown[] | undefined;
  const start = text.indexOf("[");
  const end = text.lastIndexOf("]");
  if (start >= 0 && end > start) {
    try {
      const parsed: unknown = JSON.parse(text.slice(start, end + 1));
      if (Array.isArray(parsed)) candidates = parsed;
    } catch {
      // Not JSON after all (e.g. "[draft] …" in a list): read it line by line below.
    }
  }
  candidates ??= text
    .split("\n")
    .map((line) => line.replace(/^\s*(?:[-*•+]|\d{1,2}[.)]|query\s*\d*\s*:)\s*/i, ""))
    // A line ending in a colon introduces the list ("Here are the queries:"); it is not one.
    .filter((line) => !/:\s*$/.test(line));

  const queries = new Map<string, string>();
  for (const candidate of candidates) {
    const value =
      typeof candidate === "string"
        ? candidate
        : typeof (candidate as { query?: unknown } | null)?.query === "string"
          ? (candidate as { query: string }).query
          : "";
    const query = oneLine(value)
      .replace(/^["'“‘]+|["'”’]+,?$|,$/g, "")
      .trim()
      .slice(0, MAX_QUERY_CHARS);
    if (query && !queries.has(query.toLowerCase())) queries.set(query.toLowerCase(), query);
  }
  return [...queries.values()].slice(0, MAX_QUERIES);
}

/** The sections of a draft, checked and cleaned; `markdown` has no Sources section yet. */
export interface CheckedDraft {
  title: string;
  markdown: string;
  /** The source numbers it cites, ascending, all within 1..count. */
  cited: number[];
  /** What is wrong with it, as phrases that follow "the report": 'lacks the "## Findings" section'. */
  problems: string[];
}

/**
 * Cleans a model's report: unwraps a ```markdown fence, drops any preamble before the `# ` title and any
 * sources list the model wrote, removes citations outside 1..count, and names the required sections it lacks.
 */
export function checkDraft(reply: string, count: number, topic: string): CheckedDraft {
  let text = reply.replace(/\r\n?/g, "\n").trim();
  const fenced = /^```(?:markdown|md)?[ \t]*\n([\s\S]*?)\n```$/i.exec(text);
  if (fenced) text = fenced[1].trim();
  text = keepValidCitations(text, count);

  let blocks = splitSections(text).filter((b) => !(b.level === 2 && MODEL_SOURCES_HEADING.test(b.heading)));
  const titleAt = blocks.findIndex((b) => b.level === 1);
  // "Here is your report:" before the title goes; text before a misplaced title (after a section) stays.
  if (titleAt > 0 && blocks.slice(0, titleAt).every((b) => b.level === 0)) blocks = blocks.slice(titleAt);
  const titleBlock = blocks.find((b) => b.level === 1);
  const title = cleanTitle(titleBlock?.heading ?? "") || cleanTitle(topic) || "Report";
  if (titleBlock) titleBlock.heading = title;
  else blocks.unshift({ level: 1, heading: title, body: "" });

  const markdown = blocks
    .map((b) =>
      [b.level ? `${"#".repeat(b.level)} ${b.heading}` : "", b.body.trim()].filter(Boolean).join("\n\n"),
    )
    .filter(Boolean)
    .join("\n\n");
  const cited = citedNumbers(markdown, count);
  const problems = REQUIRED_SECTIONS.filter(
    (name) => !blocks.some((b) => b.level === 2 && SECTION_HEADINGS[name].test(b.heading)),
  ).map((name) => `lacks the "## ${name}" section`);
  if (cited.length === 0) problems.push("cites none of the sources");
  return { title, markdown, cited, problems };
}

/** The sources section, made from the chunks the report cites, in the order of their numbers. */
function sourcesSection(sources: ReportSource[]): string {
  if (sources.length === 0)
    return "## Sources\n\nThe report cites none of the documents it was written from.";
  const lines = sources.map(
    ({ n, source, page }) => `- [${n}] ${page === undefined ? source : `${source}, page ${page}`}`,
  );
  return `## Sources\n\n${lines.join("\n")}`;
}

/**
 * Two or three sentences of the executive summary (else of the report's first paragraph), without citations:
 * the agent's numbering of sources is not the report's, so report numbers must not leak into its answer.
 */
function summarize(markdown: string): string {
  const blocks = splitSections(markdown);
  const summary = blocks.find((b) => b.level === 2 && SECTION_HEADINGS["Executive summary"].test(b.heading));
  const body = summary?.body.trim() || blocks.find((b) => b.body.trim())?.body.trim() || "";
  const flat = withoutCitations(body)
    .replace(/^\s*(?:[-*+]|\d+[.)])\s+/gm, "")
    .replace(/[*_`]/g, "")
    .replace(/\s+/g, " ")
    .trim();
  const sentences = flat.split(/(?<=[.!?])\s+(?=["'(\p{Lu}\d])/u);
  let text = "";
  for (const [i, sentence] of sentences.entries()) {
    if (i === 3 || (i === 2 && text.length > 300)) break;
    text += (text ? " " : "") + sentence;
  }
  return text.length > 600 ? `${text.slice(0, 599).trimEnd()}…` : text;
}

interface Section {
  /** 0 for text before the first heading. */
  level: number;
  heading: string;
  body: string;
}

/** The text cut at its `# ` and `## ` headings; deeper headings stay in their section's body. */
function splitSections(markdown: string): Section[] {
  const sections: Section[] = [{ level: 0, heading: "", body: "" }];
  let fence = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    const heading = fence ? null : /^(#{1,2})[ \t]+(.*?)[ \t#]*$/.exec(line);
    if (heading) sections.push({ level: heading[1].length, heading: heading[2].trim(), body: "" });
    else (sections.at(-1) as Section).body += `${line}\n`;
  }
  return sections.filter((s) => s.level > 0 || s.body.trim());
}

/**
 * Merges the result lists of the queries by reciprocal rank (a chunk found by several queries rises), keeping
 * the best `max`, so that [n] numbers the chunks by how well they serve the whole topic.
 */
function fuseResults(lists: ScoredDocument[][], max: number): ScoredDocument[] {
  const fused = new Map<string, ScoredDocument>();
  for (const hits of lists) {
    hits.forEach(({ document }, rank) => {
      const key = chunkId(document) || `${document.pageContent}\u0000${JSON.stringify(document.metadata)}`;
      const entry = fused.get(key);
      if (entry) entry.score += 1 / (RRF_K + rank + 1);
      else fused.set(key, { document, score: 1 / (RRF_K + rank + 1) });
    });
  }
  // A stable sort: equal scores keep the order the chunks were first found in.
  return [...fused.values()].sort((a, b) => b.score - a.score).slice(0, max);
}

/**
 * One model call under the tool's run: its signal (an abort stops the call) and callbacks (tracing, events).
 * Tagged nostream so that LangGraph's "messages" stream does not show the report's tokens as the agent's
 * answer; streamEvents consumers can skip runs tagged "write_report" for the same reason.
 */
async function ask(
  model: BaseChatModel,
  messages: BaseMessage[],
  config: RunnableConfig | undefined,
  step: "plan" | "write" | "repair",
): Promise<string> {
  const message = await model.invoke(messages, {
    signal: config?.signal,
    callbacks: config?.callbacks,
    runName: `write_report:${step}`,
    tags: ["write_report", "nostream"],
  });
  return message.text;
}

function planningPrompt(topic: string, audience: string): string {
  return [
    "You plan the research for a report drawn from an organisation's own documents.",
    "",
    `<topic>\n${topic}\n</topic>`,
    `<audience>\n${audience}\n</audience>`,
    "",
    `Write ${MIN_QUERIES} to ${MAX_QUERIES} search queries that together cover the topic: its facts and ` +
      "figures, causes, risks and options.",
    "Each query is a few keywords or a short question, in the language of the topic, and looks for " +
      "something the others do not.",
    "Reply with a JSON array of strings and nothing else, for example: " +
      '["first query", "second query", "third query"]',
  ].join("\n");
}

function repairRequest(problems: string[]): string {
  return [
    `Your report ${problems.join(" and ")}.`,
    'Rewrite the whole report with exactly this structure: a "# " title, then',
    `${REQUIRED_SECTIONS.map((name) => `"## ${name}"`).join(", ")},`,
    "citing the numbered sources in <context> as [n] after each claim. Reply with the report only.",
  ].join(" ");
}

function checkPromptVariables(prompt: PromptTemplate): void {
  const wanted: readonly string[] = REPORT_PROMPT_VARIABLES;
  const missing = wanted.filter((v) => !prompt.inputVariables.includes(v));
  const unknown = prompt.inputVariables.filter((v) => !wanted.includes(v));
  if (missing.length || unknown.length)
    throw new Error(
      `The write_report prompt must use exactly ${wanted.map((v) => `{${v}}`).join(" ")}` +
        (missing.length ? `; missing ${missing.map((v) => `{${v}}`).join(" ")}` : "") +
        (unknown.length ? `; unknown ${unknown.map((v) => `{${v}}`).join(" ")}` : ""),
    );
}

function cleanTitle(text: string): string {
  return oneLine(withoutCitations(text).replace(/[*_`]/g, "")).slice(0, MAX_TITLE_CHARS);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function positiveInteger(name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0))
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

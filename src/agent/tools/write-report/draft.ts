// Drafting: the model writes the report from the numbered chunks (prompts/write-report.md), and the code
// checks the draft: a title, the required sections, and citations that point at a chunk.
import { HumanMessage } from "@langchain/core/messages";
import type { PromptTemplate } from "@langchain/core/prompts";
import { citedNumbers, keepValidCitations, withoutCitations } from "../../../chains/citations.ts";
import { formatContext } from "../../../chains/prompts.ts";
import type { ScoredDocument } from "../../../contracts/search.ts";
import type { Ask } from "./ask.ts";
import { oneLine } from "./one-line.ts";
import { REQUIRED_SECTIONS, SECTION_HEADINGS, splitSections } from "./sections.ts";

const MAX_TITLE_CHARS = 200;
// A list of sources the model wrote anyway: replaced by the one made from the real chunks.
const MODEL_SOURCES_HEADING = /^(?:sources|references|bibliography|citations|works cited)\b/i;

/** The sections of a draft, checked and cleaned; `markdown` has no Sources section yet. */
export interface CheckedDraft {
  title: string;
  markdown: string;
  /** The source numbers it cites, ascending, all within 1..count. */
  cited: number[];
  /** What is wrong with it, as phrases that follow "the report": 'lacks the "## Findings" section'. */
  problems: string[];
}

export const REPORT_LENGTHS = ["short", "medium", "long"] as const;
export type ReportLength = (typeof REPORT_LENGTHS)[number];

/** What the report is to be about, for whom, and how long (the prompt says what each length means). */
export interface ReportBrief {
  topic: string;
  audience: string;
  length: ReportLength;
}

/** A first draft with the conversation it came from, which a repair continues. */
export interface Drafted {
  request: HumanMessage;
  reply: string;
  draft: CheckedDraft;
}

/** The model's report on `brief` from the chunks `found` (source [n] is found[n - 1]), checked. */
export async function writeDraft(
  ask: Ask,
  prompt: PromptTemplate,
  brief: ReportBrief,
  found: ScoredDocument[],
): Promise<Drafted> {
  const request = new HumanMessage(await prompt.format({ ...brief, context: formatContext(found) }));
  const reply = await ask.text([request], "write");
  return { request, reply, draft: checkDraft(reply, found.length, brief.topic) };
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

function cleanTitle(text: string): string {
  return oneLine(withoutCitations(text).replace(/[*_`]/g, "")).slice(0, MAX_TITLE_CHARS);
}

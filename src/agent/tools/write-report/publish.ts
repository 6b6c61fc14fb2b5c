// Publishing: the checked draft becomes the saved report, with a Sources section the code writes from the
// chunks it cites, and a short summary for the agent's answer.
import { chunkId, opening, withoutCitations } from "../../../chains/citations.ts";
import { sourceOf } from "../../../chains/prompts.ts";
import type { ScoredDocument } from "../../../contracts/search.ts";
import { newReportId, type Report, type ReportSource } from "../../../store/report-store.ts";
import type { CheckedDraft } from "./draft.ts";
import { SECTION_HEADINGS, splitSections } from "./sections.ts";

/** The report to save: the draft, and as its sources the chunks it cites (source [n] is found[n - 1]). */
export function composeReport(
  draft: CheckedDraft,
  found: ScoredDocument[],
  { topic, audience }: { topic: string; audience: string },
): Report {
  const sources: ReportSource[] = draft.cited.map((n) => {
    const { document } = found[n - 1];
    return {
      n,
      id: chunkId(document),
      ...sourceOf(document.metadata),
      snippet: opening(document.pageContent),
    };
  });
  return {
    id: newReportId(),
    title: draft.title,
    topic,
    audience,
    markdown: `${draft.markdown}\n\n${sourcesSection(sources)}\n`,
    sources,
    createdAt: new Date().toISOString(),
  };
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
export function summarize(markdown: string): string {
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

// The write_report tool's prompt templates: the report itself, the search plan before it and the repair after
// it, each with the placeholders the tool fills in.
import type { PromptTemplate } from "@langchain/core/prompts";
import { loadPromptSet, type PromptSpec } from "../prompt-set.ts";

export interface WriteReportPrompts {
  /** prompts/write-report.md: {topic} {audience} {length} {context}. */
  report: PromptTemplate;
  /** prompts/write-report-plan.md: {topic} {audience}. */
  plan: PromptTemplate;
  /** prompts/write-report-repair.md: {problems}. */
  repair: PromptTemplate;
}

export const WRITE_REPORT_PROMPTS: Record<keyof WriteReportPrompts, PromptSpec> = {
  report: { file: "write-report", variables: ["topic", "audience", "length", "context"] },
  plan: { file: "write-report-plan", variables: ["topic", "audience"] },
  repair: { file: "write-report-repair", variables: ["problems"] },
};

/**
 * The write_report prompts from `dir` (the service's prompts folder), checked.
 *
 * @example
 * createWriteReportTool({ searcher, model, reports, prompts: await loadWriteReportPrompts("prompts") });
 */
export function loadWriteReportPrompts(dir: string): Promise<WriteReportPrompts> {
  return loadPromptSet(dir, "write_report", WRITE_REPORT_PROMPTS);
}

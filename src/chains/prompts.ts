// Prompt templates live in prompts/<name>.md (f-string placeholders), edited by prompt engineers; this loads
// them as LangChain PromptTemplates and checks their placeholders against what the chain type fills in.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { PromptTemplate } from "@langchain/core/prompts";
import { displayPath } from "../config/describe-issues.ts";
import type { ScoredDocument } from "../contracts/search.ts";
import { ChainConfigError, type ChainType } from "./config.ts";

/** The placeholders each chain type fills in; a qa prompt must use all of them and no others. */
export const PROMPT_VARIABLES: Record<ChainType, readonly string[] | undefined> = {
  qa: ["context", "question"],
  // The advisor's prompts are not settled yet (a later issue): any placeholders pass.
  advisor: undefined,
};

import { NAME as PROMPT_NAME } from "../contracts/names.ts";

// A leading HTML comment documents the prompt for its editors; it is not sent to the model.
const LEADING_COMMENT = /^\s*<!--[\s\S]*?-->\s*/;

export async function loadPrompt(dir: string, name: string, type: ChainType = "qa"): Promise<PromptTemplate> {
  const text = await readPromptFile(dir, name, `a ${type} chain`);
  return parsePrompt(text, displayPath(path.join(dir, `${name}.md`)), type);
}

/**
 * A prompt of a step that is not a chain (an ingestion summary): it must use exactly `variables`; `step` names
 * the step in errors.
 */
export async function loadStepPrompt(
  dir: string,
  name: string,
  variables: readonly string[],
  step: string,
): Promise<PromptTemplate> {
  const text = await readPromptFile(dir, name, step);
  return parseWith(text, displayPath(path.join(dir, `${name}.md`)), variables, step);
}

/** The prompts of summaries at ingestion (a recipe's `summarize` with the service's model). */
export async function loadSummaryPrompts(
  dir: string,
): Promise<{ map: PromptTemplate; reduce: PromptTemplate }> {
  const step = "an ingestion summary";
  const [map, reduce] = await Promise.all([
    loadStepPrompt(dir, "summarize", ["text", "maxWords"], step),
    loadStepPrompt(dir, "summarize-combine", ["summaries", "maxWords"], step),
  ]);
  return { map, reduce };
}

/** The prompt of labels chosen at ingestion (a recipe's `classify` with the service's model). */
export function loadClassifyPrompt(dir: string): Promise<PromptTemplate> {
  return loadStepPrompt(dir, "classify", ["labels", "text"], "an ingestion classification");
}

async function readPromptFile(dir: string, name: string, usedBy: string): Promise<string> {
  const file = path.join(dir, `${name}.md`);
  const shown = displayPath(file);
  if (!PROMPT_NAME.test(name))
    throw new ChainConfigError(shown, [`"${name}" is not a prompt name (a-z, 0-9, - and _)`]);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such prompt file" : (error as Error).message;
    throw new ChainConfigError(shown, [`${reason} (prompt "${name}" for ${usedBy})`]);
  }
  return text.replace(LEADING_COMMENT, "");
}

/** Builds the template and checks its placeholders; `file` names it in errors. */
export function parsePrompt(text: string, file: string, type: ChainType): PromptTemplate {
  return parseWith(text, file, PROMPT_VARIABLES[type], `a ${type} prompt`);
}

function parseWith(
  text: string,
  file: string,
  wanted: readonly string[] | undefined,
  what: string,
): PromptTemplate {
  let prompt: PromptTemplate;
  try {
    prompt = PromptTemplate.fromTemplate(text, { templateFormat: "f-string" });
  } catch (error) {
    throw new ChainConfigError(file, [
      `not a valid template (${(error as Error).message}); write literal braces as {{ and }}`,
    ]);
  }
  if (!wanted) return prompt;
  // The f-string parser takes anything between braces as a name, e.g. a JSON example: flag those first.
  const malformed = prompt.inputVariables.filter((v) => !/^\w+$/.test(v));
  const used = prompt.inputVariables.filter((v) => /^\w+$/.test(v));
  const problems = [
    ...malformed.map(
      (v) =>
        `{${v.replace(/\s+/g, " ").slice(0, 40)}} is not a placeholder; write literal braces as {{ and }}`,
    ),
    ...wanted.filter((v) => !used.includes(v)).map((v) => `missing placeholder {${v}}, which ${what} needs`),
    ...used
      .filter((v) => !wanted.includes(v))
      .map(
        (v) => `unknown placeholder {${v}}: ${what} can use only ${wanted.map((w) => `{${w}}`).join(", ")}`,
      ),
  ];
  if (problems.length) throw new ChainConfigError(file, problems);
  return prompt;
}

/**
 * The retrieved chunks as numbered blocks, "[1] (source, page 2)" then the text, so that the model's [n]
 * citations index the sources. Tags that would close the prompt's <context> block are defused: the text is data.
 */
export function formatContext(sources: ScoredDocument[]): string {
  return sources
    .map(({ document }, i) => {
      const { source, page } = sourceOf(document.metadata);
      const where = page === undefined ? source : `${source}, page ${page}`;
      const text = document.pageContent
        .replace(/<\s*\/?\s*context\s*>/gi, "[context tag removed]")
        .replace(/\n{3,}/g, "\n\n")
        .trim();
      return `[${i + 1}] (${where})\n${text}`;
    })
    .join("\n\n");
}

/** Where a chunk came from, whichever loader stamped it: `page`, or LangChain's PDF loaders' `loc.pageNumber`. */
export function sourceOf(metadata: Record<string, unknown>): { source: string; page?: number } {
  const source = typeof metadata.source === "string" && metadata.source ? metadata.source : "unknown";
  const loc = metadata.loc as { pageNumber?: unknown } | undefined;
  const page = typeof metadata.page === "number" ? metadata.page : loc?.pageNumber;
  return typeof page === "number" ? { source, page } : { source };
}

// The advisor tools' prompt templates: each tool names its files in prompts/ and the placeholders it fills
// in; the composition root loads them (loadPromptSet), and the tool checks them before it is built.
import type { PromptTemplate } from "@langchain/core/prompts";
import { loadPrompt } from "../../chains/prompts.ts";

/** One of a tool's prompts: its file, prompts/<file>.md, and the placeholders the tool fills in. */
export interface PromptSpec {
  file: string;
  variables: readonly string[];
}

/**
 * Loads the prompt files a tool's specs name from `dir` and checks their placeholders, so that a broken file
 * stops the service at start.
 *
 * @example
 * const specs = { plan: { file: "write-report-plan", variables: ["topic", "audience"] } };
 * const prompts = await loadPromptSet("prompts", "write_report", specs);
 * await formatMessage(prompts.plan, { topic: "fuel costs", audience: "the board" });
 */
export async function loadPromptSet<K extends string>(
  dir: string,
  tool: string,
  specs: Record<K, PromptSpec>,
): Promise<Record<K, PromptTemplate>> {
  const entries = await Promise.all(
    (Object.entries(specs) as [K, PromptSpec][]).map(
      async ([key, spec]) => [key, await loadPrompt(dir, spec.file, "advisor")] as const,
    ),
  );
  const prompts = Object.fromEntries(entries) as Record<K, PromptTemplate>;
  checkPromptSet(tool, specs, prompts);
  return prompts;
}

/** Throws unless each prompt uses exactly the placeholders its spec names. */
export function checkPromptSet<K extends string>(
  tool: string,
  specs: Record<K, PromptSpec>,
  prompts: Record<K, PromptTemplate>,
): void {
  for (const [key, { file, variables }] of Object.entries(specs) as [K, PromptSpec][]) {
    const used = prompts[key].inputVariables;
    const missing = variables.filter((v) => !used.includes(v));
    const unknown = used.filter((v) => !variables.includes(v));
    if (missing.length || unknown.length)
      throw new Error(
        `The ${tool} prompt prompts/${file}.md must use ` +
          (variables.length ? `exactly ${braced(variables)}` : "no placeholders") +
          (missing.length ? `; missing ${braced(missing)}` : "") +
          (unknown.length ? `; unknown ${braced(unknown)}` : ""),
      );
  }
}

/**
 * A prompt filled in as one message's text. The template file's final newline is dropped: these messages were
 * written in code and never ended with one, and the last line of some is the advisor's own text (a task).
 */
export async function formatMessage(prompt: PromptTemplate, values: Record<string, string>): Promise<string> {
  return (await prompt.format(values)).trimEnd();
}

function braced(names: readonly string[]): string {
  return names.map((v) => `{${v}}`).join(" ");
}

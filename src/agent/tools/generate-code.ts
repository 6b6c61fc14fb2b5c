// The advisor's generate_code tool: asks a chat model for code (prompts/generate-code*.md), checks TypeScript
// and JavaScript with the TypeScript compiler and sends what it finds back for a correction. The generated
// code is only ever text here: it is never run, evaluated or written anywhere.
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { type BaseMessage, HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { PromptTemplate } from "@langchain/core/prompts";
import type { RunnableConfig } from "@langchain/core/runnables";
import { type StructuredToolInterface, type ToolRunnableConfig, tool } from "@langchain/core/tools";
import { z } from "zod/v4";
import { checkTypeScript, type Diagnostic } from "../code-check.ts";
import { checkPromptSet, formatMessage, loadPromptSet, type PromptSpec } from "./prompt-set.ts";

export const LANGUAGES = [
  "typescript",
  "javascript",
  "python",
  "sql",
  "bash",
  "go",
  "java",
  "rust",
  "csharp",
  "c",
  "cpp",
  "kotlin",
  "ruby",
  "php",
] as const;

export type Language = (typeof LANGUAGES)[number];

/** What the tool hands the UI beside its text for the model (the ToolMessage's artifact). */
export interface GeneratedCode {
  language: Language;
  /** Empty when the model returned no code block. */
  code: string;
  explanation: string;
  /** Whether a checker looked at the code (TypeScript and JavaScript only). */
  checked: boolean;
  /** The checker's findings on the returned code; empty when unchecked or clean. */
  diagnostics: Diagnostic[];
  /** Whether the returned code is a corrected version of the model's first answer. */
  repaired: boolean;
  /** The result in a line, for people (the code and findings are beside it): what the check found. */
  summary: string;
}

/** The tool's prompt templates, one per message it sends (loadGenerateCodePrompts). */
export interface GenerateCodePrompts {
  /** prompts/generate-code.md: the system message; no placeholders. */
  system: PromptTemplate;
  /** prompts/generate-code-request.md: {language} {task}, for a language without a checker. */
  request: PromptTemplate;
  /** prompts/generate-code-request-checked.md: {language} {task}, for TypeScript and JavaScript. */
  checkedRequest: PromptTemplate;
  /** prompts/generate-code-repair.md: {problems} {diagnostics} {language}, after the checker's findings. */
  repair: PromptTemplate;
  /** prompts/generate-code-missing-code.md: {language}, after a reply without a code block. */
  missingCode: PromptTemplate;
}

export const GENERATE_CODE_PROMPTS: Record<keyof GenerateCodePrompts, PromptSpec> = {
  system: { file: "generate-code", variables: [] },
  request: { file: "generate-code-request", variables: ["language", "task"] },
  checkedRequest: { file: "generate-code-request-checked", variables: ["language", "task"] },
  repair: { file: "generate-code-repair", variables: ["problems", "diagnostics", "language"] },
  missingCode: { file: "generate-code-missing-code", variables: ["language"] },
};

/**
 * The generate_code prompts from `dir` (the service's prompts folder), checked.
 *
 * @example
 * createGenerateCodeTool({ model, prompts: await loadGenerateCodePrompts("prompts") });
 */
export function loadGenerateCodePrompts(dir: string): Promise<GenerateCodePrompts> {
  return loadPromptSet(dir, "generate_code", GENERATE_CODE_PROMPTS);
}

export interface GenerateCodeToolOptions {
  model: BaseChatModel;
  prompts: GenerateCodePrompts;
  /** How many times the checker's findings (or a missing code block) are sent back for a correction. Default 1. */
  maxRepairs?: number;
}

// Keeps the inner model's tokens out of the advisor's token stream: LangGraph's "messages" stream mode skips
// chat model runs with this tag, and the route can skip them in streamEvents too. The tool's result reaches
// the client as the tool's output instead.
const NO_STREAM_TAG = "langsmith:nostream";

// The findings listed in a correction request or in the tool's text; a file this broken needs rewriting anyway.
const MAX_LISTED = 20;

const schema = z.object({
  task: z
    .string()
    .trim()
    .min(1)
    .max(4000)
    .describe("What the code must do: inputs, outputs, constraints, and the environment it runs in."),
  language: z.enum(LANGUAGES).default("typescript").describe("The programming language of the code."),
});

export function createGenerateCodeTool(options: GenerateCodeToolOptions): StructuredToolInterface {
  const { model, prompts, maxRepairs = 1 } = options;
  if (!Number.isInteger(maxRepairs) || maxRepairs < 0) {
    throw new RangeError(`maxRepairs must be a whole number ≥ 0, not ${maxRepairs}`);
  }
  checkPromptSet("generate_code", GENERATE_CODE_PROMPTS, prompts);

  return tool(
    async ({ task, language }, config: ToolRunnableConfig): Promise<[string, GeneratedCode]> => {
      const signal = config.signal;
      // The tool's own run's callbacks make the model calls its children in traces; the signal stops them.
      const modelConfig: RunnableConfig = { signal, callbacks: config.callbacks, tags: [NO_STREAM_TAG] };
      const checked = language === "typescript" || language === "javascript";
      const check = async (code: string): Promise<Diagnostic[]> =>
        checked ? checkTypeScript(code, { language }) : [];

      const messages: BaseMessage[] = [
        new SystemMessage(await formatMessage(prompts.system, {})),
        new HumanMessage(
          await formatMessage(checked ? prompts.checkedRequest : prompts.request, { language, task }),
        ),
      ];
      signal?.throwIfAborted();
      let reply = await model.invoke(messages, modelConfig);
      let answer = parseReply(reply.text, language);
      let diagnostics = answer.code ? await check(answer.code) : [];
      let repaired = false;

      for (let round = 0; round < maxRepairs && (!answer.code || diagnostics.length > 0); round++) {
        signal?.throwIfAborted();
        const followUp = answer.code
          ? await formatMessage(prompts.repair, {
              problems: diagnostics.length === 1 ? "this problem" : `these ${diagnostics.length} problems`,
              diagnostics: listDiagnostics(diagnostics),
              language,
            })
          : await formatMessage(prompts.missingCode, { language });
        messages.push(reply, new HumanMessage(followUp));
        reply = await model.invoke(messages, modelConfig);
        const next = parseReply(reply.text, language);
        // A correction without code leaves the previous version (and its findings) standing.
        if (!next.code) continue;
        answer = next;
        diagnostics = await check(answer.code);
        repaired = true;
      }
      signal?.throwIfAborted();

      const result: Omit<GeneratedCode, "summary"> = {
        language,
        code: answer.code,
        explanation: answer.explanation,
        checked: checked && answer.code !== "",
        diagnostics,
        repaired,
      };
      const summary = result.code ? checkHeadline(result) : "The model returned no code block.";
      return [describeResult(result), { ...result, summary }];
    },
    {
      name: "generate_code",
      description:
        "Writes code for a programming task in the given language and returns it with a short explanation. " +
        "TypeScript and JavaScript are checked with the TypeScript compiler and corrected if it finds " +
        "problems; the result says what remains. The code is never run. Pass all requirements in task.",
      schema,
      responseFormat: "content_and_artifact",
    },
  );
}

function listDiagnostics(diagnostics: Diagnostic[]): string {
  const listed = diagnostics
    .slice(0, MAX_LISTED)
    .map((d) => `${d.line}:${d.column} ${d.message} (TS${d.code})`);
  if (diagnostics.length > MAX_LISTED) listed.push(`… and ${diagnostics.length - MAX_LISTED} more`);
  return listed.join("\n");
}

/** The tool's text for the model: the code, the explanation, and what the checker found. */
function describeResult(result: Omit<GeneratedCode, "summary">): string {
  if (!result.code) {
    return `The model returned no code block. What it said instead:\n\n${result.explanation}`;
  }
  const fence = "`".repeat(Math.max(3, longestBacktickRun(result.code) + 1));
  const parts = [`${fence}${result.language}\n${result.code}\n${fence}`];
  if (result.explanation) parts.push(result.explanation);
  parts.push(checkLine(result));
  return parts.join("\n\n");
}

function checkLine(result: Omit<GeneratedCode, "summary">): string {
  const headline = checkHeadline(result);
  if (!result.checked || result.diagnostics.length === 0) return headline;
  return `${headline.slice(0, -1)}:\n${listDiagnostics(result.diagnostics)}`;
}

/** What the check found, in one sentence: "Checked with the TypeScript compiler: 2 problems remain." */
function checkHeadline(result: Omit<GeneratedCode, "summary">): string {
  if (!result.checked) return `Not checked: ${result.language} has no checker here.`;
  const after = result.repaired ? " after correction" : "";
  const n = result.diagnostics.length;
  if (n === 0) return `Checked with the TypeScript compiler: no errors${after}.`;
  const remain = n === 1 ? "1 problem remains" : `${n} problems remain`;
  return `Checked with the TypeScript compiler: ${remain}${after}.`;
}

function longestBacktickRun(text: string): number {
  let longest = 0;
  for (const run of text.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  return longest;
}

// The info strings by which replies commonly name each language after an opening fence.
const FENCE_NAMES: Record<Language, readonly string[]> = {
  typescript: ["typescript", "ts", "mts", "cts", "tsx"],
  javascript: ["javascript", "js", "mjs", "cjs", "jsx", "node"],
  python: ["python", "py", "python3"],
  sql: ["sql", "postgresql", "postgres", "psql", "mysql", "sqlite", "plsql", "tsql"],
  bash: ["bash", "sh", "shell", "zsh"],
  go: ["go", "golang"],
  java: ["java"],
  rust: ["rust", "rs"],
  csharp: ["csharp", "cs", "c#"],
  c: ["c", "h"],
  cpp: ["cpp", "c++", "cc", "cxx", "hpp"],
  kotlin: ["kotlin", "kt", "kts"],
  ruby: ["ruby", "rb"],
  php: ["php"],
};

interface FencedBlock {
  info: string;
  code: string;
  /** Line indices of the opening and closing fence. */
  start: number;
  end: number;
}

/**
 * Splits a reply into the code (the first fenced block in the language, else the first unlabelled one, else the
 * first one) and the explanation (the rest of the text, other blocks included). Fences follow CommonMark: ``` or ~~~, closed by a fence at least as long.
 */
export function parseReply(text: string, language: Language): { code: string; explanation: string } {
  const lines = text.split(/\r?\n/);
  const blocks: FencedBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i]);
    if (!open) continue;
    const marker = open[1];
    const close = new RegExp(`^ {0,3}${marker[0] === "`" ? "`" : "~"}{${marker.length},}\\s*$`);
    let end = i + 1;
    while (end < lines.length && !close.test(lines[end])) end++;
    // An unclosed fence runs to the end of the reply, as in CommonMark (e.g. a reply cut off by max tokens).
    blocks.push({ info: open[2].toLowerCase(), code: lines.slice(i + 1, end).join("\n"), start: i, end });
    i = end;
  }
  const chosen =
    blocks.find((block) => FENCE_NAMES[language].includes(block.info)) ??
    blocks.find((block) => block.info === "") ??
    blocks[0];
  if (!chosen) return { code: "", explanation: text.trim() };
  const rest = [...lines.slice(0, chosen.start), ...lines.slice(chosen.end + 1)];
  return {
    code: chosen.code.trimEnd(),
    explanation: rest
      .join("\n")
      .replace(/\n{3,}/g, "\n\n")
      .trim(),
  };
}

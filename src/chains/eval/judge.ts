// The evaluation's LLM judge: a chat model grades each answer's faithfulness to the chunks it was given and its
// correctness against the reference answers, with prompts/judge.md. One call per answered query; a reply that
// is not the JSON asked for leaves that query ungraded (counted), never fails the run.
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { StringOutputParser } from "@langchain/core/output_parsers";
import type { PromptTemplate } from "@langchain/core/prompts";
import type { ScoredDocument } from "../../contracts/search.ts";
import { formatContext } from "../prompts.ts";

export const JUDGE_PROMPT = "judge";
export const JUDGE_VARIABLES = ["question", "sources", "answer", "reference"] as const;

export interface Grades {
  faithfulness: number | null;
  correctness: number | null;
}

export class AnswerJudge {
  private readonly grade;

  constructor(prompt: PromptTemplate, model: BaseChatModel) {
    this.grade = prompt.pipe(model).pipe(new StringOutputParser());
  }

  async judge(
    input: { question: string; sources: ScoredDocument[]; answer: string; references?: string[] },
    signal?: AbortSignal,
  ): Promise<Grades> {
    const reply = await this.grade.invoke(
      {
        question: input.question,
        sources: input.sources.length ? formatContext(input.sources) : "(none)",
        answer: input.answer,
        reference: input.references?.length ? input.references.map((r) => `- ${r}`).join("\n") : "(none)",
      },
      { signal },
    );
    return parseGrades(reply, input.references !== undefined && input.references.length > 0);
  }
}

/** The grades in a judge's reply: the first JSON object in it, each grade clamped to 0..1; null when absent. */
export function parseGrades(reply: string, hasReference: boolean): Grades {
  const found = /\{[^{}]*\}/.exec(reply);
  let parsed: Record<string, unknown> = {};
  try {
    parsed = found ? (JSON.parse(found[0]) as Record<string, unknown>) : {};
  } catch {
    parsed = {};
  }
  const grade = (value: unknown) =>
    typeof value === "number" && Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : null;
  return {
    faithfulness: grade(parsed.faithfulness),
    correctness: hasReference ? grade(parsed.correctness) : null,
  };
}

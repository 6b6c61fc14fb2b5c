// Repair: one more call for a draft that lacks a required section or cites nothing
// (prompts/write-report-repair.md). A missing section rarely survives it; a second failure is kept, not
// retried, and the tool tells the agent what is still wrong.
import { AIMessage, type BaseMessage, HumanMessage } from "@langchain/core/messages";
import type { PromptTemplate } from "@langchain/core/prompts";
import { formatMessage } from "../prompt-set.ts";
import type { Ask } from "./ask.ts";
import { type CheckedDraft, checkDraft, type Drafted } from "./draft.ts";

/**
 * The rewrite of a draft with problems, or the draft itself when the rewrite has more of them; `count` and
 * `topic` are the draft's, for checking the rewrite alike.
 */
export async function repairDraft(
  ask: Ask,
  prompt: PromptTemplate,
  { request, reply, draft }: Drafted,
  count: number,
  topic: string,
): Promise<CheckedDraft> {
  const retry: BaseMessage[] = reply.trim()
    ? [
        request,
        new AIMessage(reply),
        new HumanMessage(await formatMessage(prompt, { problems: draft.problems.join(" and ") })),
      ]
    : [request]; // an empty turn is something some providers (Bedrock) refuse
  const repaired = checkDraft(await ask.text(retry, "repair"), count, topic);
  return repaired.problems.length <= draft.problems.length ? repaired : draft;
}

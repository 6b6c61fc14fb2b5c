// The decomposer a qa chain's `retrieval.decompose` asks for: its generative model with prompts/decompose.md, or
// the offline rules. A model that fails to split a question leaves it whole (with a warning): the question is
// still answered, retrieved as asked.
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { StringOutputParser } from "@langchain/core/output_parsers";
import type { PromptTemplate } from "@langchain/core/prompts";
import { type Decomposer, decomposeByRules, parseSubQueries } from "../retrieval/decompose.ts";

export function chainDecomposer(model?: { prompt: PromptTemplate; chatModel: BaseChatModel }): Decomposer {
  if (!model) return decomposeByRules;
  const split = model.prompt.pipe(model.chatModel).pipe(new StringOutputParser());
  return async (question, signal) => {
    try {
      return parseSubQueries(await split.invoke({ question }, { signal }), question);
    } catch (error) {
      signal?.throwIfAborted();
      process.emitWarning(
        `The question was not split into sub-queries (${(error as Error).message}); retrieving it whole.`,
        { code: "COUNSEL_DECOMPOSE_FAILED" },
      );
      return [question];
    }
  };
}

// The ingestion steps of a recipe that may call the service's model (summaries, labels), built one way for a
// tenant's pipeline and for `counsel extract`: prompts from PROMPTS_DIR, the model's answers from `cache`.
import type { BaseCache } from "@langchain/core/caches";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { loadClassifyPrompt, loadSummaryPrompts } from "../chains/prompts.ts";
import type { Recipe } from "../ingest/recipe.ts";
import { type Classifier, recipeClassifier } from "../ingest/transform/classify/classifier.ts";
import { recipeSummarizer, type Summarizer } from "../ingest/transform/summary/summarizer.ts";

export interface ModelStepDeps {
  promptsDir: string;
  /** The service's chat model, answering from `cache` when given; undefined when the service has none. */
  chatModel?(cache?: BaseCache): Promise<BaseChatModel | undefined>;
  cache?: BaseCache;
}

export async function modelSteps(
  recipe: Recipe,
  deps: ModelStepDeps,
): Promise<{ summarizer?: Summarizer; classifier?: Classifier }> {
  const { promptsDir, chatModel, cache } = deps;
  return {
    summarizer: await recipeSummarizer(recipe, {
      chatModel,
      cache,
      prompts: () => loadSummaryPrompts(promptsDir),
    }),
    classifier: await recipeClassifier(recipe, {
      chatModel,
      cache,
      prompt: () => loadClassifyPrompt(promptsDir),
    }),
  };
}

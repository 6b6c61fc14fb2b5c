// A document's label at ingestion, as its recipe's `classify` asks: by the service's chat model with structured
// output (one of the recipe's labels, chosen from their descriptions), or offline by the labels' keywords
// (rules.ts). The label is stored in every chunk's metadata under the recipe's field, so that a chain's or a
// request's `filter` can select by it; metadata the caller sends under that field wins.
import type { BaseCache } from "@langchain/core/caches";
import type { Document } from "@langchain/core/documents";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { PromptTemplate } from "@langchain/core/prompts";
import { z } from "zod/v4";
import type { Recipe } from "../../recipe.ts";
import { documentText } from "../document-text.ts";
import { classifyByKeywords } from "./rules.ts";

export interface Classifier {
  readonly engine: "model" | "keywords";
  /** The metadata field the label goes in. */
  readonly field: string;
  /** The document's label; undefined when none fits (keywords) . */
  classify(docs: Document[], summary: string, signal?: AbortSignal): Promise<string | undefined>;
}

export interface ClassifierDeps {
  /** The service's chat model, answering from `cache` when given; undefined when the service has none. */
  chatModel?(cache?: BaseCache): Promise<BaseChatModel | undefined>;
  cache?: BaseCache;
  /** prompts/classify.md: {labels}, {text} (loadClassifyPrompt). */
  prompt(): Promise<PromptTemplate>;
}

/** The recipe's classifier, or undefined when it does not classify. */
export async function recipeClassifier(
  recipe: Recipe,
  deps: ClassifierDeps,
): Promise<Classifier | undefined> {
  const options = recipe.classify;
  if (!options.enabled) return undefined;
  const model = options.engine === "keywords" ? undefined : await deps.chatModel?.(deps.cache);
  if (options.engine === "model" && !model)
    throw new Error("classify.engine: model needs MODEL_PROVIDER bedrock or openai");
  const { field, labels } = options;
  const textOf = (docs: Document[], summary: string) =>
    summary || documentText(docs).slice(0, options.maxChars);
  if (!model) {
    return {
      engine: "keywords",
      field,
      classify: async (docs, summary) =>
        classifyByKeywords(docs.map((d) => d.pageContent).join("\n\n"), labels) ??
        (summary ? classifyByKeywords(summary, labels) : undefined) ??
        options.fallback,
    };
  }
  const prompt = await deps.prompt();
  const names = labels.map((l) => l.name) as [string, ...string[]];
  const schema = z.object({ label: z.enum(names).describe("The one label that fits the document best.") });
  const chain = prompt.pipe(model.withStructuredOutput(schema, { name: "classify_document" }));
  const described = labels.map((l) => `- ${l.name}: ${l.description ?? l.name}`).join("\n");
  return {
    engine: "model",
    field,
    async classify(docs, summary, signal) {
      const text = textOf(docs, summary);
      if (!text) return options.fallback;
      const { label } = await chain.invoke({ labels: described, text }, { signal });
      return names.includes(label) ? label : options.fallback;
    },
  };
}

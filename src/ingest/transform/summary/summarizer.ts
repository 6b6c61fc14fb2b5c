// A document's summary at ingestion, as its recipe's `summarize` asks: by the service's chat model (map-reduce,
// map-reduce.ts) or offline (the most central sentences, extractive.ts). It is made from the redacted text, so
// that it holds no more than the chunks do, and with the tenant's LLM cache, so that re-ingesting an unchanged
// document does not pay for its summary again.

import type { BaseCache } from "@langchain/core/caches";
import type { Document } from "@langchain/core/documents";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { PromptTemplate } from "@langchain/core/prompts";
import type { Recipe } from "../../recipe.ts";
import { documentText } from "../document-text.ts";
import { extractiveSummary } from "./extractive.ts";
import { mapReduceSummary } from "./map-reduce.ts";

export interface Summarizer {
  /** Which engine it is: `model` (a chat model) or `extractive`. */
  readonly engine: "model" | "extractive";
  /** The summary of a document's loaded (and redacted) parts; "" when there is nothing to summarise. */
  summarize(docs: Document[], signal?: AbortSignal): Promise<string>;
}

export interface SummarizerDeps {
  /** The service's chat model, answering from `cache` when given; undefined when the service has none. */
  chatModel?(cache?: BaseCache): Promise<BaseChatModel | undefined>;
  /** The tenant's LLM cache. */
  cache?: BaseCache;
  /** The model's prompts (prompts/summarize.md, prompts/summarize-combine.md: loadSummaryPrompts). */
  prompts(): Promise<SummaryPrompts>;
}

export interface SummaryPrompts {
  /** Summarises one text: {text}, {maxWords}. */
  map: PromptTemplate;
  /** Combines summaries of consecutive parts: {summaries}, {maxWords}. */
  reduce: PromptTemplate;
}

/** The recipe's summarizer, or undefined when it does not summarise. */
export async function recipeSummarizer(
  recipe: Recipe,
  deps: SummarizerDeps,
): Promise<Summarizer | undefined> {
  const options = recipe.summarize;
  if (!options.enabled) return undefined;
  const model = options.engine === "extractive" ? undefined : await deps.chatModel?.(deps.cache);
  if (options.engine === "model" && !model) {
    throw new Error("summarize.engine: model needs MODEL_PROVIDER bedrock or openai");
  }
  if (!model) {
    return {
      engine: "extractive",
      summarize: async (docs) => extractiveSummary(documentText(docs), options.sentences),
    };
  }
  const { map: mapPrompt, reduce: reducePrompt } = await deps.prompts();
  return {
    engine: "model",
    async summarize(docs, signal) {
      const text = documentText(docs);
      if (!text) return "";
      return mapReduceSummary(text, {
        model,
        mapPrompt,
        reducePrompt,
        pieceChars: options.pieceChars,
        maxWords: options.maxWords,
        signal,
      });
    },
  };
}

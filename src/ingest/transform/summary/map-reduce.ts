// A summary by a chat model, map-reduce: a document that fits one call is summarised in one; a longer one is cut
// into pieces (LangChain's RecursiveCharacterTextSplitter, at paragraph breaks first), each piece summarised
// (the map, a few calls at once), and the pieces' summaries combined (the reduce), again in groups while they do
// not fit one call. Written with LangChain's prompt templates and Runnable.batch rather than the legacy
// loadSummarizationChain of @langchain/classic, whose map-reduce counts tokens with tiktoken's encodings (fetched
// over the network on first use) and cannot be given a budget per call in characters.
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { StringOutputParser } from "@langchain/core/output_parsers";
import type { PromptTemplate } from "@langchain/core/prompts";
import { RecursiveCharacterTextSplitter } from "@langchain/textsplitters";

export interface MapReduceOptions {
  model: BaseChatModel;
  /** Summarises one text: {text}, {maxWords}. */
  mapPrompt: PromptTemplate;
  /** Combines summaries of consecutive parts: {summaries}, {maxWords}. */
  reducePrompt: PromptTemplate;
  /** The most characters of document text one call is given (a token is about 4 characters of English). */
  pieceChars: number;
  /** How long the summary should be, in words (the prompts ask for it; the model decides). */
  maxWords: number;
  /** Calls at once in the map step. */
  concurrency?: number;
  signal?: AbortSignal;
}

export async function mapReduceSummary(text: string, options: MapReduceOptions): Promise<string> {
  const { model, pieceChars, maxWords, signal } = options;
  const parse = new StringOutputParser();
  const map = options.mapPrompt.pipe(model).pipe(parse);
  const reduce = options.reducePrompt.pipe(model).pipe(parse);
  if (text.length <= pieceChars) return (await map.invoke({ text, maxWords }, { signal })).trim();

  const splitter = new RecursiveCharacterTextSplitter({ chunkSize: pieceChars, chunkOverlap: 0 });
  const pieces = await splitter.splitText(text);
  let summaries = await map.batch(
    pieces.map((piece) => ({ text: piece, maxWords })),
    { signal, maxConcurrency: options.concurrency ?? 4 },
  );
  // Combine consecutive summaries in groups that fit one call, until one is left.
  while (summaries.length > 1) {
    const groups: string[][] = [[]];
    let size = 0;
    for (const summary of summaries) {
      const group = groups.at(-1) as string[];
      if (group.length > 0 && size + summary.length > pieceChars) {
        groups.push([summary]);
        size = summary.length;
      } else {
        group.push(summary);
        size += summary.length;
      }
    }
    // A group of one cannot shrink by combining; past that point, combine pairs whatever their size.
    const stuck = groups.length === summaries.length;
    const batches = stuck ? pairs(summaries) : groups;
    summaries = await reduce.batch(
      batches.map((group) => ({ summaries: group.join("\n\n"), maxWords })),
      { signal, maxConcurrency: options.concurrency ?? 4 },
    );
  }
  return summaries[0].trim();
}

function pairs<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += 2) out.push(items.slice(i, i + 2));
  return out;
}

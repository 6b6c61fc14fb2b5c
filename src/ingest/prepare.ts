// One blob → the chunks to index: detect the type, load, redact (per recipe), split, stamp metadata. The pipeline hands the result
// to LangChain's index(); the same bytes and recipe always give identical chunks, so re-runs are skipped.
import { Document } from "@langchain/core/documents";
import { loadBlob } from "./loaders/index.ts";
import { detectType } from "./loaders/sniff.ts";
import type { Recipe } from "./recipe.ts";
import type { SourceBlob } from "./sources/blob.ts";
import type { TextractRouting } from "./textract/routing.ts";
import type { Classifier } from "./transform/classify/classifier.ts";
import { firstSentence, headerOf } from "./transform/context-headers.ts";
import { type ChunkMetadata, stampMetadata } from "./transform/metadata.ts";
import type { Redactor } from "./transform/pii/redact.ts";
import { splitDocuments } from "./transform/split.ts";
import type { Summarizer } from "./transform/summary/summarizer.ts";

export interface PrepareOptions {
  /** Stops a long parse (checked between PDF pages) when the caller gives up. */
  signal?: AbortSignal;
  /** Reads images and scanned PDFs; undefined when Textract is off. */
  textract?: TextractRouting;
  /** The recipe's PII redaction (recipeRedactor); undefined when it redacts nothing. */
  redactor?: Redactor;
  /** The recipe's summaries (recipeSummarizer); undefined when it makes none. */
  summarizer?: Summarizer;
  /** The recipe's labels (recipeClassifier); undefined when it sets none. */
  classifier?: Classifier;
}

/**
 * The chunks of one blob. Throws UnsupportedTypeError (415) for a type Counsel cannot read and BadRequestError
 * (400) for an empty, corrupt or text-less file, each naming the file.
 */
export async function prepareBlob(
  blob: SourceBlob,
  recipe: Recipe,
  options: PrepareOptions = {},
): Promise<Document<ChunkMetadata>[]> {
  const type = await detectType(blob);
  const loaded = await loadBlob(blob, recipe, { type, ...options });
  // Before splitting: no chunk (nor its vector, lexical entry or cached embedding) sees an original value.
  const docs = options.redactor ? await options.redactor.documents(loaded, options.signal) : loaded;
  const chunks = await splitDocuments(docs, recipe);
  // The summary, made from the redacted text, is one more chunk: retrievable, and the catalog's summary.
  const summary = options.summarizer ? await options.summarizer.summarize(docs, options.signal) : "";
  if (summary && recipe.splitter.contextHeaders && recipe.splitter.contextSummary) {
    const context = firstSentence(summary);
    for (const chunk of chunks) chunk.metadata.context = context;
  }
  if (summaryIndexed(summary, docs)) chunks.push(summaryChunk(summary, docs));
  const label = await options.classifier?.classify(docs, summary, options.signal);
  let metadata = blob.metadata;
  if (options.redactor && metadata) metadata = await options.redactor.metadata(metadata, options.signal);
  // The caller's own value of the label's field wins over the classifier's.
  if (label !== undefined && options.classifier)
    metadata = { [options.classifier.field]: label, ...metadata };
  const stamped = stampMetadata(chunks, { ...blob, metadata });
  if (recipe.splitter.contextHeaders)
    for (const chunk of stamped) chunk.metadata.header = headerOf(chunk.metadata);
  return stamped;
}

/** A summary is indexed only when it is shorter than this share of the document's text. */
const SUMMARY_MAX_SHARE = 0.8;

/** Whether a summary becomes a chunk: not when it is nearly the whole text (a short document), which it repeats. */
export function summaryIndexed(summary: string, docs: Document[]): boolean {
  const textLength = docs.reduce((n, d) => n + d.pageContent.trim().length, 0);
  return summary !== "" && summary.length < SUMMARY_MAX_SHARE * textLength;
}

function summaryChunk(summary: string, docs: Document[]): Document {
  const { type, title } = docs[0]?.metadata ?? {};
  return new Document({ pageContent: summary, metadata: { kind: "summary", type, title } });
}

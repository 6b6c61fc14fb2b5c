// What ingestion would index for one file, as Markdown for a person to read (`counsel extract`): the text the
// loader took out of it, redacted as the recipe asks (a section per page) or, with `chunks`, the chunks the splitter made of that text.
// It runs the same code as ingestion, so what it shows is what the index will see.
import { loadBlob } from "./loaders/index.ts";
import { detectType } from "./loaders/sniff.ts";
import { summaryIndexed } from "./prepare.ts";
import type { Recipe } from "./recipe.ts";
import type { SourceBlob } from "./sources/blob.ts";
import type { TextractRouting } from "./textract/routing.ts";
import type { Classifier } from "./transform/classify/classifier.ts";
import type { Redactor } from "./transform/pii/redact.ts";
import { splitDocuments } from "./transform/split.ts";
import type { Summarizer } from "./transform/summary/summarizer.ts";

export interface ExtractOptions {
  /** Show the chunks to be embedded rather than the loaded text. */
  chunks?: boolean;
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

export async function extractMarkdown(
  blob: SourceBlob,
  recipe: Recipe,
  options: ExtractOptions = {},
): Promise<string> {
  const type = await detectType(blob);
  const loaded = await loadBlob(blob, recipe, { type, signal: options.signal, textract: options.textract });
  const docs = options.redactor ? await options.redactor.documents(loaded, options.signal) : loaded;
  const chunks = await splitDocuments(docs, recipe);
  const summary = options.summarizer ? await options.summarizer.summarize(docs, options.signal) : "";
  const loader = docs[0]?.metadata.loader ? `, read by ${docs[0].metadata.loader}` : "";
  const header = `<!-- ${blob.name}: ${type}${loader}; ${count(docs.length, "document")}, ${count(chunks.length, "chunk")} -->`;
  const sections = options.chunks
    ? chunks.map(
        (c, i) =>
          `### Chunk ${i + 1}${where(c.metadata)} (${c.pageContent.length} characters)\n\n${c.pageContent}`,
      )
    : docs.map((d, i) => {
        const title =
          docs.length > 1 ? `## ${where(d.metadata).replace(/^, /, "") || `Part ${i + 1}`}\n\n` : "";
        return `${title}${d.pageContent.trim()}`;
      });
  const label = await options.classifier?.classify(docs, summary, options.signal);
  if (options.classifier)
    sections.push(
      `## Label (${options.classifier.engine})\n\n${options.classifier.field}: ${label ?? "(none)"}`,
    );
  if (summary) {
    const indexed = summaryIndexed(summary, docs)
      ? "indexed as one more chunk"
      : "not indexed: nearly the whole text";
    sections.push(`## Summary (${options.summarizer?.engine}, ${indexed})\n\n${summary}`);
  }
  return `${header}\n\n${sections.join("\n\n")}\n`;
}

/** ", page 3" or ", row 12": where a piece comes from, when the loader knows. */
function where(metadata: Record<string, unknown>): string {
  if (typeof metadata.page === "number") return `, page ${metadata.page}`;
  if (typeof metadata.row === "number") return `, row ${metadata.row}`;
  return "";
}

function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

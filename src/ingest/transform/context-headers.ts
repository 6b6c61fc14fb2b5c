// Contextual chunk headers: a chunk is embedded with its document's title and the path of headings it sits
// under ("Travel policy › Expenses › Meals"), so that a chunk whose own words never name its subject is still
// found by it; the text stored, shown and cited stays the chunk's own. Sections come from the Markdown headings
// the loaders write (Markdown, DOCX as Markdown, Textract's titles and section headers), placed by the line
// numbers LangChain's splitter records on each chunk (`loc.lines`).
import type { Document, DocumentInterface } from "@langchain/core/documents";
import type { EmbeddingsInterface } from "@langchain/core/embeddings";

const HEADING = /^(#{1,6})\s+(.+?)\s*#*\s*$/;
const SEPARATOR = " › ";

/** The headings above each line of `text`: index i holds the path above line i + 1 (1-based lines). */
function headingPaths(text: string): string[] {
  const stack: { level: number; text: string }[] = [];
  const paths: string[] = [];
  let fenced = false;
  for (const line of text.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const match = fenced ? null : HEADING.exec(line);
    if (match) {
      const level = match[1].length;
      while (stack.length > 0 && (stack.at(-1)?.level ?? 0) >= level) stack.pop();
      stack.push({ level, text: match[2].replace(/[*_`]/g, "") });
    }
    paths.push(stack.map((h) => h.text).join(SEPARATOR));
  }
  return paths;
}

/** Gives each chunk of `doc` `section`: the headings it sits under at its first line (LangChain's `loc.lines`). */
export function addSections(doc: Document, chunks: Document[]): void {
  let paths: string[] | undefined;
  for (const chunk of chunks) {
    paths ??= headingPaths(doc.pageContent);
    const from = (chunk.metadata.loc as { lines?: { from?: number } } | undefined)?.lines?.from ?? 1;
    const section = paths[from - 1];
    if (section) chunk.metadata.section = section;
  }
}

/**
 * A chunk's header: title (or file name) › section, then the line of context from the document's summary when
 * there is one. Stored as the chunk's `header`, so that turning headers on changes every chunk's hash and
 * index() embeds it again, headings or not.
 */
export function headerOf(metadata: Record<string, unknown>): string {
  const { title, name, section, context } = metadata;
  const heading = [typeof title === "string" && title ? title : name, section]
    .filter((part): part is string => typeof part === "string" && part !== "")
    .join(SEPARATOR);
  return [heading, typeof context === "string" ? context : ""].filter(Boolean).join("\n");
}

/** What a chunk is embedded as: its header (its `header`, else made from its metadata), a blank line, its text. */
export function contextualText(doc: DocumentInterface): string {
  const header = typeof doc.metadata.header === "string" ? doc.metadata.header : headerOf(doc.metadata);
  return header ? `${header}\n\n${doc.pageContent}` : doc.pageContent;
}

/** The first sentence of a summary, at most 200 characters: one line of context for every chunk's header. */
export function firstSentence(summary: string): string {
  const [first] = new Intl.Segmenter("en", { granularity: "sentence" }).segment(summary.trim());
  const sentence = (first?.segment ?? "").replace(/\s+/g, " ").trim();
  return sentence.length > 200 ? `${sentence.slice(0, 199).trimEnd()}…` : sentence;
}

interface VectorsStore {
  embeddings: EmbeddingsInterface;
  addVectors(
    vectors: number[][],
    documents: DocumentInterface[],
    options?: { ids?: string[] },
  ): Promise<unknown>;
}

/**
 * The store as LangChain's index() sees it: addDocuments embeds each chunk's contextual text and stores the
 * vectors with the chunks as they are. Everything else is the store's own.
 */
export function embeddingWithHeaders<S extends VectorsStore>(store: S): S {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== "addDocuments") {
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return async (documents: DocumentInterface[], options?: { ids?: string[] }) => {
        const vectors = await target.embeddings.embedDocuments(documents.map(contextualText));
        return target.addVectors(vectors, documents, options);
      };
    },
  });
}

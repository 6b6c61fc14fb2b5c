// Splits loaded documents into chunks of at most `splitter.chunkSize` characters, each document on its own
// (a chunk never spans two PDF pages or two CSV rows); Markdown splits at headings and code fences first.
import type { Document } from "@langchain/core/documents";
import { RecursiveCharacterTextSplitter } from "@langchain/textsplitters";
import type { Recipe } from "../recipe.ts";
import { addSections } from "./context-headers.ts";

/** The chunks of `docs`, in order; each keeps its document's metadata. */
export async function splitDocuments(docs: Document[], recipe: Recipe): Promise<Document[]> {
  const options = { chunkSize: recipe.splitter.chunkSize, chunkOverlap: recipe.splitter.chunkOverlap };
  const plain = new RecursiveCharacterTextSplitter(options);
  const markdown = RecursiveCharacterTextSplitter.fromLanguage("markdown", options);
  const chunks: Document[] = [];
  for (const doc of docs) {
    const splitter = doc.metadata.type === "markdown" ? markdown : plain;
    const pieces = await splitter.splitDocuments([doc]);
    if (recipe.splitter.contextHeaders) addSections(doc, pieces);
    chunks.push(...pieces);
  }
  return chunks;
}

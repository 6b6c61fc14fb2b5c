// JSON → text: LangChain's JSONLoader for the text of string values (optionally under JSON pointers), or the
// whole value as YAML-style "key: value" lines when keys carry meaning.
import { JSONLoader } from "@langchain/classic/document_loaders/fs/json";
import { Document } from "@langchain/core/documents";
import { stringify } from "yaml";

export interface JsonOptions {
  mode: "strings" | "pretty";
  pointers: string[];
}

/** One document per JSON file. */
export async function loadJson(text: string, options: JsonOptions): Promise<Document[]> {
  if (options.mode === "pretty") {
    const pretty = stringify(JSON.parse(text), { lineWidth: 0 }).trim();
    return pretty === "" ? [] : [new Document({ pageContent: pretty })];
  }
  // JSONLoader yields a document per string value, often a single word: joined, they split into useful chunks.
  const strings = await new JSONLoader(new Blob([text]), options.pointers).load();
  const joined = strings.map((d) => d.pageContent).join("\n");
  return joined.trim() === "" ? [] : [new Document({ pageContent: joined })];
}

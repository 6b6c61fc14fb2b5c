// Loads test/fixtures/scifact-sample.jsonl (real SciFact abstracts; see scifact-sample.md) as chunks.
import { readFileSync } from "node:fs";
import path from "node:path";
import { Document } from "@langchain/core/documents";

export interface BeirDoc {
  _id: string;
  title: string;
  text: string;
}

export const SAMPLE_PATH = path.resolve(import.meta.dirname, "../fixtures/scifact-sample.jsonl");

export function sampleDocs(): BeirDoc[] {
  return readFileSync(SAMPLE_PATH, "utf8")
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as BeirDoc);
}

/** One chunk per abstract, as the retrieval benchmark indexes them: title, newline, text; id = SciFact id. */
export function sampleChunks(): Document[] {
  return sampleDocs().map(
    (d) => new Document({ pageContent: `${d.title}\n${d.text}`, metadata: { doc_id: d._id }, id: d._id }),
  );
}

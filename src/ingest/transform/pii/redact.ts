// Replaces recognised values in a document's text before it is split: every chunk, vector, lexical entry
// and cached embedding is made from the redacted text, and a changed text re-processes an indexed document.
import { createHmac } from "node:crypto";
import { Document } from "@langchain/core/documents";
import { type PiiType, recognise } from "./recognisers.ts";

export interface PiiRedaction {
  types: readonly PiiType[];
  /** mask: `[EMAIL]`; hash: `[EMAIL:3f9a1c2b]`, equal values giving equal hashes under one key. */
  strategy: "mask" | "hash";
}

/** How equal values are recognised as equal whatever their spacing or case. */
function normalise(type: PiiType, value: string): string {
  if (type === "email") return value.toLowerCase();
  if (type === "aws_secret_key") return value;
  return value.replace(/[^0-9A-Za-z:.]/g, "").toUpperCase();
}

export function redactText(text: string, redaction: PiiRedaction, hashKey?: string): string {
  if (redaction.strategy === "hash" && !hashKey) {
    throw new Error("PII redaction by hash needs the setting PII_HASH_KEY");
  }
  let out = "";
  let at = 0;
  for (const span of recognise(text, redaction.types)) {
    const label = span.type.toUpperCase();
    const value = text.slice(span.start, span.end);
    const hash =
      redaction.strategy === "hash"
        ? `:${createHmac("sha256", hashKey as string)
            .update(`${span.type}:${normalise(span.type, value)}`)
            .digest("hex")
            .slice(0, 8)}`
        : "";
    out += `${text.slice(at, span.start)}[${label}${hash}]`;
    at = span.end;
  }
  return out + text.slice(at);
}

/** Documents with their text and their shown metadata text (the title) redacted. */
export function redactDocuments(docs: Document[], redaction: PiiRedaction, hashKey?: string): Document[] {
  return docs.map((doc) => {
    const metadata = { ...doc.metadata };
    if (typeof metadata.title === "string") metadata.title = redactText(metadata.title, redaction, hashKey);
    return new Document({
      pageContent: redactText(doc.pageContent, redaction, hashKey),
      metadata,
      id: doc.id,
    });
  });
}

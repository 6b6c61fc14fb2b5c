// Replaces the personal data an engine finds in a document's text before it is split: every chunk, vector,
// lexical entry and cached embedding is made from the redacted text, and a changed text re-processes an indexed
// document.
import { createHmac } from "node:crypto";
import type { ComprehendClient } from "@aws-sdk/client-comprehend";
import { Document } from "@langchain/core/documents";
import { type COMPREHEND_PII_LANGUAGES, type ComprehendPiiType, comprehendEngine } from "./comprehend.ts";
import { offlineEngine, type PiiEngine, type PiiFinding } from "./engine.ts";
import type { PiiEngineName, PiiMeter } from "./pii-meter.ts";
import type { PiiType } from "./pii-types.ts";

interface Strategy {
  /** mask: `[EMAIL]`; hash: `[EMAIL:3f9a1c2b]`, equal values giving equal hashes under one key. */
  strategy: "mask" | "hash";
}

/** Metadata that names the document or its source's version, never a person. */
const SOURCE_FACTS = new Set(["doc_id", "etag", "s3_last_modified"]);

/** What a recipe's `redact.pii` asks for. */
export type PiiRedaction =
  | (Strategy & { engine: "offline"; types: readonly PiiType[] })
  | (Strategy & {
      engine: "comprehend";
      types: readonly ComprehendPiiType[];
      language: (typeof COMPREHEND_PII_LANGUAGES)[number];
      minScore: number;
    });

export interface RedactorOptions {
  /** The key of `strategy: hash` (PII_HASH_KEY). */
  hashKey?: string;
  /** The Comprehend client to use (made on first use otherwise). */
  comprehendClient?: ComprehendClient;
  /** Counts requests to paid engines and the values redacted (GET /metrics). */
  meter?: PiiMeter;
}

export class Redactor {
  constructor(
    private readonly engine: PiiEngine,
    private readonly strategy: Strategy["strategy"],
    private readonly hashKey?: string,
    private readonly counted?: { meter: PiiMeter; engine: PiiEngineName },
  ) {
    if (strategy === "hash" && !hashKey)
      throw new Error("PII redaction by hash needs the setting PII_HASH_KEY");
  }

  async text(text: string, signal?: AbortSignal): Promise<string> {
    const findings = await this.engine.find(text, signal);
    if (this.counted) {
      const { meter, engine } = this.counted;
      for (const [type, count] of countBy(findings)) meter.redacted(engine, type, count);
    }
    return this.replace(text, findings);
  }

  /** Documents with their text and their shown metadata text (the title) redacted. */
  async documents(docs: Document[], signal?: AbortSignal): Promise<Document[]> {
    const redacted: Document[] = [];
    for (const doc of docs) {
      const metadata = { ...doc.metadata };
      if (typeof metadata.title === "string") metadata.title = await this.text(metadata.title, signal);
      redacted.push(
        new Document({ pageContent: await this.text(doc.pageContent, signal), metadata, id: doc.id }),
      );
    }
    return redacted;
  }

  /**
   * The caller's metadata with its text values redacted: an author's e-mail is as personal in metadata as in
   * the text. The document's identity (`doc_id`) and facts of its source (an S3 object's ETag and date) are kept
   * as sent. One request per value with a paid engine.
   */
  async metadata(
    metadata: Record<string, unknown> | undefined,
    signal?: AbortSignal,
  ): Promise<Record<string, unknown> | undefined> {
    if (!metadata) return metadata;
    const redacted: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(metadata)) {
      const personal = typeof value === "string" && value.trim() !== "" && !SOURCE_FACTS.has(key);
      redacted[key] = personal ? await this.text(value, signal) : value;
    }
    return redacted;
  }

  private replace(text: string, findings: PiiFinding[]): string {
    let out = "";
    let at = 0;
    for (const { type, start, end } of findings) {
      if (start < at) continue;
      out += `${text.slice(at, start)}[${type.toUpperCase()}${this.hash(type, text.slice(start, end))}]`;
      at = end;
    }
    return out + text.slice(at);
  }

  private hash(type: string, value: string): string {
    if (this.strategy === "mask") return "";
    const digest = createHmac("sha256", this.hashKey as string).update(`${type}:${normalise(type, value)}`);
    return `:${digest.digest("hex").slice(0, 8)}`;
  }
}

/** The redactor a recipe's `redact.pii` describes. */
export function redactorFor(redaction: PiiRedaction, options: RedactorOptions = {}): Redactor {
  const engine =
    redaction.engine === "comprehend"
      ? comprehendEngine({
          client: options.comprehendClient,
          types: redaction.types,
          language: redaction.language,
          minScore: redaction.minScore,
          onRequest: (characters) => options.meter?.request("comprehend", characters),
        })
      : offlineEngine(redaction.types);
  const counted = options.meter && { meter: options.meter, engine: redaction.engine };
  return new Redactor(engine, redaction.strategy, options.hashKey, counted);
}

function countBy(findings: PiiFinding[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { type } of findings) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** How equal values are recognised as equal whatever their spacing or case. */
function normalise(type: string, value: string): string {
  const kind = type.toLowerCase();
  if (kind === "email") return value.toLowerCase();
  if (kind === "aws_secret_key" || kind === "password") return value;
  return value.replace(/[^0-9A-Za-z:.]/g, "").toUpperCase();
}

/** The redactor of a recipe's `redact.pii`, or undefined when it redacts nothing. */
export function recipeRedactor(
  recipe: { redact: { pii: PiiRedaction | false } },
  options: RedactorOptions = {},
): Redactor | undefined {
  return recipe.redact.pii ? redactorFor(recipe.redact.pii, options) : undefined;
}

// Amazon Comprehend's DetectPiiEntities as a PII engine: names, postal addresses, dates and the other free-form
// values no offline pattern finds (https://docs.aws.amazon.com/comprehend/latest/dg/how-pii.html). A request
// takes at most 100 KB of UTF-8, so a long text goes in pieces cut at paragraph breaks, and each piece's
// code-point offsets are turned into the text's UTF-16 offsets. The SDK is loaded on first use, so a service
// that never redacts through Comprehend does not carry it.
import type { ComprehendClient } from "@aws-sdk/client-comprehend";
import { UnavailableError } from "../../../errors.ts";
import type { PiiEngine, PiiFinding } from "./engine.ts";
import { codePointToUtf16, piecesOf } from "./offsets.ts";

/** Comprehend's PiiEntityType values (the SDK's enum without ALL, which only its batch jobs take). */
export const COMPREHEND_PII_TYPES = [
  "ADDRESS",
  "AGE",
  "AWS_ACCESS_KEY",
  "AWS_SECRET_KEY",
  "BANK_ACCOUNT_NUMBER",
  "BANK_ROUTING",
  "CA_HEALTH_NUMBER",
  "CA_SOCIAL_INSURANCE_NUMBER",
  "CREDIT_DEBIT_CVV",
  "CREDIT_DEBIT_EXPIRY",
  "CREDIT_DEBIT_NUMBER",
  "DATE_TIME",
  "DRIVER_ID",
  "EMAIL",
  "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
  "IN_AADHAAR",
  "IN_NREGA",
  "IN_PERMANENT_ACCOUNT_NUMBER",
  "IN_VOTER_NUMBER",
  "IP_ADDRESS",
  "LICENSE_PLATE",
  "MAC_ADDRESS",
  "NAME",
  "PASSPORT_NUMBER",
  "PASSWORD",
  "PHONE",
  "PIN",
  "SSN",
  "SWIFT_CODE",
  "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
  "UK_NATIONAL_INSURANCE_NUMBER",
  "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER",
  "URL",
  "USERNAME",
  "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
  "VEHICLE_IDENTIFICATION_NUMBER",
] as const;
export type ComprehendPiiType = (typeof COMPREHEND_PII_TYPES)[number];

/** The languages DetectPiiEntities reads. */
export const COMPREHEND_PII_LANGUAGES = ["en", "es"] as const;

/** DetectPiiEntities' limit on Text: 100 KB of UTF-8 (read as 100,000 bytes, the stricter). */
export const COMPREHEND_MAX_BYTES = 100_000;

export interface ComprehendEngineOptions {
  /** Made on first use when absent: region, credentials and endpoint (AWS_ENDPOINT_URL_COMPREHEND) from the SDK. */
  client?: ComprehendClient;
  types: readonly ComprehendPiiType[];
  language: (typeof COMPREHEND_PII_LANGUAGES)[number];
  /** Findings scored below this (0-1) are left in the text. */
  minScore: number;
  /** Told about each request: the characters it sent (Comprehend bills in units of 100). */
  onRequest?(characters: number): void;
}

export function comprehendEngine(options: ComprehendEngineOptions): PiiEngine {
  const wanted = new Set<string>(options.types);
  let sdk: Promise<typeof import("@aws-sdk/client-comprehend")> | undefined;
  let client = options.client;
  const detect = async (text: string, signal?: AbortSignal) => {
    sdk ??= import("@aws-sdk/client-comprehend");
    const { ComprehendClient, DetectPiiEntitiesCommand } = await sdk;
    client ??= new ComprehendClient({ maxAttempts: 5 });
    const reply = await client
      .send(new DetectPiiEntitiesCommand({ Text: text, LanguageCode: options.language }), {
        abortSignal: signal,
      })
      .catch((error: Error) => {
        if (signal?.aborted) throw error;
        // After the SDK's own retries: the ingestion report names the step and the service's answer.
        throw new UnavailableError(
          `PII redaction through Amazon Comprehend failed (${error.name}: ${error.message}); nothing was stored`,
        );
      });
    options.onRequest?.(text.length);
    return reply.Entities ?? [];
  };
  return {
    async find(text, signal) {
      const findings: PiiFinding[] = [];
      for (const piece of piecesOf(text, COMPREHEND_MAX_BYTES)) {
        if (!piece.text.trim()) continue; // Comprehend refuses empty text; blank text holds nothing anyway
        const toUtf16 = codePointToUtf16(piece.text);
        for (const { Type, Score, BeginOffset, EndOffset } of await detect(piece.text, signal)) {
          if (!Type || !wanted.has(Type) || BeginOffset == null || EndOffset == null) continue;
          if ((Score ?? 0) < options.minScore) continue;
          const start = piece.start + toUtf16(BeginOffset);
          const end = piece.start + toUtf16(EndOffset);
          if (end > start) findings.push({ type: Type, start, end });
        }
      }
      return withoutOverlaps(findings);
    },
  };
}

/** In order of start; of two overlapping findings the first (then the longer) is kept. */
function withoutOverlaps(findings: PiiFinding[]): PiiFinding[] {
  const sorted = findings.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: PiiFinding[] = [];
  for (const finding of sorted) {
    const last = kept.at(-1);
    if (last && finding.start < last.end) continue;
    kept.push(finding);
  }
  return kept;
}

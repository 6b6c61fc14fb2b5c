// Where personal data is in a text, whichever engine finds it: the offline recognisers here, or Amazon
// Comprehend (comprehend.ts). Redaction (redact.ts) only needs the spans.
import type { PiiType } from "./pii-types.ts";

/** A value found in a text: `text.slice(start, end)` (UTF-16 offsets), with its type as the engine names it. */
export interface PiiFinding {
  type: string;
  start: number;
  end: number;
}

export interface PiiEngine {
  /** Every value of the engine's types in `text`, in order and without overlaps. */
  find(text: string, signal?: AbortSignal): Promise<PiiFinding[]>;
}

let recognisers: Promise<typeof import("./recognisers.ts")> | undefined;

/**
 * The built-in recognisers (regular expressions with check digits): no service, no cost. Imported with the first
 * text, as they reuse LangChain's detectors (the whole `langchain` package).
 */
export function offlineEngine(types: readonly PiiType[]): PiiEngine {
  return {
    find: async (text) => {
      recognisers ??= import("./recognisers.ts");
      return (await recognisers).recognise(text, types);
    },
  };
}

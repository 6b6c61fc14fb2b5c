// PDFs through LangChain's PDFLoader (pdf-parse 2 / pdf.js), one document per page, under a time limit.
import { createRequire } from "node:module";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { PDFLoader } from "@langchain/community/document_loaders/fs/pdf";
import type { Document } from "@langchain/core/documents";
import { type ParseParameters, PasswordException, PDFParse, type TextResult } from "pdf-parse";
import { BadRequestError } from "../../errors.ts";

// pdf.js would import its worker module (run in this thread: no worker in Node) at the first parse; it is loaded
// here instead, with this module (see loaders/index.ts: with source maps off), from pdf-parse's own pdf.js.
const pdfjsWorker = createRequire(createRequire(import.meta.url).resolve("pdf-parse")).resolve(
  "pdfjs-dist/legacy/build/pdf.worker.mjs",
);
(globalThis as { pdfjsWorker?: unknown }).pdfjsWorker ??= await import(pathToFileURL(pdfjsWorker).href);

export interface PdfOptions {
  timeoutMs: number;
  splitPages: boolean;
}

/**
 * Text per page (`metadata.page`, 1-based; pages without text are left out), or one document when
 * `splitPages` is false. Throws BadRequestError when parsing takes longer than `timeoutMs`.
 *
 * pdf.js runs in this thread and chains only promises, so a plain Promise.race against a timer never fires
 * while it parses (measured: 0 timer ticks during a 145 ms parse). The parser below therefore reads one page
 * at a time and yields to the event loop between pages, where the deadline is checked; a single pathological
 * page, or the initial cross-reference parse, can still overrun (only a worker thread could stop those).
 */
export async function loadPdf(
  blob: Blob,
  name: string,
  options: PdfOptions,
  signal?: AbortSignal,
): Promise<Document[]> {
  signal?.throwIfAborted();
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const deadline = signal ? AbortSignal.any([timeout, signal]) : timeout;
  const parsers: PDFParse[] = [];

  class PagedPDFParse extends PDFParse {
    constructor(...args: ConstructorParameters<typeof PDFParse>) {
      super(...args);
      parsers.push(this);
    }

    override async getText(params: ParseParameters = {}): Promise<TextResult> {
      const result = await super.getText({ ...params, partial: [1] });
      for (let page = 2; page <= result.total; page += 1) {
        await yieldToEventLoop();
        deadline.throwIfAborted();
        const next = await super.getText({ ...params, partial: [page] });
        result.pages.push(...next.pages);
        result.text += next.text;
      }
      return result;
    }
  }

  const loader = new PDFLoader(blob, {
    splitPages: options.splitPages,
    pdfjs: async () => ({ isV2: true as const, PDFParse: PagedPDFParse }),
  });
  try {
    return await untilAborted(loader.load(), deadline);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (timeout.aborted) {
      throw new BadRequestError(
        `"${name}" took longer than ${options.timeoutMs} ms to parse (the recipe's types.pdf.timeoutMs).`,
      );
    }
    if (error instanceof PasswordException)
      throw new BadRequestError(`"${name}" is a password-protected PDF.`);
    throw error;
  } finally {
    // Frees pdf.js's document, and stops the page loop of a parse that lost the race.
    if (deadline.aborted) await Promise.allSettled(parsers.map((p) => p.destroy()));
  }
}

/** Settles with `work`, or rejects as soon as `signal` aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener("abort", onAbort));
}

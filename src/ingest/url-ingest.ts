// Ingesting web pages and files by URL (`POST /ingest {"urls"}`, recipe sources, the CLI): the URL source
// fetches them with its SSRF guard, and what it refuses or cannot fetch is reported in `failed` beside the
// pipeline's own failures. URL_ALLOW_ADDRESSES opens chosen private ranges (an intranet) on purpose.
import type { IngestPipeline, IngestReport, RunOptions } from "./pipeline.ts";
import { allowPolicy } from "./sources/url/address-policy.ts";
import { type UrlSkipped, urlSource } from "./sources/url/url-source.ts";

export interface UrlIngestOptions extends RunOptions {
  pipeline: IngestPipeline;
  maxBytes: number;
  /** Addresses or CIDR ranges fetched although not public, e.g. ["10.20.0.0/16"]. */
  allow?: string[];
}

export async function ingestUrls(urls: string[], options: UrlIngestOptions): Promise<IngestReport> {
  const skipped: UrlSkipped[] = [];
  const report = await options.pipeline.ingest(
    urlSource(urls, {
      maxBytes: options.maxBytes,
      signal: options.signal,
      policy: allowPolicy(options.allow ?? []),
      onSkip: (s) => skipped.push(s),
    }),
    { signal: options.signal, jobId: options.jobId, order: options.order, onProgress: options.onProgress },
  );
  for (const s of skipped)
    report.failed.push({ name: s.url, error: s.error, code: s.code, status: s.status });
  return report;
}

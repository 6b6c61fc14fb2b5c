// The services' meters as CloudWatch EMF metrics (docs/operations.md lists them): model calls, tokens and cost
// per model, cache hits and hit rate per cache, documents ingested per outcome and failed. Used by the HTTP
// service's metrics plugin and by `counsel worker`, which has no HTTP app but ingests, calls models and fails.
import type { IngestRecord } from "../../ingest/ingest-meter.ts";
import type { CacheRecord } from "../../models/cache-meter.ts";
import { costFor } from "../../models/prices.ts";
import type { UsageRecord } from "../../models/usage.ts";
import type { EmfReporter } from "./emf-reporter.ts";

export interface MeteredServices {
  onUsage?(listener: (record: UsageRecord) => void): void;
  onCache?(listener: (record: CacheRecord) => void): void;
  onIngested?(listener: (record: IngestRecord) => void): void;
}

/** Documents through ingestion: DocumentsIngested by outcome, and IngestFailures (the alarm's metric). */
export function emfIngested(emf: EmfReporter, outcome: string, count: number): void {
  emf.add({ Status: outcome }, "DocumentsIngested", count, "Count");
  if (outcome === "failed") emf.add({}, "IngestFailures", count, "Count");
}

/** Subscribes `emf` to what the services meter. */
export function reportServiceMetrics(emf: EmfReporter, services: MeteredServices): void {
  services.onUsage?.((record) => {
    const model = { Model: record.model };
    emf.add(model, "ModelCalls", 1, "Count");
    emf.add(model, "InputTokens", record.inputTokens, "Count");
    emf.add(model, "OutputTokens", record.outputTokens, "Count");
    const cost = costFor(record.model, record.inputTokens, record.outputTokens);
    if (cost !== null) emf.add(model, "CostUSD", cost, "None");
  });
  if (services.onCache) {
    const lookups = new Map<string, { hit: number; miss: number }>();
    services.onCache((record) => {
      const counts = lookups.get(record.cache) ?? { hit: 0, miss: 0 };
      counts[record.outcome] += record.count;
      lookups.set(record.cache, counts);
    });
    // Hits, misses and their rate over each interval, for caches looked up in it.
    emf.onFlush(() => {
      for (const [cache, { hit, miss }] of lookups) {
        emf.add({ Cache: cache }, "CacheHits", hit, "Count");
        emf.add({ Cache: cache }, "CacheMisses", miss, "Count");
        emf.add({ Cache: cache }, "CacheHitRate", (100 * hit) / (hit + miss), "Percent");
      }
      lookups.clear();
    });
  }
  services.onIngested?.(({ outcome, count }) => emfIngested(emf, outcome, count));
}

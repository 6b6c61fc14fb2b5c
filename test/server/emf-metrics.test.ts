// METRICS_FORMAT=emf: the service's metrics as CloudWatch Embedded Metric Format documents on standard output
// (the log stream CloudWatch Logs extracts them from), a minute's observations a document, beside GET /metrics.
import Fastify from "fastify";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { CacheRecord } from "../../src/models/cache-meter.ts";
import type { UsageRecord } from "../../src/models/usage.ts";
import { metricsPlugin } from "../../src/server/plugins/metrics.ts";
import { useBedrockEmulator } from "../helpers/bedrock.ts";
import { startService, tempDataDir } from "../helpers/services.ts";

interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

/**
 * Parses one line as an EMF document and checks it against the specification's rules: every dimension names a
 * string member, every metric a number or an array of at most 100 numbers, at most 30 dimensions a set.
 */
function emfDocument(line: string): EmfDocument {
  const doc = JSON.parse(line) as EmfDocument;
  expect(doc._aws.Timestamp).toEqual(expect.any(Number));
  for (const directive of doc._aws.CloudWatchMetrics) {
    expect(directive.Namespace).toEqual(expect.any(String));
    for (const set of directive.Dimensions) {
      expect(set.length).toBeLessThanOrEqual(30);
      for (const name of set) expect(doc[name]).toEqual(expect.any(String));
    }
    for (const { Name } of directive.Metrics) {
      const value = doc[Name];
      const values = Array.isArray(value) ? value : [value];
      expect(values.length).toBeLessThanOrEqual(100);
      for (const v of values) expect(v).toEqual(expect.any(Number));
    }
  }
  return doc;
}

/** The value of `metric` in the documents whose dimension members equal `dimensions` exactly. */
function metric(docs: EmfDocument[], dimensions: Record<string, string>, name: string): unknown[] {
  const found: unknown[] = [];
  for (const doc of docs) {
    const directive = doc._aws.CloudWatchMetrics[0];
    const names = directive.Dimensions[0];
    const matches =
      names.length === Object.keys(dimensions).length && names.every((n) => doc[n] === dimensions[n]);
    if (matches && directive.Metrics.some((m) => m.Name === name)) found.push(doc[name]);
  }
  return found;
}

describe("EMF metrics", () => {
  afterEach(() => vi.restoreAllMocks());

  it("writes latency per route and service-wide, requests and errors, tokens and cost per model, cache hit rates, ingestions and waiting requests", async () => {
    const lines: string[] = [];
    // As the services' meters do: every subscriber hears every record.
    const usageListeners: ((record: UsageRecord) => void)[] = [];
    const cacheListeners: ((record: CacheRecord) => void)[] = [];
    const usage = (record: UsageRecord) => {
      for (const listener of usageListeners) listener(record);
    };
    const cache = (record: CacheRecord) => {
      for (const listener of cacheListeners) listener(record);
    };
    const app = Fastify();
    await app.register(metricsPlugin, {
      onUsage: (listener) => usageListeners.push(listener),
      onCache: (listener) => cacheListeners.push(listener),
      emf: { namespace: "CounselTest", intervalMs: 400, write: (line) => lines.push(line) },
    });
    let waiting = 3;
    app.metrics.emf?.gauge("RequestsWaiting", () => waiting);
    app.get("/reports/:id", async (_request, reply) => reply.code(404).send({ error: "not_found" }));
    app.get("/boom", async () => {
      throw new Error("boom");
    });
    await app.inject("/reports/1");
    await app.inject("/reports/2");
    await app.inject("/boom");
    usage({
      model: "amazon.nova-micro-v1:0",
      operation: "ConverseCommand",
      inputTokens: 1000,
      outputTokens: 500,
    });
    usage({
      model: "amazon.nova-micro-v1:0",
      operation: "ConverseCommand",
      inputTokens: 13,
      outputTokens: 82,
    });
    cache({ cache: "embeddings", outcome: "hit", count: 3 });
    cache({ cache: "embeddings", outcome: "miss", count: 1 });
    app.metrics.ingested("added", 2);
    app.metrics.ingested("failed", 1);
    await new Promise((resolve) => setTimeout(resolve, 100)); // a gauge sample or two
    waiting = 5;
    await app.close();

    const docs = lines.map((line) => {
      expect(line.endsWith("\n")).toBe(true);
      return emfDocument(line);
    });
    expect(new Set(docs.flatMap((d) => d._aws.CloudWatchMetrics.map((c) => c.Namespace)))).toEqual(
      new Set(["CounselTest"]),
    );
    const route = { Method: "GET", Route: "/reports/:id" };
    expect(metric(docs, route, "Latency")).toEqual([[expect.any(Number), expect.any(Number)]]);
    expect(metric(docs, route, "Requests")).toEqual([2]);
    expect(metric(docs, route, "Errors4xx")).toEqual([2]);
    expect(metric(docs, route, "Errors5xx")).toEqual([0]);
    expect(metric(docs, { Method: "GET", Route: "/boom" }, "Errors5xx")).toEqual([1]);
    // The service-wide figures come from the same documents: a second dimension set, the empty one.
    const perRoute = docs.filter((d) => d.Route === "/reports/:id");
    expect(perRoute[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([["Method", "Route"], []]);

    const model = { Model: "amazon.nova-micro-v1:0" };
    expect(metric(docs, model, "InputTokens")).toEqual([1013]);
    expect(metric(docs, model, "OutputTokens")).toEqual([582]);
    expect(metric(docs, model, "ModelCalls")).toEqual([2]);
    const [cost] = metric(docs, model, "CostUSD") as number[];
    expect(cost).toBeGreaterThan(0);
    expect(metric(docs, { Cache: "embeddings" }, "CacheHitRate")).toEqual([75]);
    expect(metric(docs, { Cache: "embeddings" }, "CacheHits")).toEqual([3]);
    expect(metric(docs, { Status: "added" }, "DocumentsIngested")).toEqual([2]);
    expect(metric(docs, {}, "IngestFailures")).toEqual([1]);
    const samples = metric(docs, {}, "RequestsWaiting").flat();
    expect(samples.length).toBeGreaterThan(0);
    expect(new Set(samples)).toEqual(new Set([3]));
  });

  it("is what METRICS_FORMAT=emf turns on, on standard output; nothing is written without it", async () => {
    const written: string[] = [];
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    for (const format of ["prometheus", "emf"]) {
      const data = await tempDataDir();
      const service = await startService(data.dir, {
        METRICS_FORMAT: format,
        METRICS_NAMESPACE: "Counsel/Test",
      });
      await fetch(`${service.url}/healthz`);
      await fetch(`${service.url}/chains`);
      await service.stop();
      await data.remove();
    }
    stdout.mockRestore();
    const docs = written.filter((line) => line.includes('"_aws"')).map(emfDocument);
    expect(metric(docs, { Method: "GET", Route: "/chains" }, "Requests")).toEqual([1]);
    // Health checks are not traffic.
    expect(metric(docs, { Method: "GET", Route: "/healthz" }, "Requests")).toEqual([]);
    expect(docs.every((d) => d._aws.CloudWatchMetrics[0].Namespace === "Counsel/Test")).toBe(true);
  });
});

describe("EMF metrics of model calls, through the Bedrock emulator", () => {
  useBedrockEmulator();

  it("counts the tokens of an answer", async () => {
    const written: string[] = [];
    const data = await tempDataDir();
    const service = await startService(data.dir, {
      METRICS_FORMAT: "emf",
      MODEL_PROVIDER: "bedrock",
      MODEL_ID: "us.amazon.nova-micro-v1:0",
    });
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      await fetch(`${service.url}/ingest`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          documents: [{ text: "The cafeteria opens at 9am.", metadata: { doc_id: "h" } }],
        }),
      });
      await fetch(`${service.url}/chain/qa`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ question: "When does the cafeteria open?", variant: "baseline" }),
      });
      await service.stop();
    } finally {
      stdout.mockRestore();
      await data.remove();
    }
    const docs = written.filter((line) => line.includes('"_aws"')).map(emfDocument);
    // The recorded stream: 13 tokens in, 82 out.
    const model = { Model: "us.amazon.nova-micro-v1:0" };
    expect(metric(docs, model, "InputTokens")).toEqual([13]);
    expect(metric(docs, model, "OutputTokens")).toEqual([82]);
    expect(metric(docs, { Status: "added" }, "DocumentsIngested")).toEqual([1]);
    expect(metric(docs, { Method: "POST", Route: "/chain/qa" }, "Latency")).toEqual([expect.any(Number)]);
  });
});

// GET /metrics in Prometheus text format: request latency by route pattern, documents ingested by outcome, model
// tokens and calls (through the Bedrock emulator), open streams, cache hits and misses, and the process's own
// metrics.
import { describe, expect, inject, it } from "vitest";
import { useBedrockEmulator } from "../helpers/bedrock.ts";
import { useService } from "../helpers/services.ts";

const MODEL = "us.amazon.nova-micro-v1:0";

function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(series));
  return line === undefined ? undefined : Number(line.slice(series.length).trim());
}

describe("/metrics", () => {
  useBedrockEmulator();
  const service = useService({ MODEL_PROVIDER: "bedrock", MODEL_ID: MODEL });

  it("counts requests by route pattern, documents by outcome, and model tokens", async () => {
    const ingest = (text: string) =>
      fetch(`${service.url}/ingest`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ documents: [{ text, metadata: { doc_id: "hours" } }] }),
      });
    await ingest("The cafeteria opens at 9am.");
    await ingest("The cafeteria opens at 9am."); // unchanged: skipped
    await fetch(`${service.url}/chain/qa`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ question: "When does the cafeteria open?", variant: "baseline" }),
    });
    await fetch(`${service.url}/reports/00000000-0000-4000-8000-000000000000`);

    const res = await fetch(`${service.url}/metrics`);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(value(text, 'counsel_ingested_documents_total{status="added"}')).toBe(1);
    expect(value(text, 'counsel_ingested_documents_total{status="skipped"}')).toBe(1);
    expect(
      value(text, 'counsel_http_request_duration_seconds_count{method="POST",route="/ingest",status="200"}'),
    ).toBe(2);
    // One series for every report id.
    expect(
      value(
        text,
        'counsel_http_request_duration_seconds_count{method="GET",route="/reports/:id",status="404"}',
      ),
    ).toBe(1);
    // The recorded stream: 13 tokens in, 82 out.
    expect(value(text, `counsel_model_tokens_total{model="${MODEL}",direction="input"}`)).toBe(13);
    expect(value(text, `counsel_model_tokens_total{model="${MODEL}",direction="output"}`)).toBe(82);
    expect(value(text, "counsel_open_streams")).toBe(0);
    expect(text).toMatch(/^counsel_process_resident_memory_bytes \d+/m);
  });
});

describe("/metrics on Redis", () => {
  const service = useService({
    REDIS_URL: inject("redisUrl"),
    REDIS_PREFIX: `t${Math.random().toString(36).slice(2, 10)}`,
  });

  it("counts embedding-cache hits and misses: the same text under another id costs no embedding", async () => {
    const ingest = (docId: string) =>
      fetch(`${service.url}/ingest`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          documents: [{ text: "The library closes at 8pm.", metadata: { doc_id: docId } }],
        }),
      });
    expect((await ingest("library")).status).toBe(200);
    expect((await ingest("library-copy")).status).toBe(200);
    const text = await (await fetch(`${service.url}/metrics`)).text();
    expect(value(text, 'counsel_cache_requests_total{cache="embeddings",outcome="miss"}')).toBe(1);
    expect(value(text, 'counsel_cache_requests_total{cache="embeddings",outcome="hit"}')).toBe(1);
    expect(value(text, 'counsel_cache_requests_total{cache="llm",outcome="hit"}')).toBe(0);
  });
});

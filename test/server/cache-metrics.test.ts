// counsel_cache_requests_total on GET /metrics: the metrics plugin, in a bare Fastify app, subscribed to a
// CacheMeter that a real in-memory LLM cache counts into.
import { FakeListChatModel } from "@langchain/core/utils/testing";
import Fastify from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { CacheMeter, type CacheRecord } from "../../src/models/cache-meter.ts";
import { metricsPlugin } from "../../src/server/plugins/metrics.ts";
import { llmCache } from "../../src/store/llm-cache.ts";

function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length).trim());
}

const series = (cache: string, outcome: string) =>
  `counsel_cache_requests_total{cache="${cache}",outcome="${outcome}"}`;

describe("counsel_cache_requests_total", () => {
  let app: ReturnType<typeof Fastify> | undefined;
  afterEach(async () => app?.close());

  async function scrape(): Promise<string> {
    const res = await app?.inject({ method: "GET", url: "/metrics" });
    expect(res?.statusCode).toBe(200);
    return res?.body ?? "";
  }

  it("counts cache lookups by cache and outcome, every series from 0", async () => {
    const meter = new CacheMeter();
    app = Fastify();
    await app.register(metricsPlugin, {
      onCache: (listener: (record: CacheRecord) => void) => meter.onRecord(listener),
    });
    await app.ready();

    let text = await scrape();
    expect(text).toContain("# TYPE counsel_cache_requests_total counter");
    for (const cache of ["embeddings", "llm"]) {
      for (const outcome of ["hit", "miss"]) expect(value(text, series(cache, outcome))).toBe(0);
    }

    const chat = new FakeListChatModel({
      responses: ["200 laptops [1]"],
      cache: llmCache({ prefix: "llm", meter }),
    });
    await chat.invoke("How many laptops were shipped?");
    await chat.invoke("How many laptops were shipped?");
    await chat.invoke("How many laptops were shipped?");
    meter.record("embeddings", "miss", 5);
    meter.record("embeddings", "hit", 2);

    text = await scrape();
    expect(value(text, series("llm", "hit"))).toBe(2);
    expect(value(text, series("llm", "miss"))).toBe(1);
    expect(value(text, series("embeddings", "hit"))).toBe(2);
    expect(value(text, series("embeddings", "miss"))).toBe(5);
  });

  it("has no series without a cache meter", async () => {
    app = Fastify();
    await app.register(metricsPlugin, {});
    await app.ready();
    expect(await scrape()).not.toMatch(/^counsel_cache_requests_total\{/m);
  });
});

// Load on /chain/qa: 200 concurrent clients for 30 s (autocannon, in its own process so that it does not share
// the service's event loop) against a knowledge base of about 10,000 chunks of a BEIR corpus, beside a bare
// Fastify route that returns a fixed reply (the ceiling of the HTTP stack on this machine). Prints latency p50/p99,
// throughput, errors and the service's peak RSS. `--store redis` keeps the knowledge base in Redis (vector sets and
// the lexical index), at --redis-url or in a private Redis 8 started for the run.
//   npm run bench:load -- [--dataset ../shared/data/retrieval-eval/scifact] [--chunks 10000]
//     [--connections 200] [--seconds 30] [--store local|redis] [--redis-url redis://…]
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import Fastify from "fastify";
import { jsonLines } from "../src/chains/eval/dataset.ts";
import { loadSettings } from "../src/config/settings.ts";
import type { TextDocument } from "../src/ingest/pipeline.ts";
import { appOptions, buildApp } from "../src/server/app.ts";
import { createServices } from "../src/services/services.ts";
import { DEFAULT_TENANT } from "../src/tenants/tenant-id.ts";
import { openBenchRedis } from "./redis.ts";

const { values } = parseArgs({
  options: {
    dataset: { type: "string", default: "../shared/data/retrieval-eval/scifact" },
    chunks: { type: "string", default: "10000" },
    connections: { type: "string", default: "200" },
    seconds: { type: "string", default: "30" },
    store: { type: "string", default: "local" },
    "redis-url": { type: "string" },
  },
});

interface Result {
  p50: number;
  p99: number;
  rps: number;
  requests: number;
  errors: number;
  non2xx: number;
}

/** autocannon as a child process, its JSON summary parsed. */
async function cannon(
  url: string,
  body: string,
  run: { seconds: number } | { requests: number },
): Promise<Result> {
  const bin = createRequire(import.meta.url).resolve("autocannon/autocannon.js");
  const length = "seconds" in run ? ["-d", String(run.seconds)] : ["-a", String(run.requests)];
  const args = [bin, "-c", values.connections as string, ...length, "-m", "POST"];
  args.push("-H", "content-type=application/json", "-b", body, "--json", url);
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 64 * 1024 * 1024 });
  const r = JSON.parse(stdout);
  return {
    p50: r.latency.p50,
    p99: r.latency.p99,
    rps: r.requests.average,
    requests: r.requests.total,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
}

/**
 * About --seconds of load in which every request completes: autocannon's duration mode counts the requests still
 * in flight when the time is up as timeouts, so a short run measures the rate and the real run sends that many.
 */
async function measure(url: string, body: string): Promise<Result> {
  const probe = await cannon(url, body, { seconds: 5 });
  return cannon(url, body, { requests: Math.max(1, Math.round(probe.rps * Number(values.seconds))) });
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** Heap in use after a full collection (with --expose-gc, as `npm run bench:load` runs). */
function heapAfterGc(): number | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return undefined;
  gc();
  return process.memoryUsage().heapUsed;
}

async function main() {
  if (values.store !== "local" && values.store !== "redis") throw new Error("--store is local or redis");
  const dataDir = await mkdtemp(path.join(tmpdir(), "counsel-bench-load-"));
  const prefix = "counsel-bench-load";
  const redis = values.store === "redis" ? await openBenchRedis(values["redis-url"], prefix) : undefined;
  const settings = loadSettings({
    ...(redis ? { REDIS_URL: redis.url, REDIS_PREFIX: prefix } : {}),
    DATA_DIR: dataDir,
    LOAD_EXAMPLES: "false",
    LOG_LEVEL: "silent",
    RATE_LIMIT_PER_MINUTE: "0", // one client sends everything here
    WATCH_CONFIG: "false",
  });
  const services = await createServices(settings, { info: () => {}, warn: () => {} });
  const { pipeline } = await services.tenant(DEFAULT_TENANT); // no keys: requests are the default tenant
  try {
    // The knowledge base: corpus documents until about --chunks chunks.
    const target = Number(values.chunks);
    const docs: TextDocument[] = [];
    let chunks = 0;
    let started = performance.now();
    for await (const d of jsonLines<{ _id: string; title?: string; text: string }>(
      path.join(values.dataset as string, "corpus.jsonl"),
    )) {
      docs.push({ text: `${d.title ?? ""}\n\n${d.text}`, metadata: { doc_id: d._id } });
      if (docs.length === 500) {
        chunks += (await pipeline.ingestTexts(docs.splice(0))).chunks.added;
        if (chunks >= target) break;
      }
    }
    if (docs.length > 0) chunks += (await pipeline.ingestTexts(docs)).chunks.added;
    await pipeline.flush();
    const ingestSeconds = (performance.now() - started) / 1000;

    const app = await buildApp(services, appOptions(settings, services));
    await app.listen({ port: 0, host: "127.0.0.1" });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const heapBefore = heapAfterGc();
    const startRss = process.memoryUsage().rss; // after ingestion, before the load
    let peakRss = startRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 100);
    started = performance.now();
    const question = JSON.stringify({ question: "What is the effect of vitamin D on bone density?" });
    const service = await measure(`${base}/chain/qa`, question);
    clearInterval(sampler);
    const heapAfter = heapAfterGc();
    await app.close();

    const bare = Fastify();
    bare.post("/chain/qa", async () => ({ answer: "fixed", sources: [] }));
    await bare.listen({ port: 0, host: "127.0.0.1" });
    const ceiling = await measure(
      `http://127.0.0.1:${(bare.server.address() as { port: number }).port}/chain/qa`,
      question,
    );
    await bare.close();

    const row = (name: string, r: Result, rss: string) =>
      `| ${name} | ${r.requests} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.non2xx} | ${rss} |`;
    console.log(
      `${chunks} chunks in the ${values.store} store (ingested in ${ingestSeconds.toFixed(1)} s), ${values.connections} connections × ${values.seconds} s, POST /chain/qa\n`,
    );
    console.log("| target | requests | req/s | p50 ms | p99 ms | errors | non-2xx | peak RSS |");
    console.log("|---|--:|--:|--:|--:|--:|--:|--:|");
    console.log(row("Counsel /chain/qa (hybrid retrieval + extractive answer)", service, mib(peakRss)));
    console.log(row("bare Fastify route (ceiling)", ceiling, ""));
    console.log(`\nservice RSS: ${mib(startRss)} after ingestion, at the start of the load`);
    if (heapBefore !== undefined && heapAfter !== undefined) {
      // Live heap after a full collection: what the load left behind (a leak shows here, garbage does not).
      console.log(
        `live heap after a full GC: ${mib(heapBefore)} before the load, ${mib(heapAfter)} after it`,
      );
    }
  } finally {
    await services.close();
    await redis?.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();

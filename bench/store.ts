import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Document } from "@langchain/core/documents";
import { RecursiveCharacterTextSplitter } from "@langchain/textsplitters";
import { jsonLines } from "../src/chains/eval/dataset.ts";
import { LocalHashEmbeddings } from "../src/models/embeddings/local-hash.ts";
import { LocalVectorStore } from "../src/store/local/local-vector-store.ts";
import { RedisLexicalIndex } from "../src/store/redis-lexical-index.ts";
import { RedisSearchStore } from "../src/store/redis-search-store.ts";
import { RedisVectorSetStore } from "../src/store/redis-vector-sets.ts";
import { openBenchRedis } from "./redis.ts";

const K = 5;
const BATCH = 500;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function timeQueries(vectors: number[][], run: (v: number[]) => Promise<unknown>) {
  for (const v of vectors.slice(0, 20)) await run(v); // warm-up
  const times: number[] = [];
  for (const v of vectors) {
    const started = performance.now();
    await run(v);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function main() {
  if (process.argv.includes("--dense")) {
    const { runDense } = await import("./store-dense/main.ts");
    return runDense(process.argv.slice(2));
  }
  const { values } = parseArgs({
    options: {
      dataset: { type: "string" },
      chunks: { type: "string", default: "50000" },
      "redis-url": { type: "string" },
      // A Redis with the Query Engine, for the redis-search store (default REDIS_SEARCH_URL).
      "search-url": { type: "string", default: process.env.REDIS_SEARCH_URL },
      stores: { type: "string", default: "local,redis" },
    },
  });
  if (!values.dataset) {
    console.error(
      "usage: npm run bench:store -- --dataset <BEIR folder> [--chunks 50000] [--stores local,redis,search] " +
        "[--redis-url redis://…] [--search-url redis://… (a Redis with the Query Engine; REDIS_SEARCH_URL)]",
    );
    process.exitCode = 2;
    return;
  }
  const dataset = path.resolve(values.dataset);
  const limit = Number(values.chunks);
  const stores = new Set(values.stores.split(","));

  // SciFact has 5,183 abstracts: split them small (≈180 characters) to reach tens of thousands of real chunks.
  const splitter = new RecursiveCharacterTextSplitter({ chunkSize: 180, chunkOverlap: 0 });
  const chunks: Document[] = [];
  for await (const doc of jsonLines<{ _id: string; title?: string; text?: string }>(
    path.join(dataset, "corpus.jsonl"),
  )) {
    const parts = await splitter.splitText([doc.title, doc.text].filter(Boolean).join("\n"));
    parts.forEach((text, i) => {
      chunks.push(
        new Document({ pageContent: text, metadata: { doc_id: doc._id, chunk: i }, id: `${doc._id}-${i}` }),
      );
    });
    if (chunks.length >= limit) break;
  }
  chunks.length = Math.min(chunks.length, limit);
  const embeddings = new LocalHashEmbeddings();
  const vectors = await embeddings.embedDocuments(chunks.map((c) => c.pageContent));
  const queries: string[] = [];
  for await (const q of jsonLines<{ text: string }>(path.join(dataset, "queries.jsonl")))
    queries.push(q.text);
  const queryVectors = await embeddings.embedDocuments(queries.slice(0, 300));
  console.log(
    `${chunks.length} chunks of ${path.basename(dataset)}, ${queryVectors.length} queries, k=${K}, ` +
      `${embeddings.modelId} (vectors embedded beforehand: the figures are the stores' own)`,
  );

  const rows: string[][] = [];
  const notes: string[] = [];
  const ingest = async (add: (v: number[][], d: Document[], ids: string[]) => Promise<unknown>) => {
    const started = performance.now();
    for (let i = 0; i < chunks.length; i += BATCH) {
      const batch = chunks.slice(i, i + BATCH);
      await add(
        vectors.slice(i, i + BATCH),
        batch,
        batch.map((c) => c.id as string),
      );
    }
    return chunks.length / ((performance.now() - started) / 1000);
  };

  if (stores.has("local")) {
    const dir = await mkdtemp(path.join(tmpdir(), "bench-store-"));
    const file = path.join(dir, "vectors.bin");
    // Saved only by the flushes timed below.
    const local = new LocalVectorStore(embeddings, {
      path: file,
      saveDelayMs: 3_600_000,
      vectorIndex: "exact",
    });
    const localRate = await ingest((v, d, ids) => local.addVectors(v, d, { ids }));
    const localTimes = await timeQueries(queryVectors, (v) => local.similaritySearchVectorWithScore(v, K));
    rows.push(["local", localRate.toFixed(0), localTimes.p50.toFixed(2), localTimes.p99.toFixed(2)]);
    // The same chunks behind the store's HNSW graph (LOCAL_VECTOR_INDEX=hnsw), measured once it is built.
    const graph = new LocalVectorStore(embeddings, { vectorIndex: "hnsw" });
    const graphRate = await ingest((v, d, ids) => graph.addVectors(v, d, { ids }));
    const building = performance.now();
    await graph.similaritySearchVectorWithScore(queryVectors[0], K);
    await graph.whenIndexed();
    const buildSeconds = (performance.now() - building) / 1000;
    const graphTimes = await timeQueries(queryVectors, (v) => graph.similaritySearchVectorWithScore(v, K));
    let found = 0;
    for (const v of queryVectors) {
      const exact = new Set((await local.similaritySearchVectorWithScore(v, K)).map(([d]) => d.id));
      found += (await graph.similaritySearchVectorWithScore(v, K)).filter(([d]) => exact.has(d.id)).length;
    }
    rows.push(["local (HNSW)", graphRate.toFixed(0), graphTimes.p50.toFixed(2), graphTimes.p99.toFixed(2)]);
    notes.push(
      `HNSW graph built in ${buildSeconds.toFixed(1)} s after ingest; recall@${K} against the exact scan ` +
        `${(found / (K * queryVectors.length)).toFixed(3)}`,
    );
    const saves = await timeSaves(local, () => local.addVectors(vectors.slice(0, 1), chunks.slice(0, 1)));
    notes.push(`${saves}, ${((await stat(file)).size / 2 ** 20).toFixed(1)} MB file`);
    // Saved: the texts of the chunks its base holds are now read from the file (the page cache) for each result.
    const savedTimes = await timeQueries(queryVectors, (v) => local.similaritySearchVectorWithScore(v, K));
    rows.push([
      "local, texts read from its base file",
      "",
      savedTimes.p50.toFixed(2),
      savedTimes.p99.toFixed(2),
    ]);
    notes.push(`after the saves, ${local.textsInMemory()} texts in memory, the rest read from the base`);
    await local.close();
    await rm(dir, { recursive: true, force: true });
  }

  if (stores.has("redis")) {
    const prefix = `bench-store:${Date.now()}`;
    const redis = await openBenchRedis(values["redis-url"], prefix);
    const client = redis.client;
    const key = `${prefix}:vectors`;
    const redisStore = new RedisVectorSetStore(embeddings, {
      client,
      key,
      lexical: new RedisLexicalIndex({ client, prefix: `${prefix}:lexical` }),
    });
    const redisRate = await ingest((v, d, ids) => redisStore.addVectors(v, d, { ids }));
    const redisTimes = await timeQueries(queryVectors, (v) =>
      redisStore.similaritySearchVectorWithScore(v, K),
    );
    rows.push([
      "redis-vectorset (service)",
      redisRate.toFixed(0),
      redisTimes.p50.toFixed(2),
      redisTimes.p99.toFixed(2),
    ]);
    const rawTimes = await timeQueries(queryVectors, (v) =>
      client.sendCommand([
        "VSIM",
        key,
        "FP32",
        Buffer.from(new Float32Array(v).buffer),
        "WITHSCORES",
        "COUNT",
        String(K),
      ]),
    );
    rows.push(["raw VSIM (floor)", "", rawTimes.p50.toFixed(2), rawTimes.p99.toFixed(2)]);

    notes.push(
      `service overhead over raw VSIM: p50 +${(redisTimes.p50 - rawTimes.p50).toFixed(2)} ms, ` +
        `p99 +${(redisTimes.p99 - rawTimes.p99).toFixed(2)} ms (fetching the chunk hashes, building Documents)`,
    );
    await redis.close();
  }

  if (stores.has("search")) {
    const url = values["search-url"];
    if (!url)
      throw new Error(
        "--stores search needs --search-url or REDIS_SEARCH_URL (a Redis with the Query Engine)",
      );
    const prefix = `bench-store:{${Date.now()}}`;
    const redis = await openBenchRedis(url, prefix);
    const client = redis.client;
    const store = new RedisSearchStore(embeddings, {
      client,
      prefix,
      lexical: new RedisLexicalIndex({ client, prefix: `${prefix}:lexical` }),
    });
    const rate = await ingest((v, d, ids) => store.addVectors(v, d, { ids }));
    await store.open(); // waits until the index has caught up with the writes
    const times = await timeQueries(queryVectors, (v) => store.similaritySearchVectorWithScore(v, K));
    rows.push(["redis-search (service)", rate.toFixed(0), times.p50.toFixed(2), times.p99.toFixed(2)]);
    // The floor: the KNN alone, returning only the distance (the service returns text and metadata too).
    const raw = await timeQueries(queryVectors, (v) =>
      client.sendCommand([
        "FT.SEARCH",
        store.indexName,
        `*=>[KNN ${K} @vector $B AS distance]`,
        "PARAMS",
        "2",
        "B",
        Buffer.from(new Float32Array(v).buffer),
        "RETURN",
        "1",
        "distance",
        "LIMIT",
        "0",
        String(K),
        "DIALECT",
        "2",
      ]),
    );
    rows.push(["raw FT.SEARCH KNN (floor)", "", raw.p50.toFixed(2), raw.p99.toFixed(2)]);
    notes.push(
      `service overhead over raw FT.SEARCH: p50 +${(times.p50 - raw.p50).toFixed(2)} ms, ` +
        `p99 +${(times.p99 - raw.p99).toFixed(2)} ms (text and metadata returned, Documents built)`,
    );
    await client.sendCommand(["FT.DROPINDEX", store.indexName]);
    await redis.close();
  }

  console.log("| store | ingest chunks/s | p50 ms | p99 ms |");
  console.log("|---|--:|--:|--:|");
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
  for (const note of notes) console.log(note);
}

/**
 * Times saves of the local store, each after a one-chunk upsert so that there is something to save: the whole
 * flush, and the longest the event loop was blocked meanwhile (the worst delay of a 1 ms timer), which is how
 * long a request arriving during a save could wait.
 */
async function timeSaves(store: LocalVectorStore, change: () => Promise<unknown>, runs = 3): Promise<string> {
  const totals: string[] = [];
  const stalls: string[] = [];
  for (let run = 0; run < runs; run++) {
    await change();
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    // It counts from its first tick, so it must tick once before the save begins.
    await sleep(20);
    const started = performance.now();
    await store.flush();
    totals.push((performance.now() - started).toFixed(0));
    delay.disable();
    stalls.push((delay.max / 1e6).toFixed(1));
  }
  return `save (local, ${runs} runs): ${totals.join("/")} ms total, longest synchronous stretch ${stalls.join("/")} ms`;
}

await main();

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { readCorpus as readBeirCorpus } from "../src/chains/eval/dataset.ts";
import { IngestPipeline, type TextDocument } from "../src/ingest/pipeline.ts";
import { loadRecipe } from "../src/ingest/recipe.ts";
import { createBedrockEmbeddings } from "../src/models/embeddings/bedrock.ts";
import { pipelineConcurrency } from "../src/services/tenant.ts";
import { FileRecordManager } from "../src/store/file-record-manager.ts";
import { LocalVectorStore } from "../src/store/local/local-vector-store.ts";
import { BedrockRuntimeEmulator } from "../test/emulators/bedrock-runtime.ts";

const { values } = parseArgs({
  options: {
    dataset: { type: "string" },
    docs: { type: "string", default: "200" },
    latency: { type: "string", default: "50" },
    model: { type: "string", default: "amazon.titan-embed-text-v2:0" },
    concurrency: { type: "string", default: "1,4,8,16,32" },
  },
});
if (!values.dataset) {
  console.error("usage: npm run bench:embed -- --dataset <BEIR folder with corpus.jsonl> [--docs 200]");
  process.exit(2);
}

async function readCorpus(file: string, limit: number): Promise<TextDocument[]> {
  const docs: TextDocument[] = [];
  for await (const { id, title, text } of readBeirCorpus(file)) {
    docs.push({ text: title ? `${title}\n\n${text}` : text, metadata: { doc_id: id } });
    if (docs.length >= limit) break;
  }
  return docs;
}

async function run(docs: TextDocument[], emulator: BedrockRuntimeEmulator, concurrency: number) {
  const dir = await mkdtemp(path.join(tmpdir(), "counsel-bench-embed-"));
  try {
    const embeddings = await createBedrockEmbeddings({
      model: values.model as string,
      dimensions: 1024,
      maxConcurrency: concurrency,
    });
    const pipeline = new IngestPipeline({
      vectorStore: await LocalVectorStore.load(embeddings, { path: path.join(dir, "vectors.bin") }),
      recordManager: new FileRecordManager({ namespace: "bench", path: path.join(dir, "records.json") }),
      recipe: await loadRecipe(path.resolve("loaders"), "default"),
      concurrency: pipelineConcurrency(concurrency),
    });
    emulator.maxInFlight = 0;
    const calls = emulator.requests.length;
    const started = performance.now();
    const report = await pipeline.ingestTexts(docs);
    await pipeline.flush();
    const seconds = (performance.now() - started) / 1000;
    if (report.failed.length > 0) throw new Error(`ingest failed: ${JSON.stringify(report.failed[0])}`);
    return {
      concurrency,
      chunks: report.chunks.added,
      calls: emulator.requests.length - calls,
      seconds,
      chunksPerSecond: report.chunks.added / seconds,
      maxInFlight: emulator.maxInFlight,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main() {
  const latency = Number(values.latency);
  const docs = await readCorpus(path.join(values.dataset as string, "corpus.jsonl"), Number(values.docs));
  const emulator = new BedrockRuntimeEmulator({ invokeDelayMs: latency });
  const url = await emulator.start();
  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "bench",
    AWS_SECRET_ACCESS_KEY: "bench",
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: url,
  });
  try {
    console.log(`${docs.length} documents, ${values.model}, ${latency} ms per InvokeModel call (emulator)\n`);
    console.log(
      "| calls in flight (EMBEDDINGS_CONCURRENCY) | chunks | calls | seconds | chunks/s | most in flight | speed-up |",
    );
    console.log("|--:|--:|--:|--:|--:|--:|--:|");
    let baseline: number | undefined;
    for (const concurrency of (values.concurrency as string).split(",").map(Number)) {
      const row = await run(docs, emulator, concurrency);
      baseline ??= row.chunksPerSecond;
      console.log(
        `| ${row.concurrency} | ${row.chunks} | ${row.calls} | ${row.seconds.toFixed(2)} | ` +
          `${row.chunksPerSecond.toFixed(1)} | ${row.maxInFlight} | ${(row.chunksPerSecond / baseline).toFixed(1)}x |`,
      );
    }
  } finally {
    await emulator.stop();
  }
}

await main();

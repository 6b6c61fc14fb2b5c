// GET /documents and GET /documents/:source over HTTP at a realistic size (SciFact abstracts through the real
// pipeline, ~11k chunks), on the embedded store and on Redis; beside them, what a listing would cost if it were
// derived instead of read from the per-document records (from the record manager's keys, or from every chunk),
// and how long opening a store from before the catalog takes (its documents described from their chunks).
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { jsonLines } from "../src/chains/eval/dataset.ts";
import { loadSettings } from "../src/config/settings.ts";
import { compareSources } from "../src/contracts/documents.ts";
import type { TextDocument } from "../src/ingest/pipeline.ts";
import { appOptions, buildApp } from "../src/server/app.ts";
import { createServices, type Services } from "../src/services/services.ts";
import { openBenchRedis } from "./redis.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const quiet = { info: () => undefined, warn: () => undefined };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** p50 and p99 of `runs` calls after a few to warm up, in ms. */
async function time(runs: number, call: (i: number) => Promise<unknown>) {
  for (let i = 0; i < 5; i++) await call(i);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await call(i);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function main() {
  const { values } = parseArgs({
    options: {
      dataset: { type: "string" },
      chunks: { type: "string", default: "11000" },
      stores: { type: "string", default: "local,redis" },
      "redis-url": { type: "string" },
      runs: { type: "string", default: "200" },
    },
  });
  if (!values.dataset) {
    console.error(
      "usage: npx tsx bench/documents.ts --dataset <BEIR folder> [--chunks 11000] [--stores local,redis] " +
        "[--runs 200] [--redis-url redis://…]",
    );
    process.exitCode = 2;
    return;
  }
  const rows: string[][] = [];
  for (const store of values.stores.split(",")) {
    rows.push(
      ...(await measure(
        store,
        path.resolve(values.dataset),
        Number(values.chunks),
        Number(values.runs),
        values["redis-url"],
      )),
    );
  }
  console.log("| store | what | p50 ms | p99 ms |");
  console.log("|---|---|--:|--:|");
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
}

async function measure(store: string, dataset: string, target: number, runs: number, redisUrl?: string) {
  const dir = await mkdtemp(path.join(tmpdir(), "bench-documents-"));
  const prefix = `bench-docs-${Date.now()}`;
  const redis = store === "redis" ? await openBenchRedis(redisUrl, prefix) : undefined;
  const env: Record<string, string> = {
    DATA_DIR: dir,
    LOAD_EXAMPLES: "false",
    CHAINS_DIR: path.join(ROOT, "chains"),
    PROMPTS_DIR: path.join(ROOT, "prompts"),
    LOADERS_DIR: path.join(ROOT, "loaders"),
    // One client asking as fast as it can: a benchmark, not abuse.
    RATE_LIMIT_PER_MINUTE: "0",
    ...(redis ? { REDIS_URL: redis.url, REDIS_PREFIX: prefix } : {}),
  };
  const settings = loadSettings(env);
  let services: Services = await createServices(settings, quiet);
  let tenant = await services.tenant("default");

  // SciFact abstracts through the real pipeline, 256 at a time, until the store holds `target` chunks.
  let batch: TextDocument[] = [];
  let chunks = 0;
  let documents = 0;
  const started = performance.now();
  for await (const doc of jsonLines<{ _id: string; title?: string; text?: string }>(
    path.join(dataset, "corpus.jsonl"),
  )) {
    batch.push({
      text: [doc.title, doc.text].filter(Boolean).join("\n"),
      metadata: { doc_id: `scifact/${doc._id}` },
    });
    if (batch.length < 256) continue;
    chunks += (await tenant.pipeline.ingestTexts(batch)).chunks.added;
    documents += batch.length;
    batch = [];
    if (chunks >= target) break;
  }
  const ingestS = (performance.now() - started) / 1000;
  const label = `${store} (${chunks} chunks, ${documents} documents)`;
  console.error(`${label}: ingested in ${ingestS.toFixed(1)} s`);

  const app = await buildApp(services, appOptions(settings, services));
  await app.listen({ port: 0, host: "127.0.0.1" });
  const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const get = async (route: string) => {
    const res = await fetch(`${url}${route}`);
    if (res.status !== 200) throw new Error(`${route}: ${res.status}`);
    return res.json() as Promise<{ documents: { source: string }[]; nextCursor?: string }>;
  };
  const sources = (await tenant.documents.list({ limit: 500 })).documents.map((d) => d.source);
  const middle = (await get("/documents?limit=100&prefix=scifact%2F2")).nextCursor as string;

  const rows: string[][] = [];
  const row = (what: string, t: { p50: number; p99: number }) =>
    rows.push([label, what, t.p50.toFixed(2), t.p99.toFixed(2)]);
  row("GET /documents (first 100)", await time(runs, () => get("/documents")));
  row("GET /documents?limit=500", await time(runs, () => get("/documents?limit=500")));
  row(
    "GET /documents, a page in the middle (cursor)",
    await time(runs, () => get(`/documents?limit=100&cursor=${encodeURIComponent(middle)}`)),
  );
  row("GET /documents?prefix=scifact/4", await time(runs, () => get("/documents?prefix=scifact%2F4")));
  row(
    "GET /documents/:source (chunks with text)",
    await time(runs, (i) => get(`/documents/${encodeURIComponent(sources[i % sources.length])}`)),
  );

  // The alternatives, for the record: derived from the record manager's keys (exact counts, but neither info
  // nor when a document changed), or from every chunk's metadata (all of it, but reading every chunk).
  const copy = await services.stores.openTenant("default");
  const { recordManager, vectorStore } = copy;
  row(
    "derived from record-manager keys (first 100)",
    await time(Math.min(runs, 20), async () => {
      const ids = (await recordManager.listGroupIds()).sort(compareSources).slice(0, 100);
      return Promise.all(ids.map((id) => recordManager.listKeys({ groupIds: [id] })));
    }),
  );
  row(
    "derived from every chunk (first 100)",
    await time(Math.min(runs, 5), async () => {
      const keys = await recordManager.listKeys({});
      const all = await vectorStore.getByIds(keys);
      const counts = new Map<string, number>();
      for (const chunk of all)
        counts.set(String(chunk.metadata.doc_id), (counts.get(String(chunk.metadata.doc_id)) ?? 0) + 1);
      return [...counts.keys()].sort(compareSources).slice(0, 100);
    }),
  );

  await copy.close();

  // An upgrade: the same store without its document records, opened (and so backfilled) afresh.
  await app.close();
  const opened = performance.now();
  await services.close();
  services = await createServices(settings, quiet);
  tenant = await services.tenant("default");
  const reopenMs = performance.now() - opened;
  await services.close();
  await forgetDocumentRecords(dir, redis?.client, prefix);
  const upgraded = performance.now();
  services = await createServices(settings, quiet);
  tenant = await services.tenant("default");
  const upgradeMs = performance.now() - upgraded;
  const listed = (await tenant.documents.list({ limit: 500 })).documents.length;
  rows.push([
    label,
    `close and reopen: ${reopenMs.toFixed(0)} ms; from before the catalog (backfill): ${upgradeMs.toFixed(0)} ms, ${listed} listed`,
    "",
    "",
  ]);
  await services.close();
  await redis?.close();
  await rm(dir, { recursive: true, force: true });
  return rows;
}

/** Takes the store back to how an older Counsel left it: no document records. */
async function forgetDocumentRecords(
  dir: string,
  client: Awaited<ReturnType<typeof openBenchRedis>>["client"] | undefined,
  prefix: string,
) {
  if (client) {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}:*:records:doc*`, COUNT: 1000 }))
      if (keys.length > 0) await client.del(keys);
    return;
  }
  const root = path.join(dir, "local", "default", "default");
  const [model] = await readdir(root);
  const file = path.join(root, model, "records.json");
  const { documents: _, ...before } = JSON.parse(await readFile(file, "utf8"));
  await writeFile(file, JSON.stringify(before));
}

await main();

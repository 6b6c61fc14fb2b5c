// One candidate in its own process, so that its resident memory is its own: `ingest` builds the store from the
// synthetic corpus, `query` opens it as a restarted service would and answers the queries.
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { procStatus } from "../proc-memory.ts";
import { type CandidateName, type CandidateOptions, openCandidate } from "./candidates.ts";
import { type CorpusSpec, SyntheticCorpus } from "./synthetic.ts";

export interface ChildRequest {
  phase: "ingest" | "query";
  candidate: CandidateName;
  options: CandidateOptions;
  spec: CorpusSpec;
  queries: number;
  /** Exact top-10 ids per query, for recall (query phase). */
  truth?: string[][];
}

const BATCH = 1000;
const MiB = 2 ** 20;

/** Peak and current resident memory of this process, from the kernel: native allocations count too. */
async function memory(): Promise<{ peakMiB: number; rssMiB: number }> {
  const [peak, rss] = await Promise.all([procStatus("self", "VmHWM"), procStatus("self", "VmRSS")]);
  return { peakMiB: Math.round(peak / MiB), rssMiB: Math.round(rss / MiB) };
}

async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function ingest(request: ChildRequest) {
  const corpus = new SyntheticCorpus(request.spec);
  const store = await openCandidate(request.candidate, { ...request.options, create: true });
  let generating = 0;
  const started = performance.now();
  for (let from = 0; from < request.spec.chunks; from += BATCH) {
    const g = performance.now();
    const { chunks, vectors } = corpus.batch(from, Math.min(request.spec.chunks, from + BATCH));
    generating += performance.now() - g;
    await store.add(chunks, vectors);
  }
  const added = performance.now();
  await store.finish();
  const finished = performance.now();
  await store.close();
  const seconds = (finished - started - generating) / 1000;
  return {
    chunksPerSecond: Math.round(request.spec.chunks / seconds),
    addSeconds: (added - started - generating) / 1000,
    finishSeconds: (finished - added) / 1000,
    fileMiB: Math.round((await bytesUnder(request.options.dir)) / MiB),
    ...(await memory()),
  };
}

async function query(request: ChildRequest) {
  const corpus = new SyntheticCorpus(request.spec);
  const queries = Array.from({ length: request.queries }, (_, q) => corpus.query(q));
  const before = await memory();
  const opening = performance.now();
  const store = await openCandidate(request.candidate, { ...request.options, create: false });
  await store.hybridSearch(queries[0].vector, queries[0].text, 10);
  const startSeconds = (performance.now() - opening) / 1000;
  await store.ready?.();
  const readySeconds = (performance.now() - opening) / 1000;
  const vectorTimes: number[] = [];
  const hybridTimes: number[] = [];
  const lexicalTimes: number[] = [];
  let recall = 0;
  for (const [q, { vector, text }] of queries.entries()) {
    let t = performance.now();
    const got = await store.vectorSearch(vector, 10);
    vectorTimes.push(performance.now() - t);
    const truth = new Set(request.truth?.[q] ?? []);
    recall += got.filter((id) => truth.has(id)).length / 10;
    t = performance.now();
    await store.hybridSearch(vector, text, 10);
    hybridTimes.push(performance.now() - t);
    t = performance.now();
    await store.lexicalSearch(text, 100);
    lexicalTimes.push(performance.now() - t);
  }
  lexicalTimes.sort((a, b) => a - b);
  vectorTimes.sort((a, b) => a - b);
  hybridTimes.sort((a, b) => a - b);
  const after = await memory();
  await store.close();
  return {
    fileMiB: Math.round((await bytesUnder(request.options.dir)) / MiB),
    startSeconds,
    readySeconds,
    recallAt10: recall / queries.length,
    vectorP50: percentile(vectorTimes, 50),
    vectorP99: percentile(vectorTimes, 99),
    hybridP50: percentile(hybridTimes, 50),
    hybridP99: percentile(hybridTimes, 99),
    lexicalP50: percentile(lexicalTimes, 50),
    idleMiB: before.rssMiB,
    servingMiB: after.rssMiB,
    peakMiB: after.peakMiB,
  };
}

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ChildRequest;
const result = request.phase === "ingest" ? await ingest(request) : await query(request);
console.log(JSON.stringify(result));

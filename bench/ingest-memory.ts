// The memory ingestion adds to the service, as a new user meets it: `npm start`'s process (its node flags, the
// embedded defaults: local embeddings, the in-process store in a fresh DATA_DIR, no Redis, no AWS) with SciFact's
// abstracts posted to `POST /ingest` as JSON in batches, one request at a time. The service's resident set is read
// from /proc every 100 ms (and its kernel-kept peak, VmHWM, reset once idle), its V8 heap from /metrics after each
// batch. Prints idle, peak, peak − idle and final RSS beside the store's own data (vectors, and the texts and
// metadata as its file holds them), and documents/s. `--scale N` posts the corpus N times (distinct doc_ids, each
// copy's text marked) to see whether the overhead grows with the corpus; `--heap-snapshots DIR` has the service
// write heap snapshots (idle, mid-run, after) into DIR, for attributing the memory (the snapshots themselves add
// to the peak: measure without them). Last, the service is started again on the data the run left and searched:
// its RSS then ("reopened") is what the store costs at rest, and peak − reopened what the ingestion itself added.
//   npm run bench:ingest-memory -- [--dataset ../shared/data/retrieval-eval/scifact] [--batch 200] [--scale 1]
//     [--docs 5183] [--node-flags="--max-semi-space-size=64"] [--heap-snapshots DIR]
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { buildServer } from "../scripts/build-server.ts";
import { corpusText, readCorpus } from "../src/chains/eval/dataset.ts";
import type { TextDocument } from "../src/ingest/pipeline.ts";
import { ChangeLog } from "../src/store/local/change-log.ts";
import { StorePersistence } from "../src/store/local/store-persistence.ts";
import { readVectorFile } from "../src/store/local/vector-file.ts";
import { freePort } from "../test/global-setup.ts";
import { procStatus } from "./proc-memory.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    dataset: { type: "string", default: "../shared/data/retrieval-eval/scifact" },
    batch: { type: "string", default: "200" },
    scale: { type: "string", default: "1" },
    docs: { type: "string" },
    // Added after npm start's own flags (a later V8 flag wins): to try a setting without editing package.json.
    "node-flags": { type: "string", default: "" },
    "heap-snapshots": { type: "string" },
  },
});

const MiB = 2 ** 20;
const mib = (bytes: number) => (bytes / MiB).toFixed(0);

/** The node flags of `npm start` (the last command of its script, without its entry point). */
async function startFlags(): Promise<string[]> {
  const pkg = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8"));
  const command = (pkg.scripts.start as string).split("&&").at(-1)?.trim().split(/\s+/) ?? [];
  if (command[0] !== "node" || command.at(-1) !== ENTRY)
    throw new Error(`npm start is no longer "node … ${ENTRY}": ${pkg.scripts.start}`);
  return command.slice(1, -1);
}

/** What `npm start` runs: the service compiled to dist/ (scripts/build-server.ts builds it first). */
const ENTRY = "dist/main.js";

/** The corpus `scale` times over: copy k > 0 has doc_ids `…#k` and a marked title, so nothing is skipped. */
async function corpus(dataset: string, scale: number, limit: number): Promise<TextDocument[]> {
  const base: { id: string; text: string }[] = [];
  for await (const doc of readCorpus(path.join(dataset, "corpus.jsonl"))) {
    if (base.length >= limit) break;
    const text = corpusText(doc);
    if (text.trim()) base.push({ id: doc.id, text });
  }
  const documents: TextDocument[] = [];
  for (let copy = 0; copy < scale; copy++) {
    for (const { id, text } of base) {
      const docId = copy === 0 ? `scifact/${id}` : `scifact/${id}#${copy}`;
      documents.push({
        text: copy === 0 ? text : `(copy ${copy}) ${text}`,
        metadata: { doc_id: docId, name: docId },
      });
    }
  }
  return documents;
}

/** Resets VmHWM to the current RSS (Linux 4.0+), so that the peak read later is the ingestion's. */
async function resetPeak(pid: number): Promise<boolean> {
  return writeFile(`/proc/${pid}/clear_refs`, "5").then(
    () => true,
    () => false,
  );
}

/** The V8 heap as /metrics reports it (prom-client's process metrics: process.memoryUsage and heap spaces). */
interface HeapFigures {
  heapTotal: number;
  heapUsed: number;
  external: number;
  newSpace: number;
  oldSpace: number;
  largeObjects: number;
}

async function heapFigures(url: string): Promise<HeapFigures> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const metric = (name: string) => {
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    return line ? Number(line.slice(name.length + 1)) : Number.NaN;
  };
  const space = (name: string) => metric(`counsel_nodejs_heap_space_size_total_bytes{space="${name}"}`);
  return {
    heapTotal: metric("counsel_nodejs_heap_size_total_bytes"),
    heapUsed: metric("counsel_nodejs_heap_size_used_bytes"),
    external: metric("counsel_nodejs_external_memory_bytes"),
    newSpace: space("new"),
    oldSpace: space("old"),
    largeObjects: space("large_object"),
  };
}

/**
 * What the store itself holds, from its files (the base and its change log, read as a reload would): the vectors
 * as it keeps them in memory (count × dimensions int8 values, and a float32 step each) and every chunk's id, text
 * and metadata as JSON (in memory the same strings, plus object overhead); and the records file.
 */
async function storeData(dataDir: string, chunks: number) {
  const dir = path.join(dataDir, "local", "default", "default");
  const [model] = await readdir(dir);
  const vectorsFile = path.join(dir, model, "vectors.bin");
  const base = await readVectorFile(vectorsFile, { dimensions: 0, modelId: null });
  const json = new Map<string, number>();
  const jsonBytes = (id: string, text: string, metadata: unknown) =>
    Buffer.byteLength(JSON.stringify([id, text, metadata]));
  for (const [i, id] of (base?.ids ?? []).entries()) {
    json.set(id, jsonBytes(id, base?.texts[i] ?? "", base?.metadata[i]));
  }
  // A copy, so that opening it (which cuts off a torn record) never writes to the service's files.
  const logCopy = path.join(dataDir, "log-copy");
  await copyFile(StorePersistence.logFile(vectorsFile), logCopy).catch(() => undefined);
  let dimensions = base?.dimensions ?? 0;
  await ChangeLog.open(logCopy, base?.baseId ?? null, (record) => {
    if (record.op === "delete") for (const id of record.ids) json.delete(id);
    else {
      dimensions = record.dimensions;
      for (const [i, id] of record.ids.entries()) {
        json.set(id, jsonBytes(id, record.texts[i], record.metadata[i]));
      }
    }
  });
  const header = [...json.values()].reduce((sum, n) => sum + n, 0);
  const records = (await stat(path.join(dir, model, "records.json"))).size;
  return { model, vectors: chunks * (dimensions + 4), header, records, dimensions };
}

/** Has the service write a heap snapshot into `dir` and waits until it is written. */
async function heapSnapshot(child: ChildProcess, url: string, dir: string, label: string): Promise<string> {
  const before = new Set(await readdir(dir));
  child.kill("SIGUSR2");
  let written: string | undefined;
  while (!written) {
    if (child.exitCode !== null)
      throw new Error(`the service exited (${child.exitCode}) before its snapshot`);
    await sleep(200);
    written = (await readdir(dir)).find((f) => f.endsWith(".heapsnapshot") && !before.has(f));
  }
  // The service writes it on its main thread: once it answers again, the file is complete.
  await fetch(`${url}/healthz`);
  let size = -1;
  while (size !== (await stat(path.join(dir, written))).size) {
    size = (await stat(path.join(dir, written))).size;
    await sleep(500);
  }
  const named = `${label}.heapsnapshot`;
  await rename(path.join(dir, written), path.join(dir, named));
  return named;
}

async function waitForReady(url: string, output: () => string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the service did not get ready\n${output()}`);
    await sleep(200);
  }
}

async function chunkCount(url: string): Promise<number> {
  const ready = (await (await fetch(`${url}/readyz`)).json()) as { checks: { store: { chunks: number } } };
  return ready.checks.store.chunks;
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  await Promise.race([once(child, "exit"), sleep(60_000)]);
  if (child.exitCode === null) child.kill("SIGKILL");
}

/** `npm start`'s service on `dataDir`, started with `flags`. */
async function startService(flags: string[], dataDir: string) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [...flags, ENTRY], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: "warn",
      LOAD_EXAMPLES: "false",
      RATE_LIMIT_PER_MINUTE: "0", // one client sends everything
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  return { child, url, pid: child.pid as number, output: () => output };
}

/**
 * The RSS of the store at rest: the service started again on the data the run left, its store opened and
 * searched (every part it keeps in memory loaded), after a few seconds for the garbage of opening it.
 */
async function reopenedRss(flags: string[], dataDir: string): Promise<number> {
  const service = await startService(flags, dataDir);
  try {
    await waitForReady(service.url, service.output);
    for (const question of ["vitamin D deficiency", "gene expression in cancer cells", "malaria vaccine"]) {
      const res = await fetch(`${service.url}/chain/qa`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ question }),
      });
      if (res.status !== 200) throw new Error(`POST /chain/qa: ${res.status} ${await res.text()}`);
    }
    await sleep(3000);
    return await procStatus(service.pid, "VmRSS");
  } finally {
    await stop(service.child);
  }
}

async function main() {
  const scale = Number(values.scale);
  const batch = Number(values.batch);
  const documents = await corpus(
    values.dataset as string,
    scale,
    values.docs ? Number(values.docs) : Number.POSITIVE_INFINITY,
  );
  const snapshots = values["heap-snapshots"] ? path.resolve(values["heap-snapshots"]) : undefined;
  if (snapshots) await mkdir(snapshots, { recursive: true });
  const flags = [
    ...(await startFlags()),
    ...(values["node-flags"] as string).split(/\s+/).filter(Boolean),
    ...(snapshots ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${snapshots}`] : []),
  ];

  const dataDir = await mkdtemp(path.join(tmpdir(), "counsel-bench-ingest-memory-"));
  await buildServer();
  const service = await startService(flags, dataDir);
  const { child, url, pid } = service;
  try {
    await waitForReady(url, service.output);
    // Idle: started, listening, nothing ingested; a few seconds for start-up's garbage to settle.
    await sleep(3000);
    const idleRss = await procStatus(pid, "VmRSS");
    const startPeak = await procStatus(pid, "VmHWM");
    const idleHeap = await heapFigures(url);
    const taken: string[] = [];
    if (snapshots) taken.push(await heapSnapshot(child, url, snapshots, "1-idle"));
    const peakReset = await resetPeak(pid);

    let sampledPeak = await procStatus(pid, "VmRSS");
    const sampler = setInterval(() => {
      procStatus(pid, "VmRSS").then(
        (rss) => {
          sampledPeak = Math.max(sampledPeak, rss);
        },
        () => undefined,
      );
    }, 100);
    /** The heap when the RSS after a batch was highest. */
    let atPeak = { rss: 0, heap: idleHeap };
    const started = performance.now();
    const middle = Math.floor(documents.length / batch / 2) * batch;
    try {
      for (let i = 0; i < documents.length; i += batch) {
        const res = await fetch(`${url}/ingest`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ documents: documents.slice(i, i + batch) }),
        });
        if (res.status !== 200) throw new Error(`POST /ingest: ${res.status} ${await res.text()}`);
        const report = (await res.json()) as { added: number; failed: unknown[] };
        if (report.failed.length > 0)
          throw new Error(`POST /ingest failed: ${JSON.stringify(report.failed)}`);
        const rss = await procStatus(pid, "VmRSS");
        if (rss > atPeak.rss) atPeak = { rss, heap: await heapFigures(url) };
        if (snapshots && i === middle) taken.push(await heapSnapshot(child, url, snapshots, "2-middle"));
      }
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - started) / 1000;
    const endPeak = await procStatus(pid, "VmHWM");
    const peak = peakReset ? Math.max(endPeak, sampledPeak) : sampledPeak;
    // After the last answer the store and the records are saved; a moment for the last garbage.
    await sleep(3000);
    const finalRss = await procStatus(pid, "VmRSS");
    const finalHeap = await heapFigures(url);
    if (snapshots) taken.push(await heapSnapshot(child, url, snapshots, "3-after"));
    const chunks = await chunkCount(url);
    const store = await storeData(dataDir, chunks);
    await stop(child);
    const reopened = await reopenedRss(flags, dataDir);

    const own = store.vectors + store.header;
    console.log(
      `${documents.length} documents (SciFact × ${scale}) in batches of ${batch}, ${chunks} chunks, ` +
        `${(documents.length / seconds).toFixed(0)} documents/s (${seconds.toFixed(1)} s); ` +
        `node ${flags.join(" ")} ${ENTRY}\n`,
    );
    console.log(
      "| RSS (MiB) | idle | peak | peak − idle | final | final − idle | store's own data | reopened − idle | " +
        "peak − reopened |",
    );
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    console.log(
      `| service | ${mib(idleRss)} | ${mib(peak)} | ${mib(peak - idleRss)} | ${mib(finalRss)} | ` +
        `${mib(finalRss - idleRss)} | ${mib(own)} | ${mib(reopened - idleRss)} | ${mib(peak - reopened)} |`,
    );
    console.log(
      `reopened: the service started again on the same data, its store opened and searched: ${mib(reopened)} MiB`,
    );
    console.log(
      `\nstore's own data: ${mib(store.vectors)} MiB of vectors (${chunks} × ${store.dimensions} int8, ` +
        `${store.model}) + ${mib(store.header)} MiB of ids, texts and metadata as JSON; records.json ` +
        `${mib(store.records)} MiB`,
    );
    console.log(
      `peak: ${peakReset ? "VmHWM since idle" : "sampled every 100 ms (VmHWM could not be reset)"}; ` +
        `VmHWM of start-up ${mib(startPeak)} MiB, max of 100 ms samples ${mib(sampledPeak)} MiB`,
    );
    console.log("\n| V8 (MiB) | heap total | heap used | new space | old space | large objects | external |");
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    const heapRow = (label: string, h: HeapFigures) =>
      console.log(
        `| ${label} | ${mib(h.heapTotal)} | ${mib(h.heapUsed)} | ${mib(h.newSpace)} | ${mib(h.oldSpace)} | ` +
          `${mib(h.largeObjects)} | ${mib(h.external)} |`,
      );
    heapRow("idle", idleHeap);
    heapRow(`after the batch of highest RSS (${mib(atPeak.rss)} MiB)`, atPeak.heap);
    heapRow("final", finalHeap);
    if (snapshots) {
      console.log(`\nheap snapshots in ${snapshots}: ${taken.join(", ")} (they add to the peak above)`);
    }
  } finally {
    await stop(child);
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();

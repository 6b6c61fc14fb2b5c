// Ingestion through the job API, as a deployment runs it: a service process, SciFact's abstracts posted to
// `POST /ingest?async=true` in batches, Bedrock embeddings answered by the emulator after a fixed delay per call
// (as a remote model adds), and the jobs run by the service's own worker (embedded: in-process queue and store)
// or by 1, 2 and 4 `counsel worker` processes on Redis (BullMQ). Prints documents/s, p50/p99 from submit to
// indexed (per job: its documents are indexed when it completes), each process's peak RSS (VmHWM), and where
// the CPU went (seconds of CPU of the service, the workers, Redis and the emulator, against the cores there are),
// beside the ceiling the embedding calls alone would set (calls in flight per process / delay per call).
//   npm run bench:ingest -- [--dataset ../shared/data/retrieval-eval/scifact] [--docs 5183] [--batch 200]
//     [--workers 1,2,4] [--embed-delay-ms 50] [--stores embedded,redis] [--redis-url redis://…]
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { jsonLines } from "../src/chains/eval/dataset.ts";
import type { JobView } from "../src/jobs/queue.ts";
import { BedrockRuntimeEmulator } from "../test/emulators/bedrock-runtime.ts";
import { freePort } from "../test/global-setup.ts";
import { openBenchRedis } from "./redis.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
/** REDIS_PREFIX of every run; each run starts with none of its keys (the Redis may be shared). */
const PREFIX = "benchingest";
const { values } = parseArgs({
  options: {
    dataset: { type: "string", default: "../shared/data/retrieval-eval/scifact" },
    docs: { type: "string" },
    batch: { type: "string", default: "200" },
    workers: { type: "string", default: "1,2,4" },
    "embed-delay-ms": { type: "string", default: "50" },
    stores: { type: "string", default: "embedded,redis" },
    "redis-url": { type: "string" },
  },
});

interface CorpusDocument {
  _id: string;
  title?: string;
  text: string;
}

interface Row {
  setup: string;
  documents: number;
  seconds: number;
  p50: number;
  p99: number;
  rss: string;
  embedCalls: number;
  /** CPU seconds by process kind over the run. */
  cpu: Record<string, number>;
  /** Documents/s that embedding calls alone would allow: every process's calls in flight, each `delay` long. */
  embedCeiling: number;
}

/** EMBEDDINGS_CONCURRENCY of every process (the service's default). */
const EMBED_CONCURRENCY = 16;

async function main() {
  const documents: { text: string; metadata: { doc_id: string } }[] = [];
  const limit = values.docs ? Number(values.docs) : Number.POSITIVE_INFINITY;
  for await (const doc of jsonLines<CorpusDocument>(path.join(values.dataset as string, "corpus.jsonl"))) {
    if (documents.length >= limit) break;
    const text = [doc.title, doc.text].filter(Boolean).join("\n\n");
    if (text.trim()) documents.push({ text, metadata: { doc_id: `scifact:${doc._id}` } });
  }
  const batch = Number(values.batch);
  const emulator = new BedrockRuntimeEmulator({ invokeDelayMs: Number(values["embed-delay-ms"]) });
  const endpoint = await emulator.start();
  const stores = (values.stores as string).split(",");
  const rows: Row[] = [];
  try {
    if (stores.includes("embedded"))
      rows.push(await run("embedded, the service's worker", 0, documents, batch, endpoint, emulator));
    if (stores.includes("redis")) {
      const redis = await openBenchRedis(values["redis-url"], PREFIX);
      try {
        for (const n of (values.workers as string).split(",").map(Number)) {
          // Each run starts from an empty knowledge base and queue: nothing skipped as unchanged.
          for await (const key of redis.client.scanIterator({ MATCH: `${PREFIX}:*`, COUNT: 1000 }))
            await redis.client.del(key);
          rows.push(
            await run(`Redis, ${n} worker process(es)`, n, documents, batch, endpoint, emulator, redis.url),
          );
        }
      } finally {
        await redis.close();
      }
    }
  } finally {
    await emulator.stop();
  }
  console.log(
    `\n${documents.length} documents in batches of ${batch}, embedding calls answered after ${values["embed-delay-ms"]} ms\n`,
  );
  console.log(
    "| setup | documents/s | submit → indexed p50 s | p99 s | embedding calls | embedding ceiling docs/s | peak RSS (MiB) |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
  for (const r of rows) {
    console.log(
      `| ${r.setup} | ${(r.documents / r.seconds).toFixed(1)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.embedCalls} | ${r.embedCeiling.toFixed(0)} | ${r.rss} |`,
    );
  }
  const cores = availableParallelism();
  console.log(`\nCPU seconds over each run (${cores} cores):\n`);
  console.log("| setup | service | workers | Redis | emulator and bench | busy, of all cores |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const r of rows) {
    const total = Object.values(r.cpu).reduce((a, b) => a + b, 0);
    const cell = (k: string) => (k in r.cpu ? r.cpu[k].toFixed(1) : "-");
    console.log(
      `| ${r.setup} | ${cell("service")} | ${cell("workers")} | ${cell("redis")} | ${cell("bench")} | ${((total / (r.seconds * cores)) * 100).toFixed(0)}% |`,
    );
  }
}

/** One setup: a fresh service (and `workers` worker processes on Redis), every batch submitted, all jobs ended. */
async function run(
  setup: string,
  workers: number,
  documents: { text: string }[],
  batch: number,
  endpoint: string,
  emulator: BedrockRuntimeEmulator,
  redisUrl?: string,
): Promise<Row> {
  const data = await mkdtemp(path.join(tmpdir(), "counsel-bench-ingest-"));
  const env: Record<string, string> = {
    ...process.env,
    LOG_LEVEL: "warn",
    LOAD_EXAMPLES: "false",
    DATA_DIR: data,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: endpoint,
    EMBEDDINGS_PROVIDER: "bedrock",
    EMBEDDINGS_DIMENSIONS: "256",
    RATE_LIMIT_PER_MINUTE: "0",
    ...(redisUrl
      ? { REDIS_URL: redisUrl, REDIS_PREFIX: PREFIX, INGEST_WORKERS: "0" }
      : { INGEST_WORKERS: "1" }),
  };
  const calls = emulator.requests.length;
  const port = await freePort();
  const service = spawnNode(["src/main.ts"], { ...env, PORT: String(port) });
  const workerProcesses = Array.from({ length: workers }, () => spawnNode(["src/cli.ts", "worker"], env));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => (await fetch(`${url}/healthz`)).ok,
      "the service to start",
      60_000,
      service.output,
    );
    // Workers are ready once they say so on stderr.
    await Promise.all(
      workerProcesses.map((w) =>
        waitFor(async () => w.output().includes("taking ingestion jobs"), "a worker"),
      ),
    );
    const redisPid = redisUrl ? await redisProcessId(redisUrl) : undefined;
    const pids = () => ({
      service: [service.child.pid],
      workers: workerProcesses.map((w) => w.child.pid),
      ...(redisPid ? { redis: [redisPid] } : {}),
    });
    const cpuBefore = await cpuSeconds(pids());
    const benchBefore = process.cpuUsage();
    const started = performance.now();
    const submitted: { id: string; at: number }[] = [];
    for (let i = 0; i < documents.length; i += batch) {
      const res = await fetch(`${url}/ingest?async=true`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ documents: documents.slice(i, i + batch) }),
      });
      if (res.status !== 202) throw new Error(`POST /ingest: ${res.status} ${await res.text()}`);
      submitted.push({ id: ((await res.json()) as JobView).id, at: performance.now() });
    }
    const latencies: number[] = [];
    const pending = new Map(submitted.map((s) => [s.id, s.at]));
    while (pending.size > 0) {
      for (const [id, at] of pending) {
        const view = (await (await fetch(`${url}/ingest/jobs/${id}`)).json()) as JobView;
        if (view.state === "running" || view.state === "queued") continue;
        if (view.state !== "completed")
          throw new Error(`job ${id} ${view.state}: ${JSON.stringify(view.error)}`);
        latencies.push((performance.now() - at) / 1000);
        pending.delete(id);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = await cpuSeconds(pids());
    const benchUsed = process.cpuUsage(benchBefore);
    const cpu: Record<string, number> = { bench: (benchUsed.user + benchUsed.system) / 1e6 };
    for (const [kind, after] of Object.entries(cpuAfter)) cpu[kind] = after - (cpuBefore[kind] ?? 0);
    if (workers === 0) delete cpu.workers;
    const embedCalls = emulator.requests.length - calls;
    const delaySeconds = Number(values["embed-delay-ms"]) / 1000;
    const callsPerSecond = (Math.max(workers, 1) * EMBED_CONCURRENCY) / delaySeconds;
    latencies.sort((a, b) => a - b);
    const rss = [
      `service ${await peakRss(service.child)}`,
      ...(await Promise.all(
        workerProcesses.map(async (w, i) => `worker ${i + 1} ${await peakRss(w.child)}`),
      )),
    ].join(", ");
    return {
      setup,
      documents: documents.length,
      seconds,
      p50: quantile(latencies, 0.5),
      p99: quantile(latencies, 0.99),
      rss,
      embedCalls,
      cpu,
      embedCeiling: callsPerSecond * (documents.length / Math.max(embedCalls, 1)),
    };
  } finally {
    await Promise.all([service, ...workerProcesses].map((p) => stop(p.child)));
    await rm(data, { recursive: true, force: true });
  }
}

function spawnNode(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  return { child, output: () => output };
}

async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
  output?: () => string,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output?.() ?? ""}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** CPU seconds (user and system) of each kind's processes, from /proc/<pid>/stat (ticks of 1/100 s). */
async function cpuSeconds(kinds: Record<string, (number | undefined)[]>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [kind, pids] of Object.entries(kinds)) {
    out[kind] = 0;
    for (const pid of pids) {
      const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
      // Fields after the command (which may hold spaces), from its closing parenthesis: utime is the 12th.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out[kind] += (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
    }
  }
  return out;
}

/** The Redis server's pid (INFO server), for its CPU time: it runs on this machine in a benchmark. */
async function redisProcessId(url: string): Promise<number | undefined> {
  const { createRedisClient } = await import("../src/store/redis-client.ts");
  const client = createRedisClient({ url });
  await client.connect();
  try {
    const info = await client.info("server");
    return Number(/process_id:(\d+)/.exec(info)?.[1]) || undefined;
  } finally {
    await client.quit();
  }
}

/** The process's peak resident set (VmHWM), in MiB. */
async function peakRss(child: ChildProcess): Promise<string> {
  const status = await readFile(`/proc/${child.pid}/status`, "utf8").catch(() => "");
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return Number.isFinite(kb) ? String(Math.round(kb / 1024)) : "?";
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  await Promise.race([once(child, "exit"), new Promise((resolve) => setTimeout(resolve, 15_000))]);
  if (child.exitCode === null) child.kill("SIGKILL");
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

await main();

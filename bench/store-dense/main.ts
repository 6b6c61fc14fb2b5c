// `npm run bench:store -- --dense`: Counsel's embedded store beside an ANN index (usearch, int8 HNSW) and an
// embedded vector database (LanceDB), on synthetic dense 1024-dimension vectors at up to a million chunks. Each
// candidate ingests in one process and answers in another (a restart), so start-up and resident memory are its own.
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { CANDIDATES, type CandidateName } from "./candidates.ts";
import type { ChildRequest } from "./child.ts";
import { type CorpusSpec, DEFAULT_SPEC } from "./synthetic.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");

/** LanceDB lives in bench/store-dense/node_modules, installed on first use (see package.json there). */
function installLanceDb(): void {
  if (existsSync(path.join(here, "node_modules", "@lancedb", "lancedb"))) return;
  console.error("installing LanceDB into bench/store-dense/node_modules…");
  execFileSync("npm", ["install", "--prefix", here, "--no-audit", "--no-fund", "--loglevel=error"], {
    stdio: "inherit",
  });
}

function runChild(request: ChildRequest): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(here, "child.ts")], {
      cwd: root,
      stdio: ["pipe", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      const last = out.trim().split("\n").at(-1) ?? "";
      if (code === 0 && last.startsWith("{")) resolve(JSON.parse(last));
      else reject(new Error(`${request.candidate} ${request.phase} exited with ${code}: ${out.slice(-500)}`));
    });
    child.stdin.end(JSON.stringify(request));
  });
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits });

export async function runDense(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      dense: { type: "boolean" },
      chunks: { type: "string", default: "100000" },
      queries: { type: "string", default: "200" },
      candidates: { type: "string", default: CANDIDATES.filter((c) => c !== "counsel-sealed").join(",") },
      "lance-index": { type: "string", default: "ivf-pq" },
      nprobes: { type: "string" },
      ef: { type: "string" },
      // The local store's exact scan takes about a second a query at a million chunks: fewer queries for it.
      "local-queries": { type: "string", default: "40" },
      "cache-dir": { type: "string", default: path.join(root, ".cache", "bench-store-dense") },
    },
  });
  const candidates = values.candidates.split(",") as CandidateName[];
  if (candidates.includes("lancedb")) installLanceDb();
  const spec: CorpusSpec = { ...DEFAULT_SPEC, chunks: Number(values.chunks) };
  const queries = Number(values.queries);
  const { exactTopTen } = await import("./truth.ts");
  console.error(`exact top-10 for ${queries} queries over ${fmt(spec.chunks)} chunks…`);
  const truth = await exactTopTen(spec, queries, values["cache-dir"]);
  console.log(
    `${fmt(spec.chunks)} synthetic chunks, ${spec.dims} dimensions (unit vectors in ${spec.topics} topics × ` +
      `${spec.subtopics} subtopics, 40-word texts), ${queries} queries, k=10; each store ingests in one process ` +
      `and answers in a second one (a restart). LanceDB index: ${values["lance-index"]}, nprobes ${values.nprobes ?? 20}; usearch ef ${values.ef ?? "128 (counsel: 512 for signs, 256 for int8)"}.`,
  );
  console.log(
    "| store | ingest chunks/s | of which finish s | on disk MiB | ingest peak MiB | start-up s | serving RSS MiB | " +
      "vector p50/p99 ms | lexical p50 ms | hybrid p50/p99 ms | recall@10 |",
  );
  console.log("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
  for (const candidate of candidates) {
    const dir = await mkdtemp(path.join(tmpdir(), `counsel-dense-${candidate}-`));
    try {
      const options = {
        dir,
        dims: spec.dims,
        create: true,
        lanceIndex: values["lance-index"],
        nprobes: values.nprobes ? Number(values.nprobes) : undefined,
        ef: values.ef ? Number(values.ef) : undefined,
      };
      const ingest = await runChild({ phase: "ingest", candidate, options, spec, queries });
      const n = candidate === "local" ? Math.min(queries, Number(values["local-queries"])) : queries;
      // Counsel's store saves the graph it built at its first start beside its data: a second start reads it.
      const starts = candidate === "counsel" ? 2 : 1;
      for (let start = 1; start <= starts; start++) {
        const served = await runChild({ phase: "query", candidate, options, spec, queries: n, truth });
        const ingested =
          start === 1
            ? `${fmt(ingest.chunksPerSecond)} | ${fmt(ingest.finishSeconds, 1)} | ${fmt(ingest.fileMiB)} | ${fmt(ingest.peakMiB)}`
            : `(second start) | | ${fmt(served.fileMiB)} |`;
        console.log(
          `| ${candidate} | ${ingested} | ${fmt(served.startSeconds, 2)}${
            served.readySeconds - served.startSeconds > 0.5 ? ` (index ${fmt(served.readySeconds, 0)})` : ""
          } | ${fmt(served.servingMiB)} | ` +
            `${fmt(served.vectorP50, 2)} / ${fmt(served.vectorP99, 2)} | ${fmt(served.lexicalP50, 2)} | ` +
            `${fmt(served.hybridP50, 2)} / ` +
            `${fmt(served.hybridP99, 2)} | ${fmt(served.recallAt10, 3)} |`,
        );
      }
    } catch (error) {
      console.log(`| ${candidate} | failed: ${(error as Error).message.split("\n")[0]} |`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

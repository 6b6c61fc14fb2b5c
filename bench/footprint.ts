// The service's resident memory as a new user meets it (`npm start`'s command, the embedded defaults, a fresh
// DATA_DIR): idle without and with the example knowledge base (LOAD_EXAMPLES), then after SciFact's abstracts
// are posted to POST /ingest in batches of 200. Memory is the kernel's (VmRSS, VmHWM from /proc), once it has
// settled (two readings a second apart within 1%). For where the memory of an ingestion goes, heap by heap:
// `npm run bench:ingest-memory`.
//   npm run bench:footprint -- [--dataset ../shared/data/retrieval-eval/scifact] [--docs 5183]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { buildServer } from "../scripts/build-server.ts";
import { corpusText, readCorpus } from "../src/chains/eval/dataset.ts";
import { type CounselProcess, startCounsel, stopCounsel } from "../test/helpers/counsel-process.ts";
import { procStatus } from "./proc-memory.ts";

const MiB = 2 ** 20;
const BATCH = 200;

/** The RSS once two readings a second apart differ by under 1% (start-up work, the examples, GC done). */
async function settledRss(pid: number): Promise<number> {
  let last = await procStatus(pid, "VmRSS");
  for (let i = 0; i < 60; i++) {
    await sleep(1000);
    const now = await procStatus(pid, "VmRSS");
    if (Math.abs(now - last) < last * 0.01) return now;
    last = now;
  }
  return last;
}

/** Ready: /readyz answers 200 and the catalog has stopped growing (the examples are indexed at start). */
async function ready(service: CounselProcess): Promise<void> {
  let last = -1;
  for (let i = 0; i < 120; i++) {
    const ok = await fetch(`${service.url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    const total = ok
      ? await fetch(`${service.url}/documents?limit=500`)
          .then((r) => r.json() as Promise<{ documents?: unknown[] }>)
          .then(
            (body) => body.documents?.length ?? -1,
            () => -1,
          )
      : -1;
    if (ok && total === last) return;
    last = total;
    await sleep(1000);
  }
  throw new Error(`not ready: ${service.output().slice(-500)}`);
}

async function main() {
  const { values } = parseArgs({
    options: {
      dataset: { type: "string", default: "../shared/data/retrieval-eval/scifact" },
      docs: { type: "string", default: "5183" },
    },
  });
  const documents: { text: string; metadata: Record<string, string> }[] = [];
  for await (const doc of readCorpus(path.join(path.resolve(values.dataset), "corpus.jsonl"))) {
    if (documents.length >= Number(values.docs)) break;
    const text = corpusText(doc);
    if (text.trim()) documents.push({ text, metadata: { doc_id: `scifact/${doc.id}`, name: doc.id } });
  }
  // What `npm start` runs: the service compiled to dist/ (scripts/build-server.ts), not its sources through tsx.
  await buildServer();
  const compiled = path.join(import.meta.dirname, "../dist/main.js");
  const rows: string[] = [];
  for (const examples of [false, true]) {
    const dataDir = await mkdtemp(path.join(tmpdir(), "counsel-footprint-"));
    const env = { DATA_DIR: dataDir, LOAD_EXAMPLES: String(examples) };
    const service = await startCounsel(env, { compiled });
    try {
      const pid = service.child.pid as number;
      await ready(service);
      const idle = await settledRss(pid);
      let after = "";
      if (!examples) {
        for (let i = 0; i < documents.length; i += BATCH) {
          const res = await fetch(`${service.url}/ingest`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ documents: documents.slice(i, i + BATCH) }),
          });
          if (res.status !== 200) throw new Error(`POST /ingest: ${res.status} ${await res.text()}`);
        }
        const settled = await settledRss(pid);
        const peak = await procStatus(pid, "VmHWM");
        after = ` ${(settled / MiB).toFixed(0)} | ${(peak / MiB).toFixed(0)} |`;
      }
      rows.push(
        `| ${examples ? "with the examples (LOAD_EXAMPLES=true, the default)" : "no documents (LOAD_EXAMPLES=false)"} | ` +
          `${(idle / MiB).toFixed(0)} |${after || " | |"}`,
      );
    } finally {
      await stopCounsel(service);
      await rm(dataDir, { recursive: true, force: true });
    }
  }
  console.log(
    `npm start's service, embedded defaults; then ${documents.length} SciFact abstracts via POST /ingest`,
  );
  console.log("| service | idle RSS MiB | after the ingestion MiB | peak MiB |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const row of rows) console.log(row);
}

await main();

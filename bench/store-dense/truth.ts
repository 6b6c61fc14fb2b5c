// Exact top-10 by cosine for every query over the whole synthetic corpus, the reference for recall@10. Computed
// batch by batch (usearch's exact search, SIMD on every core) and cached: it depends on the corpus spec alone.
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { type CorpusSpec, SyntheticCorpus } from "./synthetic.ts";

const BATCH = 20_000;

export async function exactTopTen(spec: CorpusSpec, queries: number, cacheDir: string): Promise<string[][]> {
  const file = path.join(
    cacheDir,
    `truth-${spec.chunks}-${spec.dims}-${spec.seed}-${spec.topics}-${queries}.json`,
  );
  if (existsSync(file)) return JSON.parse(await readFile(file, "utf8"));
  const { exactSearch, MetricKind } = (await import("usearch-v2")).default;
  const corpus = new SyntheticCorpus(spec);
  const queryMatrix = new Float32Array(queries * spec.dims);
  for (let q = 0; q < queries; q++) queryMatrix.set(corpus.query(q).vector, q * spec.dims);
  const best: { id: number; distance: number }[][] = Array.from({ length: queries }, () => []);
  for (let from = 0; from < spec.chunks; from += BATCH) {
    const to = Math.min(spec.chunks, from + BATCH);
    const { vectors } = corpus.batch(from, to);
    const found = exactSearch(vectors, queryMatrix, spec.dims, 10, MetricKind.Cos, 0);
    if (!("counts" in found)) throw new Error("expected one result list per query");
    for (let q = 0; q < queries; q++) {
      const m = found.get(q);
      for (const [i, key] of m.keys.entries())
        best[q].push({ id: from + Number(key), distance: m.distances[i] });
      best[q] = best[q].sort((a, b) => a.distance - b.distance).slice(0, 10);
    }
    if (from % 200_000 === 0 && from > 0)
      console.error(`  exact search: ${from.toLocaleString("en")} chunks`);
  }
  const truth = best.map((list) => list.map((hit) => `c${hit.id}`));
  await mkdir(cacheDir, { recursive: true });
  await writeFile(file, JSON.stringify(truth));
  return truth;
}

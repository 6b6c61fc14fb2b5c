// Ranking metrics over one query, as BEIR and trec_eval compute them: `ranked` is the retrieved ids best first,
// `relevant` maps an id to its graded relevance (> 0 means relevant; absent means 0). Pure functions, shared by
// the retrieval benchmark and the evaluation runner.

export type Qrels = ReadonlyMap<string, number> | Readonly<Record<string, number>>;

function gain(relevant: Qrels, id: string): number {
  const value = relevant instanceof Map ? relevant.get(id) : (relevant as Record<string, number>)[id];
  return typeof value === "number" && value > 0 ? value : 0;
}

function gains(relevant: Qrels): number[] {
  const values = relevant instanceof Map ? [...relevant.values()] : Object.values(relevant);
  return values.filter((v) => v > 0);
}

/** Ids in rank order without repeats: a document retrieved through two chunks counts once, at its best rank. */
export function dedupe(ranked: readonly string[]): string[] {
  return [...new Set(ranked)];
}

/** Normalised discounted cumulative gain at k, with linear gain: sum rel_i / log2(i + 1) over ideal. */
export function ndcgAtK(ranked: readonly string[], relevant: Qrels, k: number): number {
  const ideal = gains(relevant)
    .sort((a, b) => b - a)
    .slice(0, k);
  if (ideal.length === 0) return 0;
  let idcg = 0;
  for (let i = 0; i < ideal.length; i++) idcg += ideal[i] / Math.log2(i + 2);
  let dcg = 0;
  const top = dedupe(ranked).slice(0, k);
  for (let i = 0; i < top.length; i++) dcg += gain(relevant, top[i]) / Math.log2(i + 2);
  return dcg / idcg;
}

/** Share of the relevant ids found in the top k. */
export function recallAtK(ranked: readonly string[], relevant: Qrels, k: number): number {
  const total = gains(relevant).length;
  if (total === 0) return 0;
  let found = 0;
  for (const id of dedupe(ranked).slice(0, k)) if (gain(relevant, id) > 0) found += 1;
  return found / total;
}

/** Reciprocal rank of the first relevant id within the top k, else 0. */
export function mrrAtK(ranked: readonly string[], relevant: Qrels, k: number): number {
  const top = dedupe(ranked).slice(0, k);
  for (let i = 0; i < top.length; i++) if (gain(relevant, top[i]) > 0) return 1 / (i + 1);
  return 0;
}

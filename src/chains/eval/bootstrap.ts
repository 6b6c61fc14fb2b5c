// The paired bootstrap (Efron and Tibshirani; as Sakai and others use it to compare retrieval systems): two
// variants scored on the same queries differ by the mean of their per-query differences; resampling the queries
// with replacement many times shows how much that mean moves with the choice of queries alone. A 95% interval
// that leaves out 0 says the difference is more than that noise. Seeded, so that a report is reproducible.

export interface PairedDifference {
  /** Mean of b − a over the queries. */
  difference: number;
  /** The 2.5th and 97.5th percentiles of the resampled means. */
  low: number;
  high: number;
  /** Share of resamples whose mean is on the other side of 0 from the difference (two-sided, ×2, at most 1). */
  p: number;
  /** The interval leaves out 0. */
  significant: boolean;
  queries: number;
}

export interface BootstrapOptions {
  /** Default 2,000. */
  resamples?: number;
  /** Default 1. */
  seed?: number;
}

/** The paired bootstrap of b − a; `a` and `b` hold one score per query, in the same order. */
export function pairedBootstrap(
  a: readonly number[],
  b: readonly number[],
  options: BootstrapOptions = {},
): PairedDifference {
  if (a.length !== b.length) throw new RangeError("paired scores need one of each per query");
  const n = a.length;
  const deltas = a.map((x, i) => b[i] - x);
  const difference = n ? deltas.reduce((s, d) => s + d, 0) / n : 0;
  const resamples = options.resamples ?? 2000;
  const random = mulberry32(options.seed ?? 1);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let total = 0;
    for (let i = 0; i < n; i++) total += deltas[Math.floor(random() * n)];
    means[r] = n ? total / n : 0;
  }
  means.sort();
  const low = means[Math.floor(0.025 * (resamples - 1))];
  const high = means[Math.ceil(0.975 * (resamples - 1))];
  let across = 0;
  for (const m of means) if (difference > 0 ? m <= 0 : difference < 0 ? m >= 0 : true) across++;
  return {
    difference,
    low,
    high,
    p: Math.min(1, (2 * across) / resamples),
    significant: low > 0 || high < 0,
    queries: n,
  };
}

/** A small seeded generator (Tommy Ettinger's Mulberry32): uniform in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

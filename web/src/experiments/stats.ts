// What GET /chains/:name/stats gives per variant, the figures the Experiments view shows from it (each read
// from one field as the service computed it: nothing is worked out again here), and which variant is best on each.

export interface VariantStats {
  variant: string;
  configHash: string;
  requests: number;
  feedback: { count: number; mean: number | null; up: number; down: number; positiveShare: number | null };
  latencyMs: { p50: number | null; p95: number | null };
  tokens: { input: number; output: number };
  estimatedCostUsd: number | null;
}

export interface ChainStats {
  chain: string;
  variants: VariantStats[];
}

/** One row of the table; `better` ranks variants on it, and only rows whose figure is comparable whatever the
 *  traffic have one: totals (requests, tokens, cost) grow with a variant's share of the requests. */
export interface Figure {
  id: string;
  label: string;
  value: (s: VariantStats) => number | null;
  format: (value: number) => string;
  /** What a missing value means, in words. */
  missing: string;
  better?: "higher" | "lower";
  /** Offered in the chart's metric picker. */
  chart?: boolean;
  /** The chart's value axis, when the figure has natural bounds (a share runs 0 to 100%). */
  domain?: [number, number];
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const count = (n: number) => integer.format(n);
const percent = (share: number) => `${Math.round(share * 100)}%`;
const ms = (value: number) => `${integer.format(value)} ms`;
// Sub-cent costs are the norm for a few answers: enough digits to tell two variants apart.
const usd = (value: number) => `$${value.toLocaleString("en-US", { maximumSignificantDigits: 3 })}`;
const score = (value: number) => value.toFixed(2);

export const FIGURES: Figure[] = [
  { id: "requests", label: "Requests", value: (s) => s.requests, format: count, missing: "none" },
  { id: "up", label: "Thumbs up", value: (s) => s.feedback.up, format: count, missing: "none" },
  { id: "down", label: "Thumbs down", value: (s) => s.feedback.down, format: count, missing: "none" },
  {
    id: "positiveShare",
    label: "Positive share",
    value: (s) => s.feedback.positiveShare,
    format: percent,
    missing: "no feedback yet",
    better: "higher",
    chart: true,
    domain: [0, 1],
  },
  {
    id: "meanScore",
    label: "Mean score (−1 to 1)",
    value: (s) => s.feedback.mean,
    format: score,
    missing: "no feedback yet",
    better: "higher",
  },
  {
    id: "p50",
    label: "Latency p50",
    value: (s) => s.latencyMs.p50,
    format: ms,
    missing: "no runs",
    better: "lower",
    chart: true,
  },
  {
    id: "p95",
    label: "Latency p95",
    value: (s) => s.latencyMs.p95,
    format: ms,
    missing: "no runs",
    better: "lower",
    chart: true,
  },
  {
    id: "tokensIn",
    label: "Tokens in",
    value: (s) => s.tokens.input,
    format: count,
    missing: "none",
    chart: true,
  },
  {
    id: "tokensOut",
    label: "Tokens out",
    value: (s) => s.tokens.output,
    format: count,
    missing: "none",
    chart: true,
  },
  {
    id: "cost",
    label: "Estimated cost",
    value: (s) => s.estimatedCostUsd,
    format: usd,
    missing: "unknown (a model without a price)",
    chart: true,
  },
];

export const CHART_FIGURES = FIGURES.filter((f) => f.chart);

/**
 * The variants best on a figure: the highest or lowest value, ties included. None when the figure ranks nothing,
 * fewer than two variants have a value, or all values are equal (a mark on every column would say nothing).
 * Values are compared as shown: 1.6 ms and 2.3 ms both read "2 ms", and a mark on one of them would puzzle.
 */
export function best(figure: Figure, variants: VariantStats[]): Set<string> {
  if (!figure.better) return new Set();
  const valued = variants.flatMap((s) => {
    const value = figure.value(s);
    return value === null ? [] : [{ variant: s.variant, value }];
  });
  if (valued.length < 2) return new Set();
  const values = valued.map((v) => v.value);
  const top = figure.format(figure.better === "higher" ? Math.max(...values) : Math.min(...values));
  const winners = valued.filter((v) => figure.format(v.value) === top);
  return winners.length === valued.length ? new Set() : new Set(winners.map((v) => v.variant));
}

// The evaluation report: report.md (a comparison table of the variants and how to read it), report.json (the
// whole result, per query too) and chart.svg (the ranking and answer metrics as grouped bars, one group per
// metric), written by hand so that it needs no charting library and opens in any browser.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ComparedMetric, EvaluationResult, VariantResult } from "./runner.ts";

export interface ReportFiles {
  markdown: string;
  json: string;
  chart: string;
}

export async function writeReport(result: EvaluationResult, outDir: string): Promise<ReportFiles> {
  await mkdir(outDir, { recursive: true });
  const files = {
    markdown: path.join(outDir, "report.md"),
    json: path.join(outDir, "report.json"),
    chart: path.join(outDir, "chart.svg"),
  };
  await writeFile(files.markdown, renderMarkdown(result));
  await writeFile(files.json, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(files.chart, renderChart(result));
  return files;
}

/** The comparison table alone: one row per variant. */
export function markdownTable(result: EvaluationResult): string {
  const { cutoff } = result;
  const head = [
    "variant",
    "recall@k",
    `MRR@${cutoff}`,
    `nDCG@${cutoff}`,
    "answer F1",
    "citations in gold",
    "abstained",
    "latency p50 / p95 (ms)",
    "tokens",
    "config",
  ];
  const rows = result.variants.map((v) => [
    v.name,
    `${fixed(v.metrics.recall)} (k=${v.k})`,
    fixed(v.metrics.mrr),
    fixed(v.metrics.ndcg),
    v.metrics.answerF1 === null ? "n/a" : fixed(v.metrics.answerF1),
    fixed(v.metrics.citationsInGold),
    fixed(v.metrics.abstained),
    `${v.latencyMs.p50.toFixed(1)} / ${v.latencyMs.p95.toFixed(1)}`,
    String(v.tokens.total),
    v.configHash,
  ]);
  const line = (cells: string[]) => `| ${cells.map(cell).join(" | ")} |`;
  const rule = `|${head.map((_, i) => (i === 0 || i === head.length - 1 ? " --- " : " ---: ")).join("|")}|`;
  return [line(head), rule, ...rows.map(line)].join("\n");
}

/** How the variants' answers fare: reference answers, abstention and citations. Empty when nothing applies. */
export function answersTable(result: EvaluationResult): string {
  const judged = result.variants.some((v) => v.metrics.judge);
  const rows = result.variants.map((v) => {
    const m = v.metrics;
    return [
      v.name,
      maybe(m.exactMatch),
      maybe(m.answerF1),
      maybe(m.answeredWhenRetrieved),
      m.abstention ? `${fixed(m.abstention.precision)} / ${fixed(m.abstention.recall)}` : "n/a",
      maybe(m.citationPrecision),
      maybe(m.citationCoverage),
      ...(judged ? [m.judge ? `${maybe(m.judge.faithfulness)} / ${maybe(m.judge.correctness)}` : "n/a"] : []),
    ];
  });
  const head = [
    "variant",
    "exact match",
    "answer F1",
    "answered when retrieved",
    "abstention precision / recall",
    "citation precision",
    "citation coverage",
    ...(judged ? ["judge: faithfulness / correctness"] : []),
  ];
  const line = (cells: string[]) => `| ${cells.map(cell).join(" | ")} |`;
  const rule = `|${head.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`;
  return [line(head), rule, ...rows.map(line)].join("\n");
}

const COMPARED: Record<ComparedMetric, string> = {
  ndcg: "nDCG@10",
  answerF1: "answer F1",
  exactMatch: "exact match",
  decision: "answered or abstained rightly",
  faithfulness: "judge: faithfulness",
};

/** Each variant against the first: the difference per metric, its 95% interval, and whether it is noise. */
export function comparisonsTable(result: EvaluationResult): string {
  const rows: string[][] = [];
  for (const c of result.comparisons)
    for (const [metric, d] of Object.entries(c.metrics) as [
      ComparedMetric,
      NonNullable<(typeof c.metrics)[ComparedMetric]>,
    ][])
      rows.push([
        `${c.variant} − ${c.baseline}`,
        COMPARED[metric],
        signed(d.difference),
        `${signed(d.low)} to ${signed(d.high)}`,
        d.p < 0.001 ? "< 0.001" : d.p.toFixed(3),
        d.significant ? "more than noise" : "within noise",
      ]);
  if (rows.length === 0) return "";
  const head = ["variants", "metric", "difference", "95% interval", "p", "verdict"];
  const line = (cells: string[]) => `| ${cells.map(cell).join(" | ")} |`;
  return [line(head), "| --- | --- | ---: | ---: | ---: | --- |", ...rows.map(line)].join("\n");
}

export function renderMarkdown(result: EvaluationResult): string {
  const { dataset, collection, cutoff } = result;
  const short = result.variants.filter((v) => v.k < cutoff);
  const notes = [
    ...(short.length
      ? [
          `${list(short.map((v) => `${v.name} (k=${v.k})`))} retrieve${short.length === 1 ? "s" : ""} fewer ` +
            `than ${cutoff} chunks: ${short.length === 1 ? "its" : "their"} MRR@${cutoff} and nDCG@${cutoff} are ` +
            `computed over the k chunks the chain returns (documents ranked by their best chunk).`,
        ]
      : []),
    `recall@k: share of the relevant documents among the documents of the k chunks retrieved, k being the ` +
      `variant's retrieval.k.`,
    dataset.withAnswers > 0
      ? `answer F1: SQuAD token F1 (lower case, no punctuation or articles, citation marks removed) against the ` +
        `reference answers of ${dataset.withAnswers} queries; an abstention scores 0.`
      : "answer F1: n/a, the queries carry no reference answers.",
    `citations in gold: share of all ${dataset.queries} queries whose answer cites at least one document judged ` +
      `relevant; abstained: share answered with "I couldn't find…".`,
    `latency: the chain's own time per query (retrieval and answer), with ${result.concurrency} queries in ` +
      `flight; tokens: model tokens in and out, summed over the queries (0 for the extractive answerer).`,
  ];
  const variants = result.variants.map((v) => `- ${describe(v)}`);
  return [
    `# Evaluation of chain ${code(result.chain)} on ${code(dataset.name)}`,
    "",
    `- Date: ${result.date}`,
    `- Dataset: ${code(dataset.dir)}, split ${code(dataset.split)}: ${dataset.queries} queries ` +
      `(${dataset.withAnswers} with a reference answer), ${dataset.documents} documents, ${dataset.chunks} chunks`,
    `- Collection: ${code(collection.dir)} (${collection.reused ? "reused" : `built: ${collection.chunksAdded} chunks added`}), embeddings ${code(collection.embeddings)}`,
    `- Run time: ${(result.durationMs / 1000).toFixed(1)} s`,
    "",
    markdownTable(result),
    "",
    ...notes.map((n) => `- ${n}`),
    "",
    "## Answers",
    "",
    answersTable(result),
    "",
    `- exact match and answer F1: SQuAD's, against the closest reference answer; an abstention scores 0.`,
    `- answered when retrieved: of the ${dataset.withAnswers} queries with reference answers, those whose answer ` +
      `occurs in the retrieved chunks, the share answered (not abstained on).`,
    dataset.unanswerable > 0
      ? `- abstention: of the abstentions, the share on the ${dataset.unanswerable} queries the dataset marks ` +
        `unanswerable (precision); of those, the share abstained on (recall).`
      : "- abstention: n/a, the dataset marks no query unanswerable.",
    `- citation precision: of the answers' citations, the share whose source supports its sentence (half of its ` +
      `weighted content terms in one or two sentences of the source); coverage: of the answers' sentences, the ` +
      `share with such a citation. Lexical: a faithful paraphrase in other words counts as unsupported.`,
    "",
    ...(result.comparisons.length
      ? [
          "## Differences",
          "",
          comparisonsTable(result),
          "",
          `- Paired bootstrap over the queries (2,000 resamples): a 95% interval that leaves out 0 is more than ` +
            `the noise of which queries were asked.`,
          "",
        ]
      : []),
    "## Variants",
    "",
    ...variants,
    "",
  ].join("\n");
}

function describe(v: VariantResult): string {
  const s = v.settings;
  const parts = [
    `prompt ${code(s.prompt)}`,
    `model ${code(s.model)}${s.minRelevance !== undefined ? ` (minRelevance ${s.minRelevance})` : ""}`,
    `search ${s.search}${s.weights ? ` (lexical ${s.weights.lexical}, vector ${s.weights.vector})` : ""}`,
    `k ${s.k}`,
    ...(s.scoreThreshold !== undefined ? [`scoreThreshold ${s.scoreThreshold}`] : []),
  ];
  return `${code(v.name)}, config ${code(v.configHash)}: ${parts.join(", ")}`;
}

// ---- Chart -------------------------------------------------------------------------------------------------

// Okabe-Ito: told apart with the common colour-vision deficiencies.
const COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
const PLOT_HEIGHT = 240;
const BAR = 34;
const BAR_GAP = 6;
const GROUP_GAP = 36;
const MARGIN = { top: 56, right: 190, bottom: 64, left: 64 };

/** The metrics as grouped bars: one group per metric, one bar per variant, each value printed on its bar. */
export function renderChart(result: EvaluationResult): string {
  const { cutoff } = result;
  const metrics: { key: string; label: string; value: (v: VariantResult) => number }[] = [
    { key: "recall", label: "recall@k", value: (v) => v.metrics.recall },
    { key: "mrr", label: `MRR@${cutoff}`, value: (v) => v.metrics.mrr },
    { key: "ndcg", label: `nDCG@${cutoff}`, value: (v) => v.metrics.ndcg },
  ];
  if (result.variants.some((v) => v.metrics.answerF1 !== null))
    metrics.push({ key: "f1", label: "answer F1", value: (v) => v.metrics.answerF1 ?? 0 });
  const n = Math.max(1, result.variants.length);
  const groupWidth = n * BAR + (n - 1) * BAR_GAP;
  const plotWidth = metrics.length * groupWidth + (metrics.length + 1) * GROUP_GAP;
  const width = MARGIN.left + plotWidth + MARGIN.right;
  const height = MARGIN.top + PLOT_HEIGHT + MARGIN.bottom;
  const y = (value: number) => round(MARGIN.top + PLOT_HEIGHT * (1 - clamp(value)));
  const out: string[] = [];

  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>${esc(`Chain ${result.chain} on ${result.dataset.name} (${result.dataset.split})`)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="15" font-weight="bold">${esc(`Chain ${result.chain} on ${result.dataset.name} (${result.dataset.split})`)}</text>`,
    `<text x="${MARGIN.left}" y="42" fill="#555555">${esc(`${result.dataset.queries} queries, ${result.date.slice(0, 10)}`)}</text>`,
  );
  // Gridlines and the y axis, 0 to 1.
  out.push(`<g class="axis y">`);
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const ty = y(tick);
    out.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${ty}" y2="${ty}" stroke="${tick === 0 ? "#333333" : "#dddddd"}"/>`,
      `<text x="${MARGIN.left - 8}" y="${ty + 4}" text-anchor="end">${tick.toFixed(2)}</text>`,
    );
  }
  const midY = MARGIN.top + PLOT_HEIGHT / 2;
  out.push(
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + PLOT_HEIGHT}" stroke="#333333"/>`,
    `<text x="18" y="${midY}" text-anchor="middle" transform="rotate(-90 18 ${midY})">score (0 to 1)</text>`,
    `</g>`,
  );
  metrics.forEach((metric, m) => {
    const x0 = MARGIN.left + GROUP_GAP + m * (groupWidth + GROUP_GAP);
    out.push(`<g class="metric" data-metric="${esc(metric.key)}">`);
    result.variants.forEach((variant, i) => {
      const value = metric.value(variant);
      const x = x0 + i * (BAR + BAR_GAP);
      const top = y(value);
      out.push(
        `<rect class="bar" data-variant="${esc(variant.name)}" x="${x}" y="${top}" width="${BAR}" height="${round(MARGIN.top + PLOT_HEIGHT - top)}" fill="${COLOURS[i % COLOURS.length]}"><title>${esc(`${variant.name}, ${metric.label}: ${value.toFixed(4)}`)}</title></rect>`,
        `<text class="value" x="${x + BAR / 2}" y="${top - 4}" text-anchor="middle" font-size="10">${value.toFixed(3)}</text>`,
      );
    });
    out.push(
      `<text class="label" x="${x0 + groupWidth / 2}" y="${MARGIN.top + PLOT_HEIGHT + 18}" text-anchor="middle">${esc(metric.label)}</text>`,
      `</g>`,
    );
  });
  out.push(
    `<text x="${MARGIN.left + plotWidth / 2}" y="${height - 16}" text-anchor="middle" fill="#555555">metric (k: each variant's retrieval.k)</text>`,
  );
  // Legend: which colour is which variant.
  const lx = MARGIN.left + plotWidth + 24;
  out.push(`<g class="legend">`, `<text x="${lx}" y="${MARGIN.top}" font-weight="bold">variant</text>`);
  result.variants.forEach((variant, i) => {
    const ly = MARGIN.top + 12 + i * 20;
    out.push(
      `<rect x="${lx}" y="${ly}" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/>`,
      `<text x="${lx + 18}" y="${ly + 10}">${esc(`${variant.name} (k=${variant.k})`)}</text>`,
    );
  });
  out.push(`</g>`, `</svg>`, "");
  return out.join("\n");
}

/** Text for XML content and attribute values. */
export function esc(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos" }[c]};`,
  );
}

function clamp(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function fixed(value: number): string {
  return value.toFixed(4);
}

function maybe(value: number | null): string {
  return value === null ? "n/a" : fixed(value);
}

function signed(value: number): string {
  return `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(4)}`;
}

/** A table cell: pipes and line breaks would break the row. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
}

/** Inline code; a backtick inside is doubled-fenced so that it shows as written. */
function code(text: string): string {
  return text.includes("`") ? `\`\` ${text} \`\`` : `\`${text}\``;
}

function list(items: string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

// Fits the extractive answerer's answerability model (src/models/chat/answerability.ts) on a dataset with
// answerable and unanswerable questions over the same passages: each question is retrieved for as the qa chain
// retrieves (its search settings, over the evaluation collection `counsel eval` builds), the answerer's best
// sentence gives the features, and a logistic regression separates the answerable questions whose answer was
// retrieved (answer) from the unanswerable ones (abstain). The threshold is the confidence at which `--target`
// of the answerable ones are answered. `--write` saves the model as answerability-weights.ts.
//   npm run calibrate:abstention -- [--dataset bench/datasets/squad2] [--split calibration] [--target 0.97] [--write]
// Report on the other split, never the one fitted: npx counsel eval --dataset bench/datasets/squad2 --split test
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadChainConfigs } from "../src/chains/config.ts";
import { containsAnswer } from "../src/chains/eval/answer-metrics.ts";
import { openDataset } from "../src/chains/eval/dataset.ts";
import { openCollection } from "../src/chains/eval/runner.ts";
import { chainSearcher } from "../src/chains/searcher.ts";
import { defineRecipe } from "../src/ingest/recipe.ts";
import {
  type AnswerabilityModel,
  answerFeatures,
  confidenceOf,
  FEATURES,
} from "../src/models/chat/answerability.ts";
import { ExtractiveAnswerer } from "../src/models/chat/extractive.ts";
import { LocalHashEmbeddings } from "../src/models/embeddings/local-hash.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    dataset: { type: "string", default: path.join(ROOT, "bench/datasets/squad2") },
    split: { type: "string", default: "calibration" },
    target: { type: "string", default: "0.97" },
    "data-dir": { type: "string", default: path.join(ROOT, "data") },
    write: { type: "boolean", default: false },
  },
});
const target = Number(values.target);

const config = (await loadChainConfigs(path.join(ROOT, "chains"))).get("qa");
if (!config) throw new Error("chains/qa.yaml is missing");
const dataset = await openDataset(values.dataset as string, { split: values.split });
const collection = await openCollection(dataset, {
  dataDir: values["data-dir"] as string,
  recipe: defineRecipe({ name: "default" }),
  embeddings: new LocalHashEmbeddings(),
});
const searcher = chainSearcher(config, collection.store);
const answerer = new ExtractiveAnswerer();

const rows: { x: number[]; y: number }[] = [];
let notRetrieved = 0;
let noMatch = 0;
for (const query of dataset.queries) {
  const sources = await searcher.search(query.text, { k: config.retrieval.k });
  if (!query.unanswerable) {
    const found = containsAnswer(
      sources.map((s) => s.document.pageContent),
      query.answers ?? [],
    );
    if (!found) {
      notRetrieved++;
      continue;
    }
  }
  const evidence = answerer.evidence({ question: query.text, sources });
  if (!evidence) {
    noMatch++;
    continue;
  }
  rows.push({ x: answerFeatures(evidence), y: query.unanswerable ? 0 : 1 });
}
collection.store.close();

const model = fitLogistic(rows);
const positives = rows
  .filter((r) => r.y === 1)
  .map((r) => confidenceOf(r.x, model))
  .sort((a, b) => a - b);
// Rounded down, so that the rounding never answers fewer than the target.
model.threshold = Math.floor(positives[Math.floor((1 - target) * positives.length)] * 1e6) / 1e6;
const answerables = rows.filter((r) => r.y === 1);
const unanswerables = rows.filter((r) => r.y === 0);
model.fittedOn =
  `${dataset.name}, split ${dataset.split}: ${answerables.length} answerable questions whose answer was ` +
  `retrieved, ${unanswerables.length} unanswerable; threshold for ${target} of the answerable answered`;
const answered = (r: { x: number[] }) => confidenceOf(r.x, model) >= model.threshold;
console.log(model.fittedOn);
console.log(
  `left out: ${notRetrieved} answerable with the answer not retrieved, ${noMatch} with no sentence matching`,
);
console.log(
  `on ${dataset.split}: answers ${share(answerables.filter(answered).length, answerables.length)} of the answerable, ` +
    `abstains on ${share(unanswerables.filter((r) => !answered(r)).length, unanswerables.length)} of the unanswerable`,
);
console.log(FEATURES.map((name, i) => `${name} ${model.weights[i].toFixed(3)}`).join(", "));
if (values.write) {
  const file = path.join(ROOT, "src/models/chat/answerability-weights.ts");
  await writeFile(
    file,
    [
      "// Written by `npm run calibrate:abstention`; do not edit by hand. Its shape: AnswerabilityModel.",
      `export const FITTED = ${JSON.stringify(model, null, 2)};`,
      "",
    ].join("\n"),
  );
  // In the repository's own format, so that a rerun that fits the same model changes nothing.
  execFileSync("npx", ["biome", "format", "--write", file], { cwd: ROOT, stdio: "ignore" });
  console.log(`written: ${path.relative(process.cwd(), file)}`);
}

/**
 * Logistic regression on standardised features, L2-regularised, by full-batch gradient descent from zero:
 * deterministic, and a dozen lines for nine features and a few thousand rows.
 */
function fitLogistic(data: { x: number[]; y: number }[]): AnswerabilityModel {
  const d = FEATURES.length;
  const mean = FEATURES.map((_, j) => data.reduce((s, r) => s + r.x[j], 0) / data.length);
  const deviation = FEATURES.map(
    (_, j) => Math.sqrt(data.reduce((s, r) => s + (r.x[j] - mean[j]) ** 2, 0) / data.length) || 1,
  );
  const z = data.map((r) => r.x.map((v, j) => (v - mean[j]) / deviation[j]));
  const weights = new Array<number>(d).fill(0);
  let bias = 0;
  for (let step = 0; step < 3000; step++) {
    const gradient = new Array<number>(d).fill(0);
    let gradientBias = 0;
    data.forEach((r, i) => {
      const p = 1 / (1 + Math.exp(-(bias + z[i].reduce((s, v, j) => s + v * weights[j], 0))));
      const error = p - r.y;
      gradientBias += error;
      z[i].forEach((v, j) => {
        gradient[j] += error * v;
      });
    });
    for (let j = 0; j < d; j++) weights[j] -= 0.5 * (gradient[j] / data.length + 0.001 * weights[j]);
    bias -= (0.5 * gradientBias) / data.length;
  }
  return {
    mean: mean.map(round),
    deviation: deviation.map(round),
    weights: weights.map(round),
    bias: round(bias),
    threshold: 0.5,
    fittedOn: "",
  };
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function share(n: number, of: number): string {
  return `${n}/${of} (${((100 * n) / of).toFixed(1)}%)`;
}

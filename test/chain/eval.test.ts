// The evaluation runner on a tiny BEIR dataset (test/fixtures/eval/tiny, described in its README): every
// number asserted here is worked out by hand in the comments, from lexical (BM25) rankings that follow from
// which documents share a term with each query, and from the extractive answerer's quotes.
//
// The dataset, with each judged query's terms (stemmed, stop words out) and the documents that contain any:
//   q1 "How many laptops were delivered?"        laptop, deliv            -> memo-goods          (gold: memo-goods)
//   q2 "How many trucks were used?"              truck, us                -> memo-trucks (both),
//                                                                            btc-double-spending ("using")
//                                                                                                 (gold: memo-trucks)
//   q3 "What would a purely peer-to-peer version of electronic cash allow?"
//                                                purely, peer, electron…  -> btc-cash (all),
//                                                                            btc-double-spending (peer)
//                                                                                                 (gold: btc-cash)
//   q4 "How does the network solve the double-spending problem?"
//                                                network, doubl, spend,… -> btc-double-spending (4 terms),
//                                                                            btc-network (1)      (gold: both)
//   q5 "What is the purpose of the Handbook?"    purpos, handbook         -> handbook-tips, handbook-purpose: one
//                                                                            "Handbook" each; tips is the shorter, so
//                                                                            BM25's length norm ranks it first
//                                                                                                 (gold: handbook-purpose)
//   q6 has no judgements: it is not evaluated.
// BM25 returns only chunks that share a term with the query, so k = 3 returns the documents listed, in that order.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChainConfig, parseChainConfig } from "../../src/chains/config.ts";
import { openDataset } from "../../src/chains/eval/dataset.ts";
import { renderChart, writeReport } from "../../src/chains/eval/report.ts";
import { type EvaluationResult, runEvaluation } from "../../src/chains/eval/runner.ts";
import { defineRecipe } from "../../src/ingest/recipe.ts";
import { mrrAtK, ndcgAtK, recallAtK } from "../../src/retrieval/metrics.ts";

// Not test/helpers/services.ts: it builds the whole service, which this runner does not need.
const ROOT = path.resolve(import.meta.dirname, "../..");
const TINY = path.join(ROOT, "test/fixtures/eval/tiny");
const PROMPTS = path.join(ROOT, "prompts");

const CHAIN = `
name: qa
type: qa
prompt: qa
model: { provider: extractive, minRelevance: 0.35 }
retrieval: { k: 3, search: lexical }
variants:
  top1: { weight: 1, retrieval: { k: 1 } }
  top3: { weight: 1 }
  generative: { weight: 0, model: { provider: bedrock, id: scripted }, citations: { verify: false } }
  verified: { weight: 0, model: { provider: bedrock, id: scripted } }
  strict: { weight: 0, model: { minRelevance: 0.9 } }
`;

const chains = (text = CHAIN) => new Map<string, ChainConfig>([["qa", parseChainConfig(text, "qa.yaml")]]);

/** A chat model that always answers from the first source, and reports 10 tokens in and 5 out per call. */
class ScriptedChatModel extends BaseChatModel {
  _llmType(): string {
    return "scripted";
  }
  async _generate(): Promise<ChatResult> {
    const text = "Answer from the first source [1].";
    const usage = { input_tokens: 10, output_tokens: 5, total_tokens: 15 };
    return { generations: [{ text, message: new AIMessage({ content: text, usage_metadata: usage }) }] };
  }
}

/** A judge that answers from a list and records each prompt it is sent. */
class RecordingJudge extends FakeListChatModel {
  readonly prompts: string[] = [];
  override async _generate(...args: Parameters<FakeListChatModel["_generate"]>): Promise<ChatResult> {
    this.prompts.push(String(args[0][0].content));
    return super._generate(...args);
  }
}

describe("ranking metrics on fixed rankings", () => {
  it("match the arithmetic done by hand", () => {
    // Ranking [d2, d5, d1], d1 relevant: first hit at rank 3, MRR = 1/3; nDCG@10 = (1 / log2(3 + 1)) / 1 = 0.5;
    // recall@3 = 1/1, recall@2 = 0/1.
    const ranked = ["d2", "d5", "d1"];
    const relevant = new Map([["d1", 1]]);
    expect(mrrAtK(ranked, relevant, 10)).toBeCloseTo(1 / 3, 10);
    expect(ndcgAtK(ranked, relevant, 10)).toBeCloseTo(0.5, 10);
    expect(recallAtK(ranked, relevant, 3)).toBe(1);
    expect(recallAtK(ranked, relevant, 2)).toBe(0);
    // Two relevant, one found at rank 1: DCG = 1, IDCG = 1 + 1/log2(3) = 1.63093, nDCG = 0.61315.
    expect(ndcgAtK(["a"], { a: 1, b: 1 }, 10)).toBeCloseTo(1 / (1 + 1 / Math.log2(3)), 10);
  });
});

describe("BEIR dataset reading", () => {
  it("keeps the judged queries, with reference answers from answers or metadata.answer", async () => {
    const dataset = await openDataset(TINY);
    expect(dataset).toMatchObject({ name: "tiny", split: "test" });
    expect(dataset.queries.map((q) => q.id)).toEqual(["q1", "q2", "q3", "q4", "q5"]);
    expect(dataset.queries[0].answers).toEqual(["200 laptops"]); // metadata.answer
    expect(dataset.queries[1].answers).toEqual(["3 trucks", "three trucks"]); // answers, a list
    expect(dataset.queries[4].answers).toBeUndefined();
    expect(dataset.queries.some((q) => q.unanswerable)).toBe(false);
    const abstain = await openDataset(TINY, { split: "abstain" });
    expect(abstain.queries.map((q) => [q.id, q.unanswerable ?? false])).toEqual([
      ["q1", false],
      ["q2", false],
      ["q6", true],
    ]);
    expect(dataset.qrels.get("q4")).toEqual(
      new Map([
        ["btc-double-spending", 1],
        ["btc-network", 1],
      ]),
    );
    expect((await openDataset(TINY, { limit: 2 })).queries.map((q) => q.id)).toEqual(["q1", "q2"]);
  });

  it("names the missing file when a split does not exist", async () => {
    await expect(openDataset(TINY, { split: "dev" })).rejects.toThrow(/qrels\/dev\.tsv: no such file/);
  });
});

describe("runEvaluation on the tiny dataset", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let result: EvaluationResult;
  const progress: [number, number, string][] = [];

  beforeAll(async () => {
    data = await tempDataDir();
    result = await runEvaluation({
      chains: chains(),
      chain: "qa",
      variants: ["top1", "top3", "generative"],
      dataset: TINY,
      promptsDir: PROMPTS,
      dataDir: data.dir,
      chatModelFor: async () => new ScriptedChatModel({}),
      onProgress: (done, total, variant) => progress.push([done, total, variant]),
    });
  });
  afterAll(async () => data?.remove());

  const variant = (name: string) => {
    const found = result.variants.find((v) => v.name === name);
    if (!found) throw new Error(`no variant ${name}`);
    return found;
  };

  it("ranks documents as worked out by hand, with k = 1", () => {
    const top1 = variant("top1");
    expect(top1.queries.map((q) => [q.id, q.ranked])).toEqual([
      ["q1", ["memo-goods"]],
      ["q2", ["memo-trucks"]],
      ["q3", ["btc-cash"]],
      ["q4", ["btc-double-spending"]],
      ["q5", ["handbook-tips"]],
    ]);
    // recall@1: q1-q3 1, q4 1/2 (one of two gold), q5 0 -> (3 + 0.5 + 0) / 5 = 0.7.
    // MRR@10: q1-q4 gold at rank 1, q5 none -> 4/5 = 0.8.
    // nDCG@10 (over the 1 result): q1-q3 1; q4 DCG 1 / IDCG (1 + 1/log2 3) = 0.61315; q5 0
    //   -> (3 + 0.61315) / 5 = 0.72263.
    expect(top1.k).toBe(1);
    expect(top1.metrics.recall).toBeCloseTo(0.7, 10);
    expect(top1.metrics.mrr).toBeCloseTo(0.8, 10);
    expect(top1.metrics.ndcg).toBeCloseTo((3 + 1 / (1 + 1 / Math.log2(3))) / 5, 10);
  });

  it("ranks documents as worked out by hand, with k = 3, and scores higher", () => {
    const top3 = variant("top3");
    expect(top3.queries.map((q) => [q.id, q.ranked])).toEqual([
      ["q1", ["memo-goods"]],
      ["q2", ["memo-trucks", "btc-double-spending"]],
      ["q3", ["btc-cash", "btc-double-spending"]],
      ["q4", ["btc-double-spending", "btc-network"]],
      ["q5", ["handbook-tips", "handbook-purpose"]],
    ]);
    // recall@3: every gold document is retrieved -> 1.
    // MRR@10: q1-q4 1, q5 gold at rank 2 -> (4 + 1/2) / 5 = 0.9.
    // nDCG@10: q1-q3 1; q4 both gold at ranks 1, 2 = the ideal order -> 1; q5 (1/log2 3) / 1 = 0.63093
    //   -> (4 + 0.63093) / 5 = 0.92619.
    expect(top3.metrics.recall).toBe(1);
    expect(top3.metrics.mrr).toBeCloseTo(0.9, 10);
    expect(top3.metrics.ndcg).toBeCloseTo((4 + 1 / Math.log2(3)) / 5, 10);
  });

  it("scores the extractive answers against the reference answers", () => {
    // Each answer quotes the gold sentence alone, then [1]. SQuAD-normalised token counts (answer / reference,
    // all reference tokens in the answer, so recall 1 and F1 = 2P / (P + 1)):
    //   q1 "there were 20000 bottles of water 10000 blankets and 200 laptops delivered on january 23 2023" 16
    //      / "200 laptops" 2: P = 2/16, F1 = (1/4) / (9/8) = 2/9
    //   q2 "total of 3 trucks were used for 15 hours" 9 / "3 trucks" 2: P = 2/9, F1 = (4/9) / (11/9) = 4/11
    //   q3 "purely peertopeer version of electronic cash would allow online payments to be sent directly from
    //      one party to another without going through financial institution" 24 / the last 16: P = 2/3, F1 = 4/5
    //   q4 "we propose solution to doublespending problem using peertopeer network" 9 / 3: P = 1/3, F1 = 1/2
    //   mean over the 4 queries with a reference: (2/9 + 4/11 + 4/5 + 1/2) / 4 = 0.47146
    const f1 = (2 / 9 + 4 / 11 + 4 / 5 + 1 / 2) / 4;
    const top1 = variant("top1");
    const top3 = variant("top3");
    expect(top1.queries.map((q) => q.f1)).toEqual([
      expect.closeTo(2 / 9, 10),
      expect.closeTo(4 / 11, 10),
      expect.closeTo(4 / 5, 10),
      expect.closeTo(1 / 2, 10),
      null,
    ]);
    expect(top1.metrics.answerF1).toBeCloseTo(f1, 10);
    // With k = 3 the extra sources share only a common term with the question, far below minRelevance: the
    // same quotes, the same F1.
    expect(top3.metrics.answerF1).toBeCloseTo(f1, 10);
  });

  it("counts citations of gold documents and abstentions", () => {
    // k = 1, q5: the only source is handbook-tips; "handbook" is then as rare as the missing "purpos", so the
    // sentence matches half the question (0.5 >= 0.35) and is quoted, citing a document that is not gold.
    // -> 4 of 5 answers cite gold, none abstains.
    expect(variant("top1").metrics).toMatchObject({ citationsInGold: 0.8, abstained: 0 });
    // k = 3, q5: "handbook" is in both sentences (idf ln 1.2 = 0.18) while the missing "purpos" weighs ln 2 =
    // 0.69, so the best sentence matches 0.18 / 0.88 = 0.21 < 0.35: it abstains, citing nothing.
    // -> 4 of 5 cite gold, 1 of 5 abstains.
    const top3 = variant("top3");
    expect(top3.metrics).toMatchObject({ citationsInGold: 0.8, abstained: 0.2 });
    expect(top3.queries[4]).toMatchObject({ id: "q5", abstained: true, citesRelevant: false, f1: null });
    // Retrieval is scored even when the answer abstains (the chain then returns no sources).
    expect(top3.queries[4].ranked).toEqual(["handbook-tips", "handbook-purpose"]);
  });

  it("runs a generative variant through the model factory and sums its tokens", () => {
    const generative = variant("generative");
    expect(generative.settings).toMatchObject({ model: "bedrock:scripted", k: 3, search: "lexical" });
    // 5 queries x (10 + 5) tokens.
    expect(generative.tokens).toEqual({ input: 50, output: 25, total: 75 });
    // "Answer from the first source [1]." -> "answer from first source" (4 tokens). It cites the top document:
    // gold for q1-q4, not for q5 -> 0.8. Only q3's reference shares a token ("from"): P = 1/4, R = 1/16,
    // F1 = 2 (1/4)(1/16) / (1/4 + 1/16) = 1/10; mean (0 + 0 + 1/10 + 0) / 4 = 0.025.
    expect(generative.metrics.citationsInGold).toBeCloseTo(0.8, 10);
    expect(generative.metrics.answerF1).toBeCloseTo(0.025, 10);
    expect(variant("top1").tokens.total).toBe(0);
  });

  it("reports progress across all variants, latency percentiles and distinct config hashes", () => {
    expect(progress).toHaveLength(15);
    expect(progress.map(([done]) => done)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(progress.at(-1)).toEqual([15, 15, "generative"]);
    for (const v of result.variants) {
      expect(v.latencyMs.p50).toBeGreaterThan(0);
      expect(v.latencyMs.p95).toBeGreaterThanOrEqual(v.latencyMs.p50);
      expect(v.configHash).toMatch(/^[0-9a-f]{12}$/);
    }
    expect(new Set(result.variants.map((v) => v.configHash)).size).toBe(3);
    expect(result.dataset).toMatchObject({ queries: 5, withAnswers: 4, documents: 8, chunks: 8 });
  });

  it("refuses a variant the chain does not have, naming those it has", async () => {
    await expect(
      runEvaluation({
        chains: chains(),
        chain: "qa",
        variants: ["top2"],
        dataset: TINY,
        promptsDir: PROMPTS,
        dataDir: data.dir,
      }),
    ).rejects.toThrow(/no variant "top2". Variants: default, top1, top3, generative, verified, strict/);
  });

  it("writes report.md, report.json and a well-formed chart.svg", async () => {
    const files = await writeReport(result, path.join(data.dir, "report"));
    const markdown = await readFile(files.markdown, "utf8");
    expect(markdown).toContain(
      "| variant | recall@k | MRR@10 | nDCG@10 | answer F1 | citations in gold | abstained | latency p50 / p95 (ms) | tokens | config |",
    );
    expect(markdown).toMatch(
      /\| top1 \| 0\.7000 \(k=1\) \| 0\.8000 \| 0\.7226 \| 0\.4715 \| 0\.8000 \| 0\.0000 \| /,
    );
    expect(markdown).toMatch(
      /\| top3 \| 1\.0000 \(k=3\) \| 0\.9000 \| 0\.9262 \| 0\.4715 \| 0\.8000 \| 0\.2000 \| /,
    );
    expect(markdown).toMatch(/\| generative \| 1\.0000 \(k=3\) .* \| 75 \| [0-9a-f]{12} \|/);
    expect(markdown).toContain("MRR@10 and nDCG@10 are computed over the k chunks the chain returns");
    expect(markdown).toContain(variant("top1").configHash);

    const json = JSON.parse(await readFile(files.json, "utf8")) as EvaluationResult;
    expect(json.variants.map((v) => [v.name, v.metrics.recall, v.metrics.mrr])).toEqual([
      ["top1", 0.7, 0.8],
      ["top3", 1, 0.9],
      ["generative", 1, 0.9],
    ]);

    const svg = await readFile(files.chart, "utf8");
    assertWellFormedXml(svg);
    // One group per metric (recall, MRR, nDCG and, with reference answers, F1), one bar per variant in each.
    const groups = [...svg.matchAll(/<g class="metric" data-metric="(\w+)">([\s\S]*?)<\/g>/g)];
    expect(groups.map((g) => g[1])).toEqual(["recall", "mrr", "ndcg", "f1"]);
    for (const group of groups) expect(group[2].match(/<rect class="bar"/g)).toHaveLength(3);
    expect(svg).toContain(
      '<text class="value" x="117" y="124" text-anchor="middle" font-size="10">0.700</text>',
    );
    for (const name of ["top1 (k=1)", "top3 (k=3)", "generative (k=3)"])
      expect(svg).toContain(`>${name}</text>`);
  });

  it("escapes names in the chart", () => {
    const named = structuredClone(result);
    named.dataset.name = `R&D <"notes">`;
    named.variants[0].name = "a<b>&'c'";
    const svg = renderChart(named);
    assertWellFormedXml(svg);
    expect(svg).toContain("R&amp;D &lt;&quot;notes&quot;&gt;");
    expect(svg).toContain('data-variant="a&lt;b&gt;&amp;&apos;c&apos;"');
  });
});

describe("answers, abstention and citations on the tiny dataset's abstain split", () => {
  // q1 and q2 are answered by their documents; q6 ("How many blankets were lost?") is unanswerable: the memo
  // counts blankets delivered. For the extractive answerer, q6's only candidate sentence (memo-goods, the one
  // document with a query term) holds "blanket" but not "lost", weighted alike: 0.5, and no word pair. q1 and
  // q2 match all their terms and their pair: 1.1. So minRelevance 0.35 answers all three; 0.9 abstains on q6.
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  let result: EvaluationResult;
  beforeAll(async () => {
    data = await tempDataDir();
    result = await runEvaluation({
      chains: chains(),
      chain: "qa",
      variants: ["top3", "strict", "verified", "generative"],
      dataset: TINY,
      split: "abstain",
      promptsDir: PROMPTS,
      dataDir: data.dir,
      chatModelFor: async () => new ScriptedChatModel({}),
    });
  });
  afterAll(async () => data?.remove());
  const metrics = (name: string) => result.variants.find((v) => v.name === name)?.metrics;

  it("scores abstention against the queries marked unanswerable", () => {
    expect(result.dataset).toMatchObject({ queries: 3, withAnswers: 2, unanswerable: 1 });
    // top3 abstains on none: no abstention is right (precision 0 of 0, taken as 0), none of 1 unanswerable.
    expect(metrics("top3")).toMatchObject({
      abstention: { precision: 0, recall: 0 },
      answeredWhenRetrieved: 1,
    });
    // strict abstains on q6 alone: its one abstention is right, and it is the one unanswerable query.
    expect(metrics("strict")).toMatchObject({
      abstention: { precision: 1, recall: 1 },
      answeredWhenRetrieved: 1,
    });
    // Both reference answers are in the retrieved text ("200 laptops", "3 trucks"), q6 has none to look for.
    expect(result.variants[0].queries.map((q) => q.answerRetrieved)).toEqual([true, true, null]);
  });

  it("judges citations: quotes support their sentence, the scripted model's sentence is supported by nothing", () => {
    expect(metrics("top3")).toMatchObject({ citationPrecision: 1, citationCoverage: 1 });
    // "Answer from the first source [1]." shares no term with any source.
    expect(metrics("generative")).toMatchObject({ citationPrecision: 0, citationCoverage: 0 });
    // Verified, its one citation is removed: an answer citing nothing abstains, on every query.
    expect(metrics("verified")).toMatchObject({
      abstained: 1,
      abstention: { precision: 1 / 3, recall: 1 },
      answeredWhenRetrieved: 0,
      citationPrecision: null,
      citationCoverage: null,
    });
  });

  it("grades answers with an LLM judge when given one, with the judge's prompt from prompts/judge.md", async () => {
    const judge = new RecordingJudge({
      responses: [
        '{"faithfulness": 0.8, "correctness": 1}',
        "no idea",
        '{"faithfulness": 0.2, "correctness": 0}',
      ],
    });
    const judged = await runEvaluation({
      chains: chains(),
      chain: "qa",
      variants: ["top3"],
      dataset: TINY,
      split: "abstain",
      promptsDir: PROMPTS,
      dataDir: data.dir,
      judge,
      concurrency: 1,
      onProgress: () => undefined,
    });
    const [top3] = judged.variants;
    // top3 answers all three: q1 graded 0.8 / 1, q2's reply is no JSON (ungraded), q6 0.2 and, with no
    // reference (unanswerable), no correctness.
    expect(top3.queries.map((q) => q.judged)).toEqual([
      { faithfulness: 0.8, correctness: 1 },
      { faithfulness: null, correctness: null },
      { faithfulness: 0.2, correctness: null },
    ]);
    expect(top3.metrics.judge).toEqual({ faithfulness: 0.5, correctness: 1, graded: 2 });
    // The judge saw the question, the numbered chunks, the answer and the references.
    expect(judge.prompts[0]).toContain("<question>\nHow many laptops were delivered?\n</question>");
    expect(judge.prompts[0]).toMatch(/<sources>\n\[1\] .*\n.*200 laptops/);
    expect(judge.prompts[0]).toContain("<reference_answers>\n- 200 laptops\n</reference_answers>");
    expect(judge.prompts[2]).toContain("<reference_answers>\n(none)\n</reference_answers>");
  });

  it("compares each variant with the first by a paired bootstrap", () => {
    expect(result.comparisons.map((c) => [c.baseline, c.variant])).toEqual([
      ["top3", "strict"],
      ["top3", "verified"],
      ["top3", "generative"],
    ]);
    // Rightly answered or abstained: top3 1, 1, 0; strict 1, 1, 1. Three queries cannot make it more than noise:
    // a resample without q6 shows no difference.
    const decision = result.comparisons[0].metrics.decision;
    expect(decision).toMatchObject({ difference: expect.closeTo(1 / 3, 10), queries: 3, significant: false });
    expect(decision?.low).toBe(0);
    // Retrieval is the same in both: no difference at all.
    expect(result.comparisons[0].metrics.ndcg).toMatchObject({ difference: 0, low: 0, high: 0 });
  });
});

describe("the isolated collection", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  beforeAll(async () => {
    data = await tempDataDir();
  });
  afterAll(async () => data?.remove());

  it("is built once and reused while the corpus and recipe are unchanged", async () => {
    const ingested: [number, number][] = [];
    const run = (chainText?: string, chunkSize?: number) =>
      runEvaluation({
        chains: chains(chainText),
        chain: "qa",
        dataset: TINY,
        promptsDir: PROMPTS,
        dataDir: data.dir,
        variants: chainText ? undefined : ["top3"],
        ...(chunkSize
          ? { recipe: defineRecipe({ name: "small", splitter: { chunkSize, chunkOverlap: 0 } }) }
          : {}),
        onIngestProgress: (done, total) => ingested.push([done, total]),
      });
    const first = await run();
    expect(first.collection).toMatchObject({ reused: false, chunksAdded: 8 });
    expect(first.collection.dir).toMatch(/[/\\]eval[/\\]tiny-[0-9a-f]{12}$/);
    expect(ingested).toEqual([[8, 8]]);

    // A chain without variants runs as "default"; the collection is opened, not re-embedded.
    const noVariants = CHAIN.slice(0, CHAIN.indexOf("variants:"));
    const second = await run(noVariants);
    expect(second.collection).toMatchObject({ reused: true, chunksAdded: 0, dir: first.collection.dir });
    expect(ingested).toHaveLength(1);
    expect(second.variants.map((v) => v.name)).toEqual(["default"]);
    // The default config is top3's (k 3, lexical): the same numbers.
    expect(second.variants[0].metrics).toEqual(first.variants[0].metrics);

    // Another splitter makes other chunks: another collection.
    const third = await run(undefined, 100);
    expect(third.collection.reused).toBe(false);
    expect(third.collection.dir).not.toBe(first.collection.dir);
    expect(third.dataset.chunks).toBeGreaterThan(8);
  });
});

describe("counsel eval", () => {
  let data: Awaited<ReturnType<typeof tempDataDir>>;
  beforeAll(async () => {
    data = await tempDataDir();
    await writeFile(
      path.join(data.dir, "qa.yaml"),
      CHAIN.replace(/ {2}(?:generative|verified|strict):.*\n/g, ""),
    );
  });
  afterAll(async () => data?.remove());

  // The command as cli.ts will mount it (program.addCommand(evalCommand(...))), run as a child process.
  const counselEval = (...args: string[]) => {
    const url = (file: string) => pathToFileURL(path.join(ROOT, file)).href;
    const script = [
      `import { Command } from "commander";`,
      `import { loadSettings } from "${url("src/config/settings.ts")}";`,
      `import { evalCommand } from "${url("src/commands/eval.ts")}";`,
      `const program = new Command("counsel").addCommand(evalCommand({ loadEnv: () => loadSettings() }));`,
      `await program.parseAsync(process.argv.slice(1), { from: "user" });`,
    ].join("\n");
    return promisify(execFile)(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script, "--", "eval", ...args],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          DATA_DIR: path.join(data.dir, "state"),
          CHAINS_DIR: data.dir,
          PROMPTS_DIR: PROMPTS,
          LOADERS_DIR: path.join(ROOT, "loaders"),
          LOG_LEVEL: "silent",
        },
      },
    );
  };

  it("writes the three files and prints the table and their paths", async () => {
    const out = path.join(data.dir, "out");
    const { stdout, stderr } = await counselEval("--dataset", TINY, "--out", out, "--limit", "5");
    expect(stdout).toMatch(/^\| variant \| recall@k \|/);
    expect(stdout).toMatch(/\| top1 \| 0\.7000 \(k=1\) \| 0\.8000 \| 0\.7226 \|/);
    expect(stdout).toMatch(/\| top3 \| 1\.0000 \(k=3\) \| 0\.9000 \| 0\.9262 \|/);
    for (const file of ["report.md", "report.json", "chart.svg"]) {
      expect(stdout).toContain(path.join(out, file));
      await expect(readFile(path.join(out, file), "utf8")).resolves.toBeTruthy();
    }
    // Not a terminal: plain progress lines on stderr.
    expect(stderr).toContain("ingesting documents 8/8");
    expect(stderr).toContain("variant top3: queries 10/10");

    const again = await counselEval("--dataset", TINY, "--out", out, "--variants", "top1", "--json");
    const json = JSON.parse(again.stdout) as EvaluationResult;
    expect(json.collection).toMatchObject({ reused: true, chunksAdded: 0 });
    expect(json.variants.map((v) => [v.name, v.metrics.recall])).toEqual([["top1", 0.7]]);
  }, 60_000);
});

/**
 * Well-formed XML, strictly enough for what renderChart writes: one root, balanced tags, quoted attributes
 * without "<", and no "&" that does not start a predefined or numeric entity.
 */
function assertWellFormedXml(xml: string): void {
  const stack: string[] = [];
  let roots = 0;
  const entities = (text: string) => {
    for (const [ref] of text.matchAll(/&[^;\s]*;?/g))
      if (!/^&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);$/i.test(ref)) throw new Error(`bad entity ${ref}`);
  };
  for (const [token] of xml.matchAll(/<[^>]*>|[^<]+/g)) {
    if (!token.startsWith("<")) {
      if (stack.length === 0 && token.trim()) throw new Error(`text outside the root: ${token}`);
      entities(token);
      continue;
    }
    const close = /^<\/([\w:-]+)\s*>$/.exec(token);
    if (close) {
      const open = stack.pop();
      if (open !== close[1]) throw new Error(`</${close[1]}> closes <${open}>`);
      continue;
    }
    const open = /^<([\w:-]+)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>$/.exec(token);
    if (!open) throw new Error(`malformed tag: ${token}`);
    entities(open[2]);
    if (stack.length === 0) roots += 1;
    if (!open[3]) stack.push(open[1]);
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join("> <")}>`);
  if (roots !== 1) throw new Error(`expected one root element, found ${roots}`);
}

async function tempDataDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "counsel-eval-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

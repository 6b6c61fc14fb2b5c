// The qa chain over real document text (test/fixtures, origins in SOURCES.md), with the repository's own
// chains/qa.yaml and prompts/qa.md. The searcher is a small term-overlap stand-in for the hybrid retriever,
// except where a chain's search mode is under test.

import path from "node:path";
import { Document } from "@langchain/core/documents";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { type ChainConfig, loadChainConfigs, parseChainConfig } from "../../src/chains/config.ts";
import { chainDecomposer } from "../../src/chains/decomposer.ts";
import { loadPrompt, loadStepPrompt } from "../../src/chains/prompts.ts";
import { buildQaChain, type QaChunk, type QaResult, streamQa } from "../../src/chains/qa.ts";
import { chainSearcher } from "../../src/chains/searcher.ts";
import type {
  MetadataFilter,
  Reranker,
  ScoredDocument,
  Searcher,
  SearchOptions,
} from "../../src/contracts/search.ts";
import { BadRequestError } from "../../src/errors.ts";
import { ABSTAIN_ANSWER, ExtractiveAnswerer } from "../../src/models/chat/extractive.ts";
import { LocalHashEmbeddings } from "../../src/models/embeddings/local-hash.ts";
import { LocalVectorStore } from "../../src/store/local/local-vector-store.ts";
import { terms } from "../../src/text/analysis.ts";
import { corpus } from "../helpers/corpus.ts";
import { ROOT } from "../helpers/services.ts";

/** Ranks chunks by how many of the query's terms they contain, like a crude lexical retriever; records calls. */
class OverlapSearcher implements Searcher {
  readonly calls: Array<{ query: string; options: SearchOptions }> = [];
  constructor(private readonly docs: Document[]) {}
  async search(query: string, options: SearchOptions): Promise<ScoredDocument[]> {
    this.calls.push({ query, options });
    const wanted = new Set(terms(query));
    const matches = (doc: Document, filter?: MetadataFilter) =>
      Object.entries(filter ?? {}).every(([key, value]) => doc.metadata[key] === value);
    return this.docs
      .filter((doc) => matches(doc, options.filter))
      .map((document) => ({
        document,
        score: new Set(terms(document.pageContent).filter((t) => wanted.has(t))).size,
      }))
      .sort((a, b) => b.score - a.score)
      .slice(0, options.k);
  }
}

async function collect(stream: AsyncIterable<QaChunk>): Promise<QaChunk[]> {
  const chunks: QaChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe("qa chain", () => {
  let config: ChainConfig;
  const docs = corpus();

  beforeAll(async () => {
    const chains = await loadChainConfigs(path.join(ROOT, "chains"));
    config = chains.get("qa") as ChainConfig;
  });

  const build = (overrides: Partial<ChainConfig> = {}, searcher: Searcher = new OverlapSearcher(docs)) =>
    buildQaChain({ config: { ...config, ...overrides }, searcher, answerer: new ExtractiveAnswerer() });

  it("answers from the memo, citing it, with the documented result shape", async () => {
    const result: QaResult = await build().invoke({ question: "How many bottles of water?" });
    expect(result.answer).toContain("20,000");
    expect(result.abstained).toBe(false);
    expect(result.citations).toEqual([1]);
    expect(result).toMatchObject({ chain: "qa", variant: "default", model: "extractive" });
    expect(result.sources).toHaveLength(5);
    expect(result.sources[0]).toEqual({
      id: "memo-1",
      source: "fake-memo.pdf",
      page: 1,
      snippet:
        "There were 20,000 bottles of water, 10,000 blankets, and 200 laptops delivered on January 23, 2023.",
      quote: {
        text: expect.stringMatching(/^There were 20,000 bottles .* on January 23,\n2023\.$/),
        start: expect.any(Number),
        end: expect.any(Number),
      },
      score: expect.any(Number),
      metadata: { source: "fake-memo.pdf", page: 1 },
      cited: true,
    });
    // The quote is where it says in the chunk, for a UI to highlight.
    const { quote } = result.sources[0];
    expect(docs[0].pageContent.slice(quote?.start, quote?.end)).toBe(quote?.text);
    expect(result.verification).toEqual({
      citations: 1,
      verified: 1,
      repointed: 0,
      removed: 0,
      unchecked: 0,
    });
    for (const source of result.sources.slice(1)) {
      expect(source.cited).toBe(false);
      expect(source.snippet.length).toBeLessThanOrEqual(301);
    }
    const { retrievalMs, answerMs, totalMs } = result.timings;
    for (const t of [retrievalMs, answerMs, totalMs]) expect(t).toBeGreaterThanOrEqual(0);
    expect(totalMs).toBeGreaterThanOrEqual(retrievalMs);
  });

  it("indexes sources by the answer's [n], with the quoted sentence as the snippet", async () => {
    const result = await build().invoke({ question: "What is a Merkle tree?" });
    const marks = [...result.answer.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1]));
    expect(marks.length).toBeGreaterThan(0);
    for (const n of marks) {
      const source = result.sources[n - 1];
      expect(source).toMatchObject({ source: "bitcoin.pdf", cited: true, page: expect.any(Number) });
      expect(result.answer).toContain(source.snippet.split(" ").slice(0, 6).join(" "));
    }
  });

  it("returns no sources and no citations when it abstains", async () => {
    const result = await build().invoke({ question: "What is the capital of Mongolia?" });
    expect(result).toMatchObject({ answer: ABSTAIN_ANSWER, sources: [], citations: [], abstained: true });
  });

  it("streams the answer sentence by sentence, then the rest; the pieces add up to invoke's result", async () => {
    const chain = build();
    const input = { question: "How does the network handle double-spending?" };
    const chunks = await collect(streamQa(chain, input));
    const texts = chunks.filter((c) => c.answer !== undefined);
    expect(texts.length).toBeGreaterThan(1);
    const last = chunks.at(-1) as QaChunk;
    expect(last).toMatchObject({ chain: "qa", variant: "default", model: "extractive" });
    expect(last.answer).toBeUndefined();
    const invoked = await chain.invoke(input);
    expect(texts.map((c) => c.answer).join("")).toBe(invoked.answer);
    expect(last.sources).toEqual(invoked.sources);
  });

  it("retrieves the config's k by default, the request's k when given, and passes its filter", async () => {
    const searcher = new OverlapSearcher(docs);
    const chain = build({}, searcher);
    await chain.invoke({ question: "How many trucks were used?" });
    await chain.invoke({ question: "How many trucks were used?", k: 2, filter: { source: "fake-memo.pdf" } });
    expect(searcher.calls.map((c) => c.options)).toEqual([
      { k: 5 },
      { k: 2, filter: { source: "fake-memo.pdf" } },
    ]);
  });

  describe("with a reranker", () => {
    const rerankConfig = () => ({
      retrieval: { ...config.retrieval, rerank: { provider: "offline" as const, candidates: 8 } },
    });
    /** Reverses the candidates, recording what it was given. */
    class ReversingReranker implements Reranker {
      readonly name = "reversing";
      readonly calls: { query: string; ids: string[]; k: number }[] = [];
      async rerank(query: string, candidates: ScoredDocument[], k: number) {
        this.calls.push({ query, ids: candidates.map((c) => c.document.id as string), k });
        return [...candidates].reverse().slice(0, k);
      }
    }

    it("retrieves its candidates, answers from the k it keeps, in its order", async () => {
      const searcher = new OverlapSearcher(docs);
      const reranker = new ReversingReranker();
      const chain = buildQaChain({
        config: { ...config, ...rerankConfig() },
        searcher,
        answerer: new ExtractiveAnswerer(),
        reranker,
      });
      const result = await chain.invoke({ question: "How many trucks were used?", k: 3 });
      expect(searcher.calls.map((c) => c.options.k)).toEqual([8]);
      expect(reranker.calls).toEqual([{ query: "How many trucks were used?", ids: expect.any(Array), k: 3 }]);
      const retrieved = reranker.calls[0].ids;
      expect(result.sources.map((s) => s.id)).toEqual(retrieved.slice(-3).reverse());
    });

    it("answers from the retrieval order, with a warning, when the reranker fails", async () => {
      const failing: Reranker = {
        name: "bedrock:amazon.rerank-v1:0",
        rerank: async () => {
          throw new Error("ThrottlingException: Too many requests");
        },
      };
      const warnings: Error[] = [];
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on("warning", onWarning);
      try {
        const chain = buildQaChain({
          config: { ...config, ...rerankConfig() },
          searcher: new OverlapSearcher(docs),
          answerer: new ExtractiveAnswerer(),
          reranker: failing,
        });
        const result = await chain.invoke({ question: "How many trucks were used?" });
        const plain = await build().invoke({ question: "How many trucks were used?" });
        expect(result.answer).toBe(plain.answer);
        expect(result.sources.map((s) => s.id)).toEqual(plain.sources.map((s) => s.id));
        await new Promise((resolve) => setImmediate(resolve));
        expect(warnings.map((w) => [(w as Error & { code?: string }).code, w.message])).toEqual([
          [
            "COUNSEL_RERANK_FAILED",
            expect.stringMatching(/bedrock:amazon.rerank-v1:0 failed \(ThrottlingException/),
          ],
        ]);
      } finally {
        process.off("warning", onWarning);
      }
    });

    it("refuses a reranker the chain's config does not ask for", () => {
      expect(() =>
        buildQaChain({ config, searcher: new OverlapSearcher(docs), reranker: new ReversingReranker() }),
      ).toThrow(/no retrieval.rerank/);
    });
  });

  describe("with questions decomposed", () => {
    const decomposeConfig = () => ({ ...config, retrieval: { ...config.retrieval, decompose: true } });
    const question = "How many trucks were used and what is a Merkle tree?";

    it("retrieves each part on its own by rules, and says which sub-queries it used", async () => {
      const searcher = new OverlapSearcher(docs);
      const chain = buildQaChain({
        config: decomposeConfig(),
        searcher,
        answerer: new ExtractiveAnswerer(),
        decomposer: chainDecomposer(),
      });
      const result = await chain.invoke({ question, k: 4 });
      expect(searcher.calls.map((c) => [c.query, c.options.k])).toEqual([
        ["How many trucks were used", 4],
        ["what is a Merkle tree?", 4],
      ]);
      expect(result.subQueries).toEqual(["How many trucks were used", "what is a Merkle tree?"]);
      // Both parts' best chunks made the 4 kept: the memo and a Bitcoin page.
      expect(result.sources.map((s) => s.source)).toEqual(
        expect.arrayContaining(["fake-memo.pdf", expect.stringMatching(/bitcoin/)]),
      );
    });

    it("splits by the chain's model with prompts/decompose.md, and keeps the question whole if the model fails", async () => {
      const bedrock = { ...decomposeConfig(), model: { provider: "bedrock" as const, id: "test-model" } };
      const decomposePrompt = await loadStepPrompt(
        path.join(ROOT, "prompts"),
        "decompose",
        ["question"],
        "test",
      );
      const prompts: string[] = [];
      const splitter = new FakeListChatModel({
        responses: ["How many trucks were used?\nWhat is a Merkle tree?"],
      });
      const searcher = new OverlapSearcher(docs);
      const chain = buildQaChain({
        config: bedrock,
        searcher,
        prompt: await loadPrompt(path.join(ROOT, "prompts"), "qa"),
        chatModel: new FakeListChatModel({ responses: ["Three trucks [1]."] }),
        decomposer: chainDecomposer({ prompt: decomposePrompt, chatModel: splitter }),
      });
      const result = await chain.invoke(
        { question },
        {
          callbacks: [
            { handleChatModelStart: (_llm, messages) => void prompts.push(String(messages[0][0].content)) },
          ],
        },
      );
      expect(result.subQueries).toEqual(["How many trucks were used?", "What is a Merkle tree?"]);
      expect(prompts[0]).toContain(`<question>\n${question}\n</question>`);

      const failing = new FakeListChatModel({ responses: [] });
      failing.invoke = async () => {
        throw new Error("model unavailable");
      };
      const warnings: Error[] = [];
      const onWarning = (w: Error) => warnings.push(w);
      process.on("warning", onWarning);
      try {
        const whole = buildQaChain({
          config: decomposeConfig(),
          searcher: new OverlapSearcher(docs),
          answerer: new ExtractiveAnswerer(),
          decomposer: chainDecomposer({ prompt: decomposePrompt, chatModel: failing }),
        });
        const answered = await whole.invoke({ question });
        expect(answered.subQueries).toBeUndefined();
        expect(answered.answer).toContain("trucks");
        await new Promise((resolve) => setImmediate(resolve));
        expect(warnings.map((w) => (w as Error & { code?: string }).code)).toEqual([
          "COUNSEL_DECOMPOSE_FAILED",
        ]);
      } finally {
        process.off("warning", onWarning);
      }
    });
  });

  it("ANDs the chain's filter with the request's, and skips retrieval when they contradict", async () => {
    const searcher = new OverlapSearcher(docs);
    const chain = build({ retrieval: { ...config.retrieval, filter: { source: "bitcoin.pdf" } } }, searcher);
    const scoped = await chain.invoke({ question: "How many laptops were shipped?" });
    expect(scoped.abstained).toBe(true);
    const contradicting = await chain.invoke({
      question: "How many laptops were shipped?",
      filter: { source: "fake-memo.pdf" },
    });
    expect(contradicting).toMatchObject({ abstained: true, sources: [] });
    expect(searcher.calls.map((c) => c.options.filter)).toEqual([{ source: "bitcoin.pdf" }]);
  });

  it("drops chunks below the config's scoreThreshold", async () => {
    const result = await build({ retrieval: { ...config.retrieval, scoreThreshold: 2 } }).invoke({
      question: "How many bottles of water?",
    });
    expect(result.sources.map((s) => s.score).every((score) => score >= 2)).toBe(true);
    expect(result.sources[0].source).toBe("fake-memo.pdf");
  });

  it("rejects a blank question or an out-of-range k as the caller's fault", async () => {
    await expect(build().invoke({ question: "   " })).rejects.toBeInstanceOf(BadRequestError);
    await expect(build().invoke({ question: "Trucks?", k: 0 })).rejects.toBeInstanceOf(BadRequestError);
  });

  it("stops when the caller aborts", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      build().invoke({ question: "How many trucks were used?" }, { signal: controller.signal }),
    ).rejects.toThrow();
  });

  it("refuses a generative provider without a chat model, and a chain of another type", () => {
    const bedrock = { ...config, model: { provider: "bedrock" as const, id: "some-model" } };
    expect(() => buildQaChain({ config: bedrock, searcher: new OverlapSearcher(docs) })).toThrow(
      /needs a chat model/,
    );
    expect(() =>
      buildQaChain({ config: { ...config, type: "advisor" }, searcher: new OverlapSearcher(docs) }),
    ).toThrow(/not qa/);
  });

  describe("with a generative chat model", () => {
    const bedrockConfig = () => ({ ...config, model: { provider: "bedrock" as const, id: "test-model" } });
    const reply = "There were 20,000 bottles of water [1].";

    it("answers with the model's text, prompted with the numbered context and the question", async () => {
      const prompts: string[] = [];
      const chain = buildQaChain({
        config: bedrockConfig(),
        searcher: new OverlapSearcher(docs),
        prompt: await loadPrompt(path.join(ROOT, "prompts"), "qa"),
        chatModel: new FakeListChatModel({ responses: [reply] }),
      });
      const result = await chain.invoke(
        { question: "How many bottles of water?" },
        {
          callbacks: [
            { handleChatModelStart: (_llm, messages) => void prompts.push(String(messages[0][0].content)) },
          ],
        },
      );
      expect(result).toMatchObject({
        answer: reply,
        citations: [1],
        abstained: false,
        model: "bedrock:test-model",
      });
      expect(result.sources).toHaveLength(5);
      expect(result.sources[0]).toMatchObject({ source: "fake-memo.pdf", cited: true });
      expect(prompts).toHaveLength(1);
      expect(prompts[0]).toContain("<context>\n[1] (fake-memo.pdf, page 1)\nMay 5, 2023");
      expect(prompts[0]).toContain("How many bottles of water?");
    });

    it("streams the model's tokens as they come", async () => {
      const chain = buildQaChain({
        config: bedrockConfig(),
        searcher: new OverlapSearcher(docs),
        prompt: await loadPrompt(path.join(ROOT, "prompts"), "qa"),
        chatModel: new FakeListChatModel({ responses: [reply] }),
      });
      const chunks = await collect(streamQa(chain, { question: "How many bottles of water?" }));
      const texts = chunks.filter((c) => c.answer !== undefined).map((c) => c.answer);
      expect(texts.length).toBeGreaterThan(1);
      expect(texts.join("")).toBe(reply);
      expect(chunks.at(-1)?.citations).toEqual([1]);
    });

    it("checks each citation against its source: re-points one another source supports, removes one none does", async () => {
      // Source 1 is the memo (the question's best match); the model cites the wrong source for the memo's
      // figure, and a source for a sentence no source says.
      const generated = "There were 20,000 bottles of water [2]. The moon is made of green cheese [1].";
      const chain = buildQaChain({
        config: bedrockConfig(),
        searcher: new OverlapSearcher(docs),
        prompt: await loadPrompt(path.join(ROOT, "prompts"), "qa"),
        chatModel: new FakeListChatModel({ responses: [generated] }),
      });
      const chunks = await collect(streamQa(chain, { question: "How many bottles of water?" }));
      const texts = chunks.filter((c) => c.answer !== undefined).map((c) => c.answer);
      // Still streamed as it comes (only the marks wait for their check), and what streamed is the answer.
      expect(texts.length).toBeGreaterThan(10);
      const answer = texts.join("");
      expect(answer).toBe("There were 20,000 bottles of water [1]. The moon is made of green cheese.");
      const last = chunks.at(-1) as QaChunk;
      expect(last.citations).toEqual([1]);
      expect(last.verification).toEqual({
        citations: 2,
        verified: 0,
        repointed: 1,
        removed: 1,
        unchecked: 0,
      });
      const memo = last.sources?.[0];
      expect(memo).toMatchObject({ id: "memo-1", cited: true });
      expect(memo?.quote?.text).toMatch(/^There were 20,000 bottles of water/);
      expect(docs[0].pageContent.slice(memo?.quote?.start, memo?.quote?.end)).toBe(memo?.quote?.text);
    });

    it("keeps the model's citations as they are when the chain does not verify them", async () => {
      const generated = "There were 20,000 bottles of water [2]. The moon is made of green cheese [1].";
      const chain = buildQaChain({
        config: { ...bedrockConfig(), citations: { verify: false, minSupport: 0.5 } },
        searcher: new OverlapSearcher(docs),
        prompt: await loadPrompt(path.join(ROOT, "prompts"), "qa"),
        chatModel: new FakeListChatModel({ responses: [generated] }),
      });
      const result = await chain.invoke({ question: "How many bottles of water?" });
      expect(result.answer).toBe(generated);
      expect(result.citations).toEqual([1, 2]);
      expect(result.verification).toBeUndefined();
      expect(result.sources[0].quote).toBeUndefined();
    });

    it("reports the prompt's not-in-the-documents reply as abstained, even when the model cites something", async () => {
      const chain = buildQaChain({
        config: bedrockConfig(),
        searcher: new OverlapSearcher(docs),
        prompt: await loadPrompt(path.join(ROOT, "prompts"), "qa"),
        chatModel: new FakeListChatModel({
          responses: [
            "I couldn’t find an answer to that in the knowledge base [1]. The memo lists goods [1].",
          ],
        }),
      });
      const result = await chain.invoke({ question: "What is the warranty period for laptops?" });
      expect(result).toMatchObject({ abstained: true, citations: [], sources: [] });
    });

    it("lists no sources when the model cites none, and skips the model when nothing was retrieved", async () => {
      const model = new FakeListChatModel({ responses: ["The context does not say."] });
      const prompt = await loadPrompt(path.join(ROOT, "prompts"), "qa");
      const chain = buildQaChain({
        config: bedrockConfig(),
        searcher: new OverlapSearcher(docs),
        prompt,
        chatModel: model,
      });
      expect(await chain.invoke({ question: "What is the capital of Mongolia?" })).toMatchObject({
        answer: "The context does not say.",
        sources: [],
        abstained: true,
      });
      const empty = buildQaChain({
        config: bedrockConfig(),
        searcher: new OverlapSearcher([]),
        prompt,
        chatModel: model,
      });
      const calls: unknown[] = [];
      const result = await empty.invoke(
        { question: "Anything?" },
        { callbacks: [{ handleChatModelStart: () => void calls.push(1) }] },
      );
      expect(result).toMatchObject({ answer: ABSTAIN_ANSWER, sources: [], abstained: true });
      expect(calls).toEqual([]);
    });
  });
});

describe("qa chain with search: mmr", () => {
  // The memo indexed twice, as when the same file is uploaded under another name.
  async function storeWithCopy() {
    const store = new LocalVectorStore(new LocalHashEmbeddings());
    const memo = corpus().find((d) => d.id === "memo-1") as Document;
    const copy = new Document({
      pageContent: memo.pageContent,
      metadata: { source: "memo-copy.pdf" },
      id: "copy",
    });
    const docs = [...corpus(), copy];
    await store.addDocuments(docs, { ids: docs.map((d) => d.id as string) });
    return store;
  }
  const chainFile = (search: string) =>
    parseChainConfig(
      `name: qa\ntype: qa\nprompt: qa\nmodel: { provider: extractive }\nretrieval: { k: 4, search: ${search} }\n`,
      "chains/qa.yaml",
    );
  const ask = async (config: ChainConfig, store: LocalVectorStore) =>
    buildQaChain({ config, searcher: chainSearcher(config, store) }).invoke({
      question: "How many bottles of water were delivered?",
    });

  it("retrieves one of two identical chunks where similarity retrieves both, and still answers", async () => {
    const store = await storeWithCopy();
    const similar = await ask(chainFile("similarity"), store);
    const diverse = await ask(chainFile("mmr"), store);
    const memos = (result: QaResult) => result.sources.filter((s) => ["memo-1", "copy"].includes(s.id));
    expect(memos(similar)).toHaveLength(2);
    expect(memos(diverse)).toHaveLength(1);
    expect(diverse.sources).toHaveLength(4);
    expect(diverse.sources[0]).toMatchObject({ cited: true, score: 1 });
    expect(diverse.sources.map((s) => s.score)).toEqual([1, 1 / 2, 1 / 3, 1 / 4]);
    expect(diverse.answer).toContain("20,000");
  });

  it("takes fetchK and lambda from the chain's retrieval.mmr", async () => {
    const store = await storeWithCopy();
    const ids = (result: QaResult) => result.sources.map((s) => s.id).sort();
    const similar = await ask(chainFile("similarity"), store);
    // lambda 1 weighs relevance alone: the same chunks as similarity search, duplicates and all.
    expect(ids(await ask(chainFile("mmr, mmr: { lambda: 1 }"), store))).toEqual(ids(similar));
    expect(ids(await ask(chainFile("mmr, mmr: { fetchK: 4 }"), store))).toEqual(ids(similar));
  });
});

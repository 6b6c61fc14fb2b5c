// The qa chain as LCEL: retrieve chunks for the question, then answer from them with [n] citations, either by
// quoting (the extractive answerer) or with a generative chat model and the chain's prompt. A chain with a
// guardrail checks the question before retrieving and releases the answer as the guardrail passes it.
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { StringOutputParser } from "@langchain/core/output_parsers";
import type { PromptTemplate } from "@langchain/core/prompts";
import {
  type Runnable,
  type RunnableConfig,
  type RunnableFunc,
  RunnableLambda,
  RunnableSequence,
} from "@langchain/core/runnables";
import type { Guardrail } from "../contracts/guardrail.ts";
import { RETRIEVE_STEP } from "../contracts/run-names.ts";
import type { MetadataFilter, Reranker, ScoredDocument, Searcher } from "../contracts/search.ts";
import type { TurnGuardrail } from "../contracts/turn-events.ts";
import { BadRequestError } from "../errors.ts";
import {
  ABSTAIN_ANSWER,
  type ExtractiveAnswer,
  type ExtractiveAnswerer,
  extractiveAnswerer,
} from "../models/chat/extractive.ts";
import { type Decomposer, searchEach } from "../retrieval/decompose.ts";
import {
  type CitationCheck,
  type CitationCounts,
  CitationVerifier,
  checkedStream,
  countChecks,
  type Quote,
  quotedChecks,
  quotesBySource,
} from "./citation-check.ts";
import { chunkId, citedNumbers, opening } from "./citations.ts";
import type { ChainConfig } from "./config.ts";
import { checkedWindows, textPieces } from "./guardrails/checked-windows.ts";
import { formatContext, sourceOf } from "./prompts.ts";

export interface QaInput {
  question: string;
  /** How many chunks to retrieve (1..50); the chain config's retrieval.k when absent. */
  k?: number;
  /** Metadata equality filter, ANDed with the chain config's own filter. */
  filter?: MetadataFilter;
}

export interface QaSource {
  id: string;
  source: string;
  page?: number;
  /**
   * The sentence(s) the answer quotes from this chunk, or the span that supports the sentence citing it, else
   * the chunk's first ~300 characters.
   */
  snippet: string;
  /**
   * With verified citations: the span of the chunk that supports the answer's sentence citing it (its best
   * supported one), as offsets into the chunk's text, for highlighting.
   */
  quote?: Quote;
  score: number;
  metadata: Record<string, unknown>;
  /** Whether the answer cites this chunk. */
  cited: boolean;
}

export interface QaResult {
  answer: string;
  /**
   * The retrieved chunks in retrieval order, so that [n] in the answer is `sources[n - 1]`; empty when the
   * answer cites nothing (it abstained), so that a client never shows sources for "I couldn't find…".
   */
  sources: QaSource[];
  /** The 1-based source numbers that the answer cites, ascending. */
  citations: number[];
  abstained: boolean;
  /**
   * How the answer's citations fared when checked against their sources (chains/<name>.yaml `citations`):
   * absent when the chain does not verify them.
   */
  verification?: CitationCounts;
  /** The sub-queries the question was split into and retrieved by, when it asked several things. */
  subQueries?: string[];
  chain: string;
  /** The experiment variant that answered (chains/<name>.yaml `variants:`; "default" for the chain as written). */
  variant: string;
  /** "extractive", or "<provider>:<model id>". */
  model: string;
  timings: { retrievalMs: number; answerMs: number; totalMs: number };
  /** The chain's guardrail blocked the question, or masked or stopped the answer (chains/<name>.yaml `guardrail`). */
  guardrail?: TurnGuardrail;
}

/**
 * What `.stream()` yields: first pieces of `answer` text (a sentence, or a model token, at a time), then one
 * chunk with everything else. LangChain's `concat` of all chunks is the `.invoke()` result.
 */
export type QaChunk = Partial<QaResult>;

export interface QaChainOptions {
  config: ChainConfig;
  searcher: Searcher;
  /** Answers when `config.model.provider` is "extractive"; built from `config.model.minRelevance` when absent. */
  answerer?: ExtractiveAnswerer;
  /** The chain's prompt (loadPrompt); required with a chat model. */
  prompt?: PromptTemplate;
  /**
   * A generative model for providers other than "extractive", made from `config.model` (id, temperature,
   * maxTokens) by the composition root with `createBedrockChatModel`; tests pass a fake chat model.
   */
  chatModel?: BaseChatModel;
  /** The guardrail `config.guardrail` names, made by the composition root; applied as that config says. */
  guardrail?: Guardrail;
  /** The reranker `config.retrieval.rerank` names; without one, chunks are answered from in retrieval order. */
  reranker?: Reranker;
  /** Splits questions that ask several things (`config.retrieval.decompose`); see chainDecomposer. */
  decomposer?: Decomposer;
}

interface Retrieved {
  question: string;
  sources: ScoredDocument[];
  startedAt: number;
  retrievalMs: number;
  /** What the guardrail did to the question: blocked, nothing is retrieved and no model is called. */
  guardrail?: TurnGuardrail;
  /** The sub-queries a decomposed question was retrieved by. */
  subQueries?: string[];
}

/** What the answer step showed: its text (the guardrail's message included), and what the guardrail did. */
interface Shown {
  text: string;
  guardrail?: TurnGuardrail;
}

/**
 * A run's `configurable` key for the characters of a guardrail's answer windows, over the config's: the handle's
 * `invoke` sends Infinity, so that an answer nobody watches stream is checked once, whole.
 */
export const GUARDRAIL_WINDOW_CHARS = "guardrailWindowChars";

type AnswerStep = (retrieved: Retrieved, config: RunnableConfig) => AsyncGenerator<QaChunk>;

export function buildQaChain(options: QaChainOptions): Runnable<QaInput, QaResult> {
  const { config, searcher, guardrail, reranker, decomposer } = options;
  if (reranker && !config.retrieval.rerank)
    throw new Error(
      `Chain "${config.name}" has no retrieval.rerank in its config, but a reranker was given.`,
    );
  if (config.type !== "qa") throw new Error(`Chain "${config.name}" is of type ${config.type}, not qa.`);
  if (guardrail && !config.guardrail)
    throw new Error(`Chain "${config.name}" has no guardrail in its config, but one was given.`);
  const checksInput = guardrail !== undefined && config.guardrail?.checks.includes("input");

  const retrieve = RunnableLambda.from(
    async (input: QaInput, runConfig: RunnableConfig): Promise<Retrieved> => {
      const startedAt = performance.now();
      let question = typeof input?.question === "string" ? input.question.trim() : "";
      if (!question) throw new BadRequestError("The question is empty.");
      const k = input.k ?? config.retrieval.k;
      if (!Number.isInteger(k) || k < 1 || k > 50)
        throw new BadRequestError(`k must be a whole number from 1 to 50.`);
      let checked: TurnGuardrail | undefined;
      if (checksInput) {
        const verdict = await (guardrail as Guardrail).check(question, "input", runConfig.signal);
        if (verdict.action === "blocked")
          return {
            question,
            sources: [],
            startedAt,
            retrievalMs: 0,
            guardrail: { action: "blocked", source: "input", message: verdict.message },
          };
        if (verdict.action === "masked") {
          question = verdict.text;
          checked = { action: "masked", source: "input" };
        }
      }
      const searchStart = performance.now();
      let subQueries: string[] = [question];
      const filter = combineFilters(config.retrieval.filter, input.filter);
      let sources: ScoredDocument[] = [];
      if (filter !== null) {
        // A reranker picks the k it keeps from more candidates than that.
        const fetched = reranker ? Math.max(k, config.retrieval.rerank?.candidates ?? k) : k;
        const search = { k: fetched, ...(filter ? { filter } : {}) };
        subQueries = decomposer ? await decomposer(question, runConfig.signal) : [question];
        sources =
          subQueries.length > 1
            ? await searchEach(searcher, subQueries, search)
            : await searcher.search(question, search);
        runConfig.signal?.throwIfAborted();
        const threshold = config.retrieval.scoreThreshold;
        if (threshold !== undefined) sources = sources.filter((s) => s.score >= threshold);
        if (reranker) sources = await reranked(reranker, question, sources, k, runConfig.signal);
        sources = sources.slice(0, k);
      }
      return {
        question,
        sources,
        startedAt,
        retrievalMs: performance.now() - searchStart,
        ...(subQueries.length > 1 ? { subQueries } : {}),
        ...(checked ? { guardrail: checked } : {}),
      };
    },
  ).withConfig({ runName: RETRIEVE_STEP });

  const answer = streamingLambda<Retrieved, QaResult>(answerStep(options)).withConfig({ runName: "answer" });
  return RunnableSequence.from([retrieve, answer]).withConfig({ runName: `qa:${config.name}` }) as Runnable<
    QaInput,
    QaResult
  >;
}

/**
 * The candidates in the reranker's order; in retrieval's when the reranker fails (a model error, throttling past
 * the SDK's retries), with a warning: a question is still answered, from the order it would have had without one.
 */
async function reranked(
  reranker: Reranker,
  question: string,
  candidates: ScoredDocument[],
  k: number,
  signal?: AbortSignal,
): Promise<ScoredDocument[]> {
  if (candidates.length === 0) return candidates;
  try {
    return await reranker.rerank(question, candidates, k, signal);
  } catch (error) {
    signal?.throwIfAborted();
    process.emitWarning(
      `The reranker ${reranker.name} failed (${(error as Error).message}); answering from the retrieval order.`,
      { code: "COUNSEL_RERANK_FAILED" },
    );
    return candidates.slice(0, k);
  }
}

/** `chain.stream()`, typed as what it really yields (see {@link QaChunk}). */
export async function* streamQa(
  chain: Runnable<QaInput, QaResult>,
  input: QaInput,
  options?: Pick<RunnableConfig, "signal" | "callbacks" | "configurable">,
): AsyncGenerator<QaChunk> {
  yield* (await chain.stream(input, options)) as AsyncIterable<QaChunk>;
}

function answerStep({ config, answerer, prompt, chatModel, guardrail }: QaChainOptions): AnswerStep {
  const provider = config.model.provider;
  const meta = {
    chain: config.name,
    variant: "default",
    model: provider === "extractive" ? "extractive" : `${provider}:${config.model.id}`,
  };
  const finish = (
    retrieved: Retrieved,
    answerStart: number,
    body: Omit<QaResult, keyof typeof meta | "answer" | "timings">,
  ) => {
    const now = performance.now();
    return {
      ...body,
      ...(retrieved.subQueries ? { subQueries: retrieved.subQueries } : {}),
      ...meta,
      timings: {
        retrievalMs: ms(retrieved.retrievalMs),
        answerMs: ms(now - answerStart),
        totalMs: ms(now - retrieved.startedAt),
      },
    } satisfies QaChunk;
  };
  /** A blocked question's whole answer: the guardrail's message. */
  async function* refused(retrieved: Retrieved, answerStart: number): AsyncGenerator<QaChunk> {
    yield { answer: retrieved.guardrail?.message };
    yield finish(retrieved, answerStart, {
      sources: [],
      citations: [],
      abstained: false,
      guardrail: retrieved.guardrail,
    });
  }
  const checksOutput = guardrail !== undefined && config.guardrail?.checks.includes("output");
  /**
   * The answer's text as the output check releases it: window by window, as the guardrail passes it; a blocked
   * window ends it with the guardrail's message and aborts `stop` (the model). Without a check the steps below
   * yield each piece as it comes, with no layer in between.
   */
  async function* checked(
    texts: AsyncIterable<string> | Iterable<string>,
    shown: Shown,
    runConfig: RunnableConfig,
    stop?: AbortController,
  ): AsyncGenerator<QaChunk> {
    const asked = runConfig.configurable?.[GUARDRAIL_WINDOW_CHARS];
    const windowChars = typeof asked === "number" ? asked : (config.guardrail?.windowChars ?? 0);
    const windows = checkedWindows(textPieces(texts), {
      guardrail: guardrail as Guardrail,
      windowChars,
      signal: runConfig.signal,
    });
    for await (const out of windows) {
      if ("blocked" in out) {
        stop?.abort();
        const text = `${shown.text ? "\n\n" : ""}${out.blocked}`;
        shown.text += text;
        shown.guardrail = { action: "blocked", source: "output", message: out.blocked };
        yield { answer: text };
        break;
      }
      if (!("text" in out)) continue;
      if (out.masked) shown.guardrail ??= { action: "masked", source: "output" };
      shown.text += out.text;
      yield { answer: out.text };
    }
  }
  const withGuardrail = (done: { guardrail?: TurnGuardrail }) =>
    done.guardrail ? { guardrail: done.guardrail } : {};

  if (provider === "extractive") {
    if (chatModel)
      throw new Error(`Chain "${config.name}": model.provider is extractive, but a chat model was given.`);
    const extractive = answerer ?? extractiveAnswerer(config.model);
    return async function* (retrieved, runConfig) {
      const answerStart = performance.now();
      if (retrieved.guardrail?.action === "blocked") return yield* refused(retrieved, answerStart);
      const result = extractive.answer({ question: retrieved.question, sources: retrieved.sources });
      // Its sentences are its sources' own: checked by where they stand, not weighed (quotedChecks).
      const checks = config.citations.verify ? quotedChecks(result.sentences, retrieved.sources) : undefined;
      // Sentence by sentence (none when abstaining), so that a stream shows the answer grow as a model's would.
      async function* sentences() {
        if (result.abstained) yield result.answer;
        for (const [i, s] of result.sentences.entries()) {
          runConfig.signal?.throwIfAborted();
          yield `${i ? " " : ""}${s.text} [${s.citation}]`;
        }
      }
      const shown: Shown = { text: "", guardrail: retrieved.guardrail };
      if (checksOutput) yield* checked(sentences(), shown, runConfig);
      else
        for await (const text of sentences()) {
          shown.text += text;
          yield { answer: text };
        }
      // What the guardrail stopped or masked, or the check removed, is not cited.
      const shownCites = citedNumbers(shown.text, retrieved.sources.length);
      const citations = result.citations.filter((n) => shownCites.includes(n));
      yield finish(retrieved, answerStart, {
        sources:
          result.abstained || citations.length === 0
            ? []
            : describeSources(retrieved.sources, citations, result.sentences, quotesBySource(checks ?? [])),
        citations,
        abstained: result.abstained,
        // Of what was shown: a sentence the guardrail stopped is neither cited nor counted.
        ...(checks ? { verification: countChecks(checks.filter((c) => citations.includes(c.cited))) } : {}),
        ...withGuardrail(shown),
      });
    };
  }

  /** The chain's citation check over what was retrieved; undefined when it does not verify. */
  function verifierFor(retrieved: Retrieved): CitationVerifier | undefined {
    return config.citations.verify
      ? new CitationVerifier(retrieved.sources, config.citations.minSupport)
      : undefined;
  }

  if (!chatModel)
    throw new Error(
      `Chain "${config.name}": model.provider ${provider} needs a chat model, and none was given: pass chatModel (createBedrockChatModel makes it from the chain's model settings).`,
    );
  if (!prompt) throw new Error(`Chain "${config.name}": a generative model needs the chain's prompt.`);
  const generate = prompt.pipe(chatModel).pipe(new StringOutputParser());
  return async function* (retrieved, runConfig) {
    const answerStart = performance.now();
    if (retrieved.guardrail?.action === "blocked") return yield* refused(retrieved, answerStart);
    // Nothing retrieved: nothing to ground an answer in, so don't pay for a model call.
    if (retrieved.sources.length === 0) {
      yield { answer: ABSTAIN_ANSWER };
      yield finish(retrieved, answerStart, {
        sources: [],
        citations: [],
        abstained: true,
        ...withGuardrail(retrieved),
      });
      return;
    }
    const promptInput = { context: formatContext(retrieved.sources), question: retrieved.question };
    // With an output check, its own signal too: an answer the guardrail stopped stops being generated (and paid for).
    const stop = checksOutput ? new AbortController() : undefined;
    const modelConfig = stop
      ? {
          ...runConfig,
          signal: runConfig.signal ? AbortSignal.any([runConfig.signal, stop.signal]) : stop.signal,
        }
      : runConfig;
    // LangChain consults a model's cache on invoke, never while streaming: a chain with `cache.llm` asks for the
    // whole answer (and yields it at once) so that a repeated prompt costs no model call.
    const generated: AsyncIterable<string> | Iterable<string> = chatModel.cache
      ? [await generate.invoke(promptInput, modelConfig)]
      : await generate.stream(promptInput, modelConfig);
    // Verified, the text still streams as it comes; only each citation mark waits until it is checked.
    const verifier = verifierFor(retrieved);
    const checks: CitationCheck[] = [];
    const tokens = verifier
      ? checkedStream(generated, verifier, (checked) => checks.push(...checked))
      : generated;
    const shown: Shown = { text: "", guardrail: retrieved.guardrail };
    if (checksOutput) yield* checked(tokens, shown, runConfig, stop);
    else
      for await (const token of tokens) {
        shown.text += token;
        yield { answer: token };
      }
    // An empty reply would leave the result without an answer at all.
    if (!shown.text.trim()) yield { answer: ABSTAIN_ANSWER };
    // The prompt's contract: a reply that opens with the "couldn't find" sentence abstains, whatever it cites.
    const citations = saysNotFound(shown.text) ? [] : citedNumbers(shown.text, retrieved.sources.length);
    yield finish(retrieved, answerStart, {
      sources: citations.length
        ? describeSources(retrieved.sources, citations, [], quotesBySource(checks))
        : [],
      citations,
      abstained: citations.length === 0,
      ...(verifier ? { verification: countChecks(checks) } : {}),
      ...withGuardrail(shown),
    });
  };
}

/**
 * The sources as a reply shows them: each with the sentences the extractive answer quotes from it, or the span
 * its citation's check found, as its snippet.
 */
const NOT_FOUND = normalised(ABSTAIN_ANSWER);

/** Whether a generated reply opens with the abstention sentence the qa prompt asks for (case, marks aside). */
export function saysNotFound(text: string): boolean {
  return normalised(text).startsWith(NOT_FOUND);
}

function normalised(text: string): string {
  return text
    .toLowerCase()
    .replace(/[’']/g, "'")
    .replace(/\[\d[\d,; ]*\]/g, " ")
    .replace(/[^\p{L}\p{N}' ]+/gu, " ")
    .replace(/\s+/g, " ")
    .trim();
}

function describeSources(
  sources: ScoredDocument[],
  citations: number[],
  quoted: ExtractiveAnswer["sentences"],
  quotes: Map<number, Quote>,
): QaSource[] {
  return sources.map(({ document, score }, i) => {
    const own = quoted.filter((s) => s.citation === i + 1).map((s) => s.text);
    const quote = citations.includes(i + 1) ? quotes.get(i + 1) : undefined;
    const metadata = { ...document.metadata };
    return {
      id: chunkId(document),
      ...sourceOf(metadata),
      snippet: own.length ? own.join(" ") : quote ? opening(quote.text) : opening(document.pageContent),
      ...(quote ? { quote } : {}),
      score,
      metadata,
      cited: citations.includes(i + 1),
    };
  });
}

/**
 * ANDs the chain's filter with the request's. A key both set to different values can match nothing: null,
 * so that retrieval is skipped rather than the request widening the chain's scope.
 */
function combineFilters(
  fixed?: MetadataFilter,
  requested?: MetadataFilter,
): MetadataFilter | undefined | null {
  if (!fixed || !requested) return fixed ?? requested;
  for (const [key, value] of Object.entries(requested)) if (key in fixed && fixed[key] !== value) return null;
  return { ...requested, ...fixed };
}

function ms(value: number): number {
  return Math.round(value * 100) / 100;
}

// RunnableLambda streams the chunks of an async generator and concatenates them on invoke, but its types only
// know functions that return the output: this says what the generator adds up to.
function streamingLambda<I, O>(step: (input: I, config: RunnableConfig) => AsyncGenerator<Partial<O>>) {
  return RunnableLambda.from<I, O>(step as unknown as RunnableFunc<I, O>);
}

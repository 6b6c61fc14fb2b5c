// LangChain's runs as OpenTelemetry spans, named and described by the GenAI semantic conventions: each model call
// (`chat {model}`, with its provider and tokens), each retrieval, each tool call (`execute_tool {tool}`) and each
// agent turn (`invoke_agent {agent}`), nested as the runs are. Written by hand because LangChain.js reports its runs
// to callbacks (and to LangSmith) but has no OpenTelemetry exporter of its own; registered once, globally
// (tracing.ts), so that every chain, agent and tool call reports without being handed it.

import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { Serialized } from "@langchain/core/load/serializable";
import type { BaseMessage } from "@langchain/core/messages";
import type { LLMResult } from "@langchain/core/outputs";
import type { ChainValues } from "@langchain/core/utils/types";
import {
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { ADVISOR_AGENT, RETRIEVE_STEP } from "../contracts/run-names.ts";

// The GenAI conventions' attributes are still "incubating": their names are copied here, as OpenTelemetry advises,
// rather than imported from a path that may change.
export const GEN_AI = {
  operation: "gen_ai.operation.name",
  provider: "gen_ai.provider.name",
  requestModel: "gen_ai.request.model",
  inputTokens: "gen_ai.usage.input_tokens",
  outputTokens: "gen_ai.usage.output_tokens",
  toolName: "gen_ai.tool.name",
  toolCallId: "gen_ai.tool.call.id",
  agentName: "gen_ai.agent.name",
  dataSource: "gen_ai.data_source.id",
} as const;

/** LangChain's provider names (`ls_provider`) as the conventions spell them. */
const PROVIDERS: Record<string, string> = {
  amazon_bedrock: "aws.bedrock",
  bedrock: "aws.bedrock",
  openai: "openai",
  anthropic: "anthropic",
  cohere: "cohere",
};

type Metadata = Record<string, unknown> | undefined;
/** How many documents a retrieval returned (no GenAI attribute says it yet). */
const DOCUMENTS = "counsel.retrieval.documents";

/** The agent graphs whose runs are agent turns (`invoke_agent`). */
const AGENT_NAMES = [ADVISOR_AGENT];
/** Chain steps that are retrievals, which return `sources`. */
const RETRIEVAL_STEPS = new Set([RETRIEVE_STEP]);

export class GenAiSpans extends BaseCallbackHandler {
  name = "counsel_genai_spans";
  // Inline, not queued: a run's parent must be the span active when it starts (the request's, the turn's).
  override awaitHandlers = true;
  /** Each open run: the context its children start in (its span's, or its parent's for a run without one). */
  private readonly runs = new Map<string, { context: Context; span?: Span }>();
  private readonly agents = new Set(AGENT_NAMES);
  // The process's tracer (LangChain makes the handler, with no arguments of ours).
  private readonly tracer: Tracer = trace.getTracer("counsel");

  override handleChainStart(
    _chain: Serialized,
    _inputs: ChainValues,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    _metadata?: Metadata,
    _runType?: string,
    runName?: string,
  ): void {
    if (runName && RETRIEVAL_STEPS.has(runName)) {
      this.open(runId, parentRunId, "retrieval knowledge base", SpanKind.INTERNAL, {
        [GEN_AI.operation]: "retrieval",
      });
      return;
    }
    if (runName && this.agents.has(runName)) {
      this.open(runId, parentRunId, `invoke_agent ${runName}`, SpanKind.INTERNAL, {
        [GEN_AI.operation]: "invoke_agent",
        [GEN_AI.agentName]: runName,
      });
      return;
    }
    // Most chain runs are plumbing (sequences, lambdas): no span of their own, but their children nest under
    // the nearest one.
    this.runs.set(runId, { context: this.parent(parentRunId) });
  }

  override handleChainEnd(outputs: ChainValues, runId: string): void {
    const sources = (outputs as { sources?: unknown } | undefined)?.sources;
    if (Array.isArray(sources)) this.runs.get(runId)?.span?.setAttribute(DOCUMENTS, sources.length);
    this.close(runId);
  }

  override handleChainError(error: Error, runId: string): void {
    this.close(runId, error);
  }

  override handleChatModelStart(
    llm: Serialized,
    _messages: BaseMessage[][],
    runId: string,
    parentRunId?: string,
    extraParams?: Record<string, unknown>,
    _tags?: string[],
    metadata?: Metadata,
  ): void {
    const model = modelOf(extraParams, metadata) ?? llm.id.at(-1) ?? "unknown";
    const provider = PROVIDERS[String(metadata?.ls_provider ?? "")];
    this.open(runId, parentRunId, `chat ${model}`, SpanKind.CLIENT, {
      [GEN_AI.operation]: "chat",
      [GEN_AI.requestModel]: model,
      ...(provider ? { [GEN_AI.provider]: provider } : {}),
    });
  }

  override handleLLMEnd(output: LLMResult, runId: string): void {
    const span = this.runs.get(runId)?.span;
    const usage = usageOf(output);
    if (span && usage) {
      span.setAttribute(GEN_AI.inputTokens, usage.input);
      span.setAttribute(GEN_AI.outputTokens, usage.output);
    }
    this.close(runId);
  }

  override handleLLMError(error: Error, runId: string): void {
    this.close(runId, error);
  }

  override handleRetrieverStart(
    _retriever: Serialized,
    _query: string,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    _metadata?: Metadata,
    name?: string,
  ): void {
    this.open(runId, parentRunId, `retrieval ${name ?? "knowledge base"}`, SpanKind.INTERNAL, {
      [GEN_AI.operation]: "retrieval",
      ...(name ? { [GEN_AI.dataSource]: name } : {}),
    });
  }

  override handleRetrieverEnd(documents: unknown[], runId: string): void {
    this.runs.get(runId)?.span?.setAttribute(DOCUMENTS, documents.length);
    this.close(runId);
  }

  override handleRetrieverError(error: Error, runId: string): void {
    this.close(runId, error);
  }

  override handleToolStart(
    _tool: Serialized,
    _input: string,
    runId: string,
    parentRunId?: string,
    _tags?: string[],
    _metadata?: Metadata,
    runName?: string,
    toolCallId?: string,
  ): void {
    const name = runName ?? "tool";
    this.open(runId, parentRunId, `execute_tool ${name}`, SpanKind.INTERNAL, {
      [GEN_AI.operation]: "execute_tool",
      [GEN_AI.toolName]: name,
      ...(toolCallId ? { [GEN_AI.toolCallId]: toolCallId } : {}),
    });
  }

  override handleToolEnd(_output: unknown, runId: string): void {
    this.close(runId);
  }

  override handleToolError(error: Error, runId: string): void {
    this.close(runId, error);
  }

  /** The context a run's span starts in: its parent run's, else the one active (the request's span). */
  private parent(parentRunId?: string): Context {
    return (parentRunId && this.runs.get(parentRunId)?.context) || context.active();
  }

  private open(
    runId: string,
    parentRunId: string | undefined,
    name: string,
    kind: SpanKind,
    attributes: Record<string, string>,
  ): void {
    const parent = this.parent(parentRunId);
    const span = this.tracer.startSpan(name, { kind, attributes }, parent);
    this.runs.set(runId, { context: trace.setSpan(parent, span), span });
  }

  private close(runId: string, error?: Error): void {
    const run = this.runs.get(runId);
    this.runs.delete(runId);
    if (!run?.span) return;
    if (error) {
      run.span.recordException(error);
      run.span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    }
    run.span.end();
  }
}

function modelOf(extraParams: Record<string, unknown> | undefined, metadata: Metadata): string | undefined {
  const invocation = extraParams?.invocation_params as Record<string, unknown> | undefined;
  const model = invocation?.model ?? invocation?.modelId ?? invocation?.model_id ?? metadata?.ls_model_name;
  return typeof model === "string" ? model : undefined;
}

/** Tokens of a model call: from the message's usage metadata, else the provider's llmOutput. */
function usageOf(output: LLMResult): { input: number; output: number } | undefined {
  const message = (output.generations[0]?.[0] as { message?: { usage_metadata?: Record<string, number> } })
    ?.message;
  const usage = message?.usage_metadata;
  if (usage) return { input: usage.input_tokens ?? 0, output: usage.output_tokens ?? 0 };
  const tokens = output.llmOutput?.tokenUsage as Record<string, number> | undefined;
  if (tokens) return { input: tokens.promptTokens ?? 0, output: tokens.completionTokens ?? 0 };
  return undefined;
}

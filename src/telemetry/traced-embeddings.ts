// Each embedding batch as a span (`embeddings {model}`, GenAI conventions): LangChain's embedders report no runs
// to callbacks, so the calls are wrapped where the service makes its embedder.

import { Embeddings } from "@langchain/core/embeddings";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { GEN_AI } from "./genai-spans.ts";

export class TracedEmbeddings extends Embeddings {
  readonly modelId: string;
  /** What the store asks of its embedder (LocalVectorStore reads the dimension when the embedder gives it). */
  readonly dimensions?: number;

  constructor(
    private readonly inner: Embeddings & { modelId: string },
    private readonly provider: string | undefined,
  ) {
    super({});
    this.modelId = inner.modelId;
    const { dimensions } = inner as { dimensions?: unknown };
    if (typeof dimensions === "number") this.dimensions = dimensions;
  }

  embedDocuments(texts: string[]): Promise<number[][]> {
    return this.span(texts.length, () => this.inner.embedDocuments(texts));
  }

  embedQuery(text: string): Promise<number[]> {
    return this.span(1, () => this.inner.embedQuery(text));
  }

  private span<T>(texts: number, call: () => Promise<T>): Promise<T> {
    const attributes = {
      [GEN_AI.operation]: "embeddings",
      [GEN_AI.requestModel]: this.modelId,
      ...(this.provider ? { [GEN_AI.provider]: this.provider } : {}),
      "counsel.embeddings.texts": texts,
    };
    return trace
      .getTracer("counsel")
      .startActiveSpan(`embeddings ${this.modelId}`, { kind: SpanKind.CLIENT, attributes }, async (span) => {
        try {
          return await call();
        } catch (error) {
          span.recordException(error as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
          throw error;
        } finally {
          span.end();
        }
      });
  }
}

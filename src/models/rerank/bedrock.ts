// Amazon Bedrock's Rerank API (Bedrock Agent Runtime, `POST /rerank`) as a Reranker: the question and the
// candidates' texts go to a reranking model (amazon.rerank-v1:0, cohere.rerank-v3-5:0), which answers with each
// kept candidate's index and relevance score, best first. The model is named by its foundation-model ARN in the
// client's region, unless the chain's config gives an ARN itself.
import { type BedrockAgentRuntimeClient, RerankCommand } from "@aws-sdk/client-bedrock-agent-runtime";
import type { Reranker, ScoredDocument } from "../../contracts/search.ts";

export const DEFAULT_RERANK_MODEL = "amazon.rerank-v1:0";

export interface BedrockRerankerOptions {
  client: BedrockAgentRuntimeClient;
  /** A model id (amazon.rerank-v1:0) or a model ARN. */
  model: string;
}

export class BedrockReranker implements Reranker {
  readonly name: string;
  private readonly client: BedrockAgentRuntimeClient;
  private readonly model: string;

  constructor({ client, model }: BedrockRerankerOptions) {
    this.client = client;
    this.model = model;
    this.name = `bedrock:${model}`;
  }

  async rerank(
    query: string,
    candidates: ScoredDocument[],
    k: number,
    signal?: AbortSignal,
  ): Promise<ScoredDocument[]> {
    if (candidates.length === 0) return [];
    const reply = await this.client.send(
      new RerankCommand({
        queries: [{ type: "TEXT", textQuery: { text: query } }],
        sources: candidates.map((candidate) => ({
          type: "INLINE",
          inlineDocumentSource: { type: "TEXT", textDocument: { text: candidate.document.pageContent } },
        })),
        rerankingConfiguration: {
          type: "BEDROCK_RERANKING_MODEL",
          bedrockRerankingConfiguration: {
            numberOfResults: Math.min(k, candidates.length),
            modelConfiguration: { modelArn: await this.modelArn() },
          },
        },
      }),
      { abortSignal: signal },
    );
    const kept: ScoredDocument[] = [];
    for (const result of reply.results ?? []) {
      const candidate = result.index === undefined ? undefined : candidates[result.index];
      if (!candidate)
        throw new Error(`Rerank answered with index ${result.index} of ${candidates.length} sources`);
      kept.push({ document: candidate.document, score: result.relevanceScore ?? 0 });
    }
    // The API's order is the model's, best first; sorted again in case a page is not.
    return kept.sort((a, b) => b.score - a.score).slice(0, k);
  }

  private async modelArn(): Promise<string> {
    if (this.model.startsWith("arn:")) return this.model;
    const region = await this.client.config.region();
    return `arn:aws:bedrock:${region}::foundation-model/${this.model}`;
  }
}
